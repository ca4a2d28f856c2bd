"""How fast a long thread's history opens: the inspector's timeline next to `get_state_history`.

One thread of 1,000 checkpoints goes through Waypoint's real graph and savers: research turns (a
~200-byte question, a web_search call, a ~2 KB result, a ~1 KB answer: 5 checkpoints each), with
a regenerated answer every 20 turns and an edited question every 50, so the history forks like a
used thread does. Then, in a new backend on the same file (so no cache of the build helps):

- Waypoint: `timeline(limit=50)`: the first page, the total and the tree (one query over ids and
  metadata, one `checkpointer.list` for the page); the detail of the newest checkpoint (what the
  inspector opens on); the chat's view and its sibling versions. First calls are timed in several
  new backends (median), page reruns in one.
- stock: `graph.get_state_history`, which rebuilds every state; listing all of them is the stock
  way to get the count and the tree, its first 50 alone give neither.

The same work runs on SQLite and on Postgres (`DATABASE_URL` on a throwaway server started as the
tests start theirs, `tests/pg_server.py`): Waypoint's savers and timeline store on each, next to
the stock history through the same savers.

Run: .venv/bin/python bench/history.py [--checkpoints 1000] [--database sqlite postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agent  # noqa: F401  (first: it sets strict msgpack before LangGraph loads)

# isort: split
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from pydantic import ConfigDict

from agent.backend import LocalBackend
from agent.choices import AgentChoices, ApprovalPolicy, RunOptions
from agent.graph import RunContext
from agent.protocol import LOCAL_USER
from agent.settings import Settings
from bench.cold_read import database_targets
from bench.storage import Prose

GOAL_MS = 100.0
PAGE = 50


class ProseModel(BaseChatModel):
    """Calls web_search after a question, answers (~1 KB) after a result: deterministic prose."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    prose: Any

    @property
    def _llm_type(self) -> str:
        return "prose"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ProseModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        token = self.prose.token()
        if isinstance(messages[-1], ToolMessage):
            message = AIMessage(self.prose.text(1_000), id=f"run-{token}")
        else:
            call = {
                "id": f"call_{token[:24]}",
                "name": "web_search",
                "args": {"query": self.prose.text(60)},
                "type": "tool_call",
            }
            message = AIMessage("", id=f"run-{token}", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=message)])


@dataclass(frozen=True)
class Database:
    """Where the thread lives: a SQLite file, or a Postgres database when `url` is set."""

    name: str
    path: Path
    url: str | None = None


def make_backend(db: Database, prose: Prose) -> LocalBackend:
    @tool
    def web_search(query: str) -> str:
        """Search the web."""
        return prose.text(2_000)

    model = ProseModel(prose=prose)

    def contexts(choices: AgentChoices, deciding: frozenset[str]) -> RunContext:
        return RunContext(
            model=model, tools=(web_search,), approval=ApprovalPolicy("never"), deciding=deciding
        )

    settings = Settings(db_path=db.path, database_url=db.url, demo_token_delay=0)
    return LocalBackend(settings, contexts=contexts)


def build_thread(backend: LocalBackend, prose: Prose, checkpoints: int) -> str:
    thread = backend.create_thread(LOCAL_USER, "A long research thread")
    choices, options = AgentChoices(approval=ApprovalPolicy("never")), RunOptions()
    turn = 0
    while backend.timeline(LOCAL_USER, thread.id, limit=1).total < checkpoints:
        turn += 1
        run = backend.runs.get(
            backend.send_message(LOCAL_USER, thread.id, prose.text(200), choices, options).id
        )
        run.log.wait_closed(60)
        view = backend.thread_view(LOCAL_USER, thread.id)
        if turn % 20 == 0:  # a regenerated answer: a replay fork and a new answer
            run = backend.runs.get(
                backend.regenerate(LOCAL_USER, thread.id, view.messages[-1].id, choices, options).id
            )
            run.log.wait_closed(60)
        if turn % 50 == 0:  # an edited question, left for later: an update fork
            page = backend.timeline(LOCAL_USER, thread.id, limit=8)
            start = next(
                r for r in page.rows if r.source == "loop" and r.written_by == ("__start__",)
            )
            question = backend.checkpoint_detail(
                LOCAL_USER, thread.id, start.checkpoint_id
            ).messages[-1]
            backend.edit_message(
                LOCAL_USER, thread.id, start.checkpoint_id, question.id, text=prose.text(200)
            )
            backend.show_branch(
                LOCAL_USER, thread.id, view.checkpoint_id
            )  # the chat stays on its branch
    return thread.id


