"""Runs cut short, on both engines (and both databases): a SIGKILL mid-run, a crash between a node's results and its
checkpoint (langgraph #8039), and the user's Stop. Nothing runs twice; every cut run says so.

The crashes are real: `tests/crash_child.py` runs an engine in its own process, the test kills it
with SIGKILL while a tool blocks (or the model is mid-answer), then opens a new LocalBackend on
the same database, as a restarted server would.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from agent.choices import AgentChoices, ApprovalPolicy
from agent.events import Done, Halted
from agent.protocol import LOCAL_USER
from agent.recovery import notice
from agent.timeline import TOOL
from tests.crash_child import PARTIAL, QUERY, QUESTION, engine_child
from tests.engine_fixtures import ON_BOTH_DATABASES, engine_run, make_harness
from tests.pg_server import fresh_database
from tests.scripted_model import TokenGate, reply
from tests.test_engine import assert_history_valid, state_messages

NEVER_ASK = AgentChoices(approval=ApprovalPolicy("never"))


def crash(data_dir: Path, engine: str, database_url: str | None) -> dict[str, str]:
    """Run tests/crash_child.py until every scenario blocks, SIGKILL it; return their threads."""
    with engine_child(data_dir, engine, database_url) as threads:
        return threads


@pytest.fixture(scope="module", **ON_BOTH_DATABASES)
def crashed(request, tmp_path_factory):
    """One killed process per engine and database; each test looks at its own thread of it."""
    engine, database = request.param
    data_dir = tmp_path_factory.mktemp("crashed")
    with contextlib.ExitStack() as stack:
        url = None
        if database == "postgres":
            url = stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
        yield Crashed(engine, data_dir, crash(data_dir, engine, url), url)


@dataclass
class Crashed:
    engine: str
    data_dir: Path
    threads: dict[str, str]
    database_url: str | None

    def harness(self, **option_changes):
        return make_harness(
            self.data_dir, self.engine, database_url=self.database_url, **option_changes
        )


@pytest.fixture(params=["sync", "async"])
def engine(request):
    return request.param


def test_a_tool_cut_by_a_crash_is_asked_again_never_rerun(crashed):
    thread_id = crashed.threads["tool"]
    h = crashed.harness()
    try:
        view = h.backend.thread_view(LOCAL_USER, thread_id)
        assert [c.name for c in view.pending_calls] == ["web_search"]
        assert view.notice is not None and view.notice.kind == "server_stopped"
        assert "`web_search` was running" in view.notice.text
        assert h.backend.get_thread(LOCAL_USER, thread_id).status == "waiting"
        # Continue, even with a policy that never asks: the cut call is asked about, not run.
        events = h.finish(h.backend.resume(LOCAL_USER, thread_id, NEVER_ASK, h.options))
        assert any(isinstance(e, Halted) for e in events) and events[-1] == Done("halted")
        assert h.search.queries == []
        h.model.script = [reply("Sunny [1].")]
        call = h.backend.thread_view(LOCAL_USER, thread_id).pending_calls[0]
        h.decide(thread_id, {call.id: {"action": "approve"}})
        assert h.search.queries == [QUERY]
        messages = state_messages(h, thread_id)
        assert messages[-1].content == "Sunny [1]."
        assert_history_valid(messages)
        rows = h.backend.timeline(LOCAL_USER, thread_id).rows
        assert any("server stopped while web_search ran" in r.label for r in rows)
    finally:
        h.backend.close()


def test_an_answer_cut_by_a_crash_says_so_and_retry_answers(crashed):
    thread_id = crashed.threads["model"]
    h = crashed.harness()
    try:
        view = h.backend.thread_view(LOCAL_USER, thread_id)
        assert view.pending_calls == () and view.next_nodes == ("llm",)
        assert view.notice is not None and view.notice.kind == "server_stopped"
        assert "what it was writing is lost" in view.notice.text
        assert not any(PARTIAL in m.text for m in view.messages)
        h.model.script = [reply(PARTIAL + " [1].")]
        events = h.finish(h.backend.resume(LOCAL_USER, thread_id, h.choices, h.options))
        assert events[-1] == Done("done")
        assert h.search.queries == []  # the tool had run before the crash: it is not run again
        messages = state_messages(h, thread_id)
        assert [type(m) for m in messages[1:]] == [AIMessage, ToolMessage, AIMessage]
        assert h.backend.thread_view(LOCAL_USER, thread_id).notice is None
    finally:
        h.backend.close()


def test_a_crash_with_durability_exit_asks_again_and_nothing_runs_unasked(crashed):
    thread_id = crashed.threads["exit"]
    h = crashed.harness(durability="exit")
    try:
        view = h.backend.thread_view(LOCAL_USER, thread_id)
        # The approved call ran in the killed process but nothing of that run was saved.
        assert [c.name for c in view.pending_calls] == ["web_search"]
        assert view.notice is not None and "may have run" in view.notice.text
        events = h.finish(h.backend.resume(LOCAL_USER, thread_id, NEVER_ASK, h.options))
        assert events[-1] == Done("halted") and h.search.queries == []
    finally:
        h.backend.close()


def test_results_saved_without_their_checkpoint_are_kept_not_rerun(data_dir, engine):
    """langgraph #8039: `action` finished and its writes were saved, the next checkpoint not."""
    h = make_harness(data_dir, engine)
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": QUERY}))]
    h.send(thread.id, QUESTION, approval=ApprovalPolicy("always"))
    saver = h.backend.persistence.saver
    halt = saver.get_tuple({"configurable": {"thread_id": thread.id}})
    task = h.backend.graph.get_state(halt.config).tasks[0]
    call = state_messages(h, thread.id)[-1].tool_calls[0]
    result = ToolMessage("sunny", tool_call_id=call["id"], name="web_search")
    saver.put_writes(halt.config, [("messages", [result]), ("branch:to:llm", None)], task.id)
    h.backend.threads.set_status(thread.id, "running")  # as a killed process leaves it
    h.backend.close()
    h = make_harness(data_dir, engine)
    try:
        view = h.backend.thread_view(LOCAL_USER, thread.id)
        assert view.pending_calls == () and view.next_nodes == ("llm",)
        assert [m.text for m in view.messages if m.role == "tool"] == ["sunny"]
        assert view.notice is not None and "after its last step was saved" in view.notice.text
        h.model.script = [reply("Sunny [1].")]
        h.finish(h.backend.resume(LOCAL_USER, thread.id, NEVER_ASK, h.options))
        assert h.search.queries == []
        assert_history_valid(state_messages(h, thread.id))
    finally:
        h.backend.close()


