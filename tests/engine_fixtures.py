"""An engine wired to a scripted model and a recording search tool, on a private database."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool, ToolException, tool

from agent.backend import LocalBackend
from agent.choices import AgentChoices, RunOptions
from agent.events import Done, Event
from agent.graph import RunContext
from agent.protocol import LOCAL_USER
from agent.runs import Run
from agent.settings import Settings
from agent.views import RunHandle
from tests.scripted_model import ScriptedChatModel


@dataclass
class SearchRecorder:
    """A `web_search` tool that records its queries; it can fail or block on demand."""

    queries: list[str] = field(default_factory=list)
    fail_with: str | None = None
    block: threading.Event | None = None
    entered: threading.Event = field(default_factory=threading.Event)

    def as_tool(self) -> BaseTool:
        @tool
        def web_search(query: str) -> str:
            """Search the web."""
            self.queries.append(query)
            self.entered.set()
            if self.block is not None:
                self.block.wait(30)
            if self.fail_with:
                raise ToolException(self.fail_with)
            results = [{"title": f"About {query}", "source": "corpus/x.md", "snippet": "..."}]
            return json.dumps({"query": query, "results": results})

        return web_search


@dataclass
class Harness:
    backend: LocalBackend
    model: BaseChatModel
    search: SearchRecorder
    options: RunOptions
    choices: AgentChoices = field(default_factory=AgentChoices)

    def finish(self, run: Run | RunHandle, timeout: float = 30) -> list[Event]:
        if isinstance(run, RunHandle):
            run = engine_run(self.backend, run)
        assert run.log.wait_closed(timeout), "run did not finish in time"
        events = run.log.read(0)
        assert isinstance(events[-1], Done)
        return events

    def send(self, thread_id: str, text: str, **choice_changes) -> list[Event]:
        choices = _with(self.choices, choice_changes)
        return self.finish(
            self.backend.send_message(LOCAL_USER, thread_id, text, choices, self.options)
        )

    def decide(self, thread_id: str, decisions: dict, **choice_changes) -> list[Event]:
        choices = _with(self.choices, choice_changes)
        return self.finish(
            self.backend.decide(LOCAL_USER, thread_id, decisions, choices, self.options)
        )


def engine_run(backend: LocalBackend, handle: RunHandle) -> Run:
    """The engine's run behind a handle the backend returned (its event log, status, options):
    tests look inside; pages only have the handle."""
    run = backend.runs.get(handle.id)
    assert run is not None, f"no run {handle.id}"
    return run


# Each engine on each database: `@pytest.fixture(**ON_BOTH_DATABASES)` with `harness_for`.
ON_BOTH_DATABASES: dict = {
    "params": [
        ("sync", "sqlite"),
        ("async", "sqlite"),
        ("sync", "postgres"),
        ("async", "postgres"),
    ],
    "ids": ["sync", "async", "sync-postgres", "async-postgres"],
}


def harness_for(request, data_dir, **option_changes) -> Harness:
    """The harness a fixture parametrized with `ON_BOTH_DATABASES` asks for; a Postgres one runs
    on a fresh database of the tests' throwaway server."""
    engine, database = request.param
    url = request.getfixturevalue("postgres_db") if database == "postgres" else None
    return make_harness(data_dir, engine, database_url=url, **option_changes)


def _with(choices: AgentChoices, changes: dict) -> AgentChoices:
    return replace(choices, **changes) if changes else choices


def make_harness(
    data_dir,
    engine: str,
    model: BaseChatModel | None = None,
    *,
    database_url: str | None = None,
    **option_changes,
) -> Harness:
    """An engine on `data_dir` (or on Postgres at `database_url`); the model is a fresh
    ScriptedChatModel unless one is given."""
    model = ScriptedChatModel() if model is None else model
    search = SearchRecorder()
    search_tool = search.as_tool()

    def contexts(choices: AgentChoices, deciding: frozenset[str]) -> RunContext:
        return RunContext(
            model=model, tools=(search_tool,), approval=choices.approval, deciding=deciding
        )

    settings = Settings(
        db_path=data_dir / "waypoint.sqlite", database_url=database_url, demo_token_delay=0
    )
    backend = LocalBackend(settings, contexts=contexts)
    return Harness(backend, model, search, RunOptions(engine=engine, **option_changes))