def timed(fn: Callable[[], Any], repeat: int = 7) -> tuple[float, Any]:
    """(median wall ms of `repeat` calls, result)."""
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def first_calls(db: Database, thread_id: str, fresh: int) -> dict[str, tuple[float, float]]:
    """Each call's first run in `fresh` new backends (cold caches): median (wall ms, CPU ms).

    CPU is this thread's own time: on a loaded machine wall time also counts waiting for a core.
    """
    samples: dict[str, list[tuple[float, float]]] = {}
    for _ in range(fresh):
        backend = make_backend(db, Prose(seed=5))
        try:
            newest: list[str] = []
            calls = {
                "timeline": lambda b=backend, n=newest: n.append(
                    b.timeline(LOCAL_USER, thread_id, limit=PAGE).rows[0].checkpoint_id
                ),
                "detail": lambda b=backend, n=newest: b.checkpoint_detail(
                    LOCAL_USER, thread_id, n[0]
                ),
                "view": lambda b=backend: b.thread_view(LOCAL_USER, thread_id),
                "versions": lambda b=backend: b.message_versions(LOCAL_USER, thread_id),
            }
            for name, call in calls.items():
                wall, cpu = time.perf_counter(), time.thread_time()
                call()
                samples.setdefault(name, []).append(
                    ((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000)
                )
        finally:
            backend.close()
    return {
        name: (statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
        for name, got in samples.items()
    }


def measure(db: Database, args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    """Build the thread on `db`, print its figures; return its goals (name, met, figure)."""
    builder = make_backend(db, Prose(seed=3))
    started = time.perf_counter()
    thread_id = build_thread(builder, Prose(seed=4), args.checkpoints)
    built = time.perf_counter() - started
    builder.close()

    cold = first_calls(db, thread_id, args.fresh)
    backend = make_backend(db, Prose(seed=5))
    config = {"configurable": {"thread_id": thread_id}}
    try:
        page_warm, page = timed(lambda: backend.timeline(LOCAL_USER, thread_id, limit=PAGE))
        newest = page.rows[0].checkpoint_id
        detail_warm, _ = timed(lambda: backend.checkpoint_detail(LOCAL_USER, thread_id, newest))
        later = page.total // 2
        later_warm, _ = timed(
            lambda: backend.timeline(LOCAL_USER, thread_id, limit=PAGE, offset=later)
        )
        view_warm, view = timed(lambda: backend.thread_view(LOCAL_USER, thread_id))
        versions_warm, versions = timed(lambda: backend.message_versions(LOCAL_USER, thread_id))
        stock_page, _ = timed(lambda: list(backend.graph.get_state_history(config, limit=PAGE)), 3)
        stock_all, stock = timed(
            lambda: list(backend.graph.get_state_history(config)), args.stock_repeat
        )
    finally:
        backend.close()

    print(
        f"{db.name}: {page.total:,} checkpoints, {len(view.messages):,} messages shown, "
        f"{page.branches} branches, {len(versions)} messages with versions "
        f"(built in {built:.1f} s); load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    assert len(stock) == page.total, "the two ways disagree on the checkpoint count"
    open_wall = cold["timeline"][0] + cold["detail"][0]
    open_cpu = cold["timeline"][1] + cold["detail"][1]
    print(
        f"  Waypoint: first call in a new backend (median of {args.fresh}: wall, CPU) / page "
        "rerun (median of 7, wall):"
    )
    rows = [
        (f"timeline: first {PAGE} rows + total + tree", cold["timeline"], page_warm),
        ("detail of the newest checkpoint", cold["detail"], detail_warm),
        ("open the inspector (both above)", (open_wall, open_cpu), page_warm + detail_warm),
        (f"timeline page at offset {later:,}", None, later_warm),
        ("chat: thread_view", cold["view"], view_warm),
        ("chat: sibling versions", cold["versions"], versions_warm),
    ]
    for name, first, warm in rows:
        shown = f"{first[0]:8.1f} ({first[1]:6.1f} CPU)" if first else " " * 21
        print(f"    {name:44} {shown} / {warm:7.1f} ms")
    print("  Stock graph.get_state_history on the same thread (median, wall):")
    print(f"    first {PAGE} states (no total, no tree) {'':12} {stock_page:8.1f} ms")
    print(f"    all {page.total:,} states (for the total and the tree) {'':2} {stock_all:8.1f} ms")
    first = cold["timeline"][0]
    print(
        f"    Waypoint's first timeline call is {stock_all / first:,.0f}x faster than listing "
        f"every state, {stock_page / first:,.1f}x faster than the stock first page alone"
    )
    return [
        (
            f"{db.name}: timeline of {args.checkpoints:,} checkpoints (first page + total + "
            f"tree), first call in a new backend, <= {GOAL_MS:.0f} ms",
            cold["timeline"][0] <= GOAL_MS,
            f"{cold['timeline'][0]:.1f} ms",
        ),
        (
            f"{db.name}: the same, page rerun, <= {GOAL_MS:.0f} ms",
            page_warm <= GOAL_MS,
            f"{page_warm:.1f} ms",
        ),
        (
            f"{db.name}: inspector open with the newest checkpoint's detail, first call, "
            f"<= {GOAL_MS:.0f} ms",
            open_wall <= GOAL_MS,
            f"{open_wall:.1f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=1_000)
    parser.add_argument("--fresh", type=int, default=5, help="new backends for first-call times")
    parser.add_argument("--stock-repeat", type=int, default=2)
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    print(__doc__.splitlines()[0])
    goals = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.database:
            with database_targets(name, Path(tmp)) as targets:
                url = None if name == "sqlite" else targets["waypoint"]
                db = Database(name, Path(tmp) / f"{name}.sqlite", url)
                goals += measure(db, args)
    print("Goals:")
    for name, met, figure in goals:
        print(f"  {'MET    ' if met else 'NOT MET'}  {name}: {figure}")


if __name__ == "__main__":
    main()