def test_stop_says_stopped_by_you_and_continue_goes_on(data_dir, engine):
    h = make_harness(data_dir, engine)
    try:
        gate = TokenGate()
        h.model.gate = gate
        thread = h.backend.create_thread(LOCAL_USER)
        h.model.script = [reply("alpha beta gamma delta")]
        run = engine_run(
            h.backend, h.backend.send_message(LOCAL_USER, thread.id, "go", h.choices, h.options)
        )
        gate.release(2)
        assert gate.wait_held_after(2)
        h.backend.cancel_run(LOCAL_USER, run.id)
        gate.open_fully()
        assert h.finish(run)[-1] == Done("cancelled")
        view = h.backend.thread_view(LOCAL_USER, thread.id)
        assert view.notice is not None and view.notice.kind == "stopped"
        assert view.next_nodes == ("llm",)
        rows = h.backend.timeline(LOCAL_USER, thread.id).rows
        assert not any(r.error for r in rows)
        if engine == "sync" or any(r.stopped for r in rows):
            assert any(r.stopped and "you stopped" in r.label for r in rows)
        h.model.gate = None
        h.model.script = [reply("alpha beta gamma delta")]
        events = h.finish(h.backend.resume(LOCAL_USER, thread.id, h.choices, h.options))
        assert events[-1] == Done("done")
        assert [m.content for m in state_messages(h, thread.id)] == ["go", "alpha beta gamma delta"]
        assert h.backend.thread_view(LOCAL_USER, thread.id).notice is None
    finally:
        h.backend.close()


def test_with_durability_exit_the_live_view_shows_the_question(data_dir, engine):
    h = make_harness(data_dir, engine, durability="exit")
    try:
        gate = TokenGate()
        h.model.gate = gate
        thread = h.backend.create_thread(LOCAL_USER)
        h.model.script = [reply("alpha beta")]
        run = engine_run(
            h.backend,
            h.backend.send_message(LOCAL_USER, thread.id, "my own question", h.choices, h.options),
        )
        assert gate.wait_held_after(0)
        view = h.backend.thread_view(LOCAL_USER, thread.id)
        assert view.messages == ()  # nothing is checkpointed until the run ends
        assert [(m.role, m.text) for m in view.live_input] == [("human", "my own question")]
        gate.open_fully()
        h.finish(run)
        view = h.backend.thread_view(LOCAL_USER, thread.id)
        assert view.live_input == () and view.messages[0].text == "my own question"
    finally:
        h.backend.close()


def test_a_tool_name_from_the_model_is_never_markdown_in_the_notice():
    text = notice({TOOL: "![x](http://example.invalid/a.png)`"}, ("action",))
    assert "`![x](http://example.invalid/a.png)`" in text and text.count("`") == 2
