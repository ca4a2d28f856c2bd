"""LangGraph's checkpointer conformance suite, held against each Waypoint saver and its stock twin.

`langgraph-checkpoint-conformance` checks the storage contract (round-trips, metadata, namespaces,
pending writes, listing filters, deletion, and the optional copy/prune/delete-for-runs) through a
saver's async methods. Each kind of saver (SQLite and Postgres, sync and async) is run twice: the
stock LangGraph saver, then Waypoint's. The rule is relative: every conformance test the stock
saver passes must pass on Waypoint's. A test the stock saver itself fails is printed, not asserted,
so an upstream gap never hides a Waypoint regression nor blocks the suite. A capability only
Waypoint's saver has (`copy_thread` everywhere, `prune` on SQLite) must pass all its tests.

The suite (0.0.2) only calls async methods; a sync saver is driven through `SyncAsAsync`, which
calls the sync methods, so what is tested is the sync code the sync engine runs.

Each capability suite gets a fresh saver on a fresh database (a temporary SQLite file, or a new
Postgres database from `tests.pg_server`), because the suite reuses thread ids across tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import ProgressCallbacks
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.storage import AsyncWaypointSqliteSaver, WaypointSqliteSaver
from agent.storage_postgres import AsyncWaypointPostgresSaver, WaypointPostgresSaver
from tests.pg_server import fresh_database

# Optional capabilities: a sync saver that inherits one from `BaseCheckpointSaver` lacks it.
_OPTIONAL_SYNC_METHODS = ("delete_for_runs", "copy_thread", "prune")


class SyncAsAsync(BaseCheckpointSaver):
    """The async API the suite calls, answered by a sync saver's sync methods."""

    def __init__(self, inner: BaseCheckpointSaver) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.inner.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.inner.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.inner.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.inner.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.inner.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.inner.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.inner.copy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self.inner.prune(thread_ids, strategy=strategy)


def as_async(inner: BaseCheckpointSaver) -> SyncAsAsync:
    """`inner` behind the async API, without the optional capabilities it does not implement.

    The suite detects a capability by its async method being overridden, so the adapter's class
    leaves those methods to `BaseCheckpointSaver` where the sync saver does too.
    """
    missing = {
        f"a{method}": getattr(BaseCheckpointSaver, f"a{method}")
        for method in _OPTIONAL_SYNC_METHODS
        if getattr(type(inner), method) is getattr(BaseCheckpointSaver, method)
    }
    adapter = type(f"{type(inner).__name__}AsAsync", (SyncAsAsync,), missing)
    return adapter(inner)


# A factory opens one fresh saver (async API) and closes it when the context ends.
SaverFactory = Callable[[], contextlib.AbstractAsyncContextManager[BaseCheckpointSaver]]


def sqlite_sync(saver_class: type[SqliteSaver], folder: Path) -> SaverFactory:
    @contextlib.asynccontextmanager
    async def open_saver() -> AsyncIterator[BaseCheckpointSaver]:
        path = folder / f"{saver_class.__name__}-{time.monotonic_ns()}.sqlite"
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            saver = saver_class(conn)
            saver.setup()
            yield as_async(saver)
        finally:
            conn.close()

    return open_saver


def sqlite_async(saver_class: type[AsyncSqliteSaver], folder: Path) -> SaverFactory:
    @contextlib.asynccontextmanager
    async def open_saver() -> AsyncIterator[BaseCheckpointSaver]:
        path = folder / f"{saver_class.__name__}-{time.monotonic_ns()}.sqlite"
        async with aiosqlite.connect(path, isolation_level=None) as conn:
            saver = saver_class(conn)
            await saver.setup()
            yield saver

    return open_saver


def postgres_sync(saver_class: type[PostgresSaver], server_url: str) -> SaverFactory:
    @contextlib.asynccontextmanager
    async def open_saver() -> AsyncIterator[BaseCheckpointSaver]:
        with fresh_database(server_url) as url, saver_class.from_conn_string(url) as saver:
            saver.setup()
            yield as_async(saver)

    return open_saver


def postgres_async(saver_class: type[AsyncPostgresSaver], server_url: str) -> SaverFactory:
    @contextlib.asynccontextmanager
    async def open_saver() -> AsyncIterator[BaseCheckpointSaver]:
        with fresh_database(server_url) as url:
            async with saver_class.from_conn_string(url) as saver:
                await saver.setup()
                yield saver

    return open_saver


@dataclass(frozen=True)
class Outcome:
    passed: bool
    error: str | None


async def run_suite(name: str, factory: SaverFactory) -> dict[str, Outcome]:
    """Every conformance test's outcome on fresh savers from `factory`, keyed `capability/test`."""

    async def registered_factory() -> AsyncIterator[BaseCheckpointSaver]:
        async with factory() as saver:
            yield saver

    outcomes: dict[str, Outcome] = {}

    def record(capability: str, test: str, passed: bool, error: str | None) -> None:
        outcomes[f"{capability}/{test}"] = Outcome(passed, error)

    registered = checkpointer_test(name=name)(registered_factory)
    await validate(registered, progress=ProgressCallbacks(on_test_result=record))
    return outcomes


# Each kind: how a fresh saver of it is opened, LangGraph's class, Waypoint's class.
KINDS: dict[str, tuple[Callable[[Any, Any], SaverFactory], type, type]] = {
    "sqlite-sync": (sqlite_sync, SqliteSaver, WaypointSqliteSaver),
    "sqlite-async": (sqlite_async, AsyncSqliteSaver, AsyncWaypointSqliteSaver),
    "postgres-sync": (postgres_sync, PostgresSaver, WaypointPostgresSaver),
    "postgres-async": (postgres_async, AsyncPostgresSaver, AsyncWaypointPostgresSaver),
}


def _first_line(outcome: Outcome | None) -> str:
    if outcome is None:
        return "not run"
    lines = (outcome.error or "failed").strip().splitlines()
    return lines[-1] if lines else "failed"


@pytest.mark.parametrize("kind", KINDS)
def test_waypoint_saver_passes_every_test_the_stock_saver_passes(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    opener, stock_class, waypoint_class = KINDS[kind]
    # Postgres kinds start the session's test server the first time one runs.
    where = request.getfixturevalue("postgres_url") if kind.startswith("postgres") else tmp_path
    started = time.monotonic()
    stock = asyncio.run(run_suite(f"stock {kind}", opener(stock_class, where)))
    waypoint = asyncio.run(run_suite(f"Waypoint {kind}", opener(waypoint_class, where)))
    elapsed = time.monotonic() - started

    stock_passed = sorted(test for test, outcome in stock.items() if outcome.passed)
    assert len(stock_passed) >= 50, f"the stock {kind} saver passed only {stock_passed}"
    regressions = {
        test: _first_line(waypoint.get(test))
        for test in stock_passed
        if not (test in waypoint and waypoint[test].passed)
    }
    assert not regressions, (
        f"Waypoint's {kind} saver fails conformance tests the stock saver passes: {regressions}"
    )
    # A capability the stock saver lacks (copy_thread, prune on SQLite) is not run for it: where
    # Waypoint's saver has it, every one of its tests must pass.
    stock_capabilities = {test.split("/")[0] for test in stock}
    own = {test: o for test, o in waypoint.items() if test.split("/")[0] not in stock_capabilities}
    assert all(o.passed for o in own.values()), (
        f"Waypoint's {kind} saver fails its own capabilities' tests: "
        f"{ {test: _first_line(o) for test, o in own.items() if not o.passed} }"
    )
    assert {test.split("/")[0] for test in waypoint} >= {"copy_thread", "prune"}, sorted(waypoint)
    stock_failures = {test: _first_line(o) for test, o in stock.items() if not o.passed}
    print(
        f"{kind}: {len(stock_passed)} stock passes all kept by Waypoint, and {len(own)} tests of "
        f"capabilities only Waypoint's saver has, in {elapsed:.1f} s; "
        f"stock fails (not asserted): {stock_failures or 'none'}"
    )
