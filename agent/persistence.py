"""Checkpointers and the thread index, on one SQLite file or one Postgres database, once per process.

SQLite (the default, `WAYPOINT_DB`): the sync engine uses a sync saver on a `sqlite3` connection;
the async engine uses an async saver on an `aiosqlite` connection that lives on the background
loop. Both point at the same file, in WAL mode with a busy timeout, so either engine can continue
a thread the other started and readers never block the writer.

Postgres (`DATABASE_URL=postgresql://...`): the same two savers' Postgres kind, each on its own
connection pool (the async one created on the background loop, which it binds to), and the thread
index on the sync pool. Connections are autocommit with dict rows, as LangGraph's savers require.

The run store (`agent.run_store`) shares the database: on SQLite a connection of its own (its
writer thread never waits on the savers'), on Postgres the sync pool.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import aiosqlite
import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde import _msgpack
from langgraph.pregel import Pregel
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from agent.checkpoint_store import CheckpointStore, SqliteCheckpointStore
from agent.checkpoint_store_postgres import PostgresCheckpointStore
from agent.loop import BackgroundLoop
from agent.run_store import SqliteRunStore, SqlRunStore
from agent.run_store_postgres import PostgresRunStore
from agent.storage import AsyncWaypointSqliteSaver, WaypointSqliteSaver
from agent.storage_postgres import AsyncWaypointPostgresSaver, WaypointPostgresSaver
from agent.threads import ThreadIndex
from agent.threads_postgres import PostgresThreadDatabase

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
)
CONNECT_TIMEOUT_S = 10  # how long opening a pool waits for the server
# What LangGraph's Postgres savers need of every connection.
POSTGRES_CONNECTION = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}


def _require_strict_msgpack() -> None:
    if not _msgpack.STRICT_MSGPACK_ENABLED:
        raise RuntimeError(
            "LangGraph's strict msgpack mode is off. Set LANGGRAPH_STRICT_MSGPACK=true before "
            "LangGraph is imported (importing the `agent` package first does this)."
        )


_startup_frozen = threading.Event()


def freeze_startup_objects() -> None:
    """Take what the process holds once the engine is open out of the garbage collector's walks.

    Once per process (the app opens its engine once). The imports (LangChain, LangGraph, pydantic,
    Streamlit) leave some 150,000 objects that live as long as the process, and every full
    collection walks them all. A first read of a long thread makes tens of thousands of
    containers (4,000 messages at 1,000 turns), enough for several full collections: they were a
    third of that read (`bench/cold_read.py`). `gc.freeze` moves what exists now to a generation
    the collector never walks; what is made later is collected as before. Frozen garbage is never
    freed, which costs nothing here: the frozen objects are the ones the process keeps anyway.
    """
    if not _startup_frozen.is_set():
        _startup_frozen.set()
        gc.collect()  # what is already garbage goes first, so it is not kept for good
        gc.freeze()


def open_connection(path: Path) -> sqlite3.Connection:
    """A connection shared across threads (the savers and the index serialise access)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        for pragma in PRAGMAS:
            conn.execute(pragma)
    except sqlite3.Error as error:
        raise RuntimeError(
            f"Cannot open the database {path}: {error}. Check that the folder is writable, or set "
            "WAYPOINT_DB to another file."
        ) from error
    return conn


async def _open_async_sqlite_saver(path: Path) -> AsyncWaypointSqliteSaver:
    """Runs on the background loop: the async saver binds itself to the loop that creates it."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        await conn.execute(pragma)
    saver = AsyncWaypointSqliteSaver(conn)
    await saver.setup()
    return saver


# --- Postgres -------------------------------------------------------------------------------------


def describe_url(url: str) -> str:
    """Where a database URL points, without its password: "host:port/dbname"."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(an unreadable DATABASE_URL)"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def check_postgres(url: str) -> None:
    """Connect once, so a wrong URL or a server that is down fails with its reason, not a timeout.

    Neither message quotes the URL: it may hold a password.
    """
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise RuntimeError(
            "DATABASE_URL is not a valid Postgres URL: write it as "
            "postgresql://user:password@host:5432/dbname (percent-encode special characters)."
        ) from None
    try:
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.Error as error:
        reason = _reason(error)
        if password := parts.get("password"):
            reason = reason.replace(str(password), "***")
        raise RuntimeError(
            f"Cannot connect to the Postgres database at {describe_url(url)} ({reason}). Check "
            "DATABASE_URL and that the server is running and accepts this user."
        ) from None


SyncPool = ConnectionPool[psycopg.Connection[DictRow]]
AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[DictRow]]


def _reason(error: psycopg.Error) -> str:
    """libpq's reason, without the address it repeats: "Connection refused", "FATAL: ..."."""
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    return " ".join(lines[0].rsplit("failed: ", 1)[-1].split())


def open_postgres_pool(url: str, min_size: int, max_size: int) -> SyncPool:
    """A sync pool of connections the savers and the thread index can use."""
    check_postgres(url)
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=POSTGRES_CONNECTION,
        open=False,
        name="waypoint-sync",
    )
    pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    return cast(SyncPool, pool)


async def _open_async_postgres_saver(
    url: str, min_size: int, max_size: int
) -> AsyncWaypointPostgresSaver:
    """Runs on the background loop, which the pool and the saver bind to."""
    pool = AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=POSTGRES_CONNECTION,
        open=False,
        name="waypoint-async",
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        saver = AsyncWaypointPostgresSaver(cast(AsyncPool, pool))
        await saver.setup()
    except BaseException:
        await pool.close()
        raise
    return saver


# --- the process's handles ------------------------------------------------------------------------


@dataclass
class Persistence:
    """The process's database handles: sync saver, async saver (lazily), the thread index and the
    run store."""

    saver: BaseCheckpointSaver
    threads: ThreadIndex
    runs: SqlRunStore
    loop: BackgroundLoop
    # Creates the async saver on the loop; closes what the sync side opened.
    _open_async: Callable[[], Coroutine[Any, Any, BaseCheckpointSaver]] = field(repr=False)
    _close_sync: Callable[[], None] = field(repr=False)
    # The timeline's and transfer's store over a graph compiled with `saver`.
    store_for: Callable[[Pregel[Any, Any, Any, Any]], CheckpointStore] = field(repr=False)
    # An async pool runs tasks of its own on the loop, so it closes before the loop's tasks are
    # cancelled (a connection still in use closes when it is returned); a connection closes after.
    _async_pooled: bool = field(default=False, repr=False)
    _async_saver: BaseCheckpointSaver | None = field(default=None, repr=False)
    _async_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(
        cls,
        path: Path,
        loop: BackgroundLoop | None = None,
        *,
        database_url: str | None = None,
        pool_min: int = 1,
        pool_max: int = 4,
    ) -> Persistence:
        """SQLite at `path`, or Postgres at `database_url` when one is given."""
        _require_strict_msgpack()
        if database_url:
            persistence = cls._open_postgres(database_url, loop, pool_min, pool_max)
        else:
            persistence = cls._open_sqlite(path, loop)
        freeze_startup_objects()
        return persistence

    @classmethod
    def _open_sqlite(cls, path: Path, loop: BackgroundLoop | None) -> Persistence:
        conn = open_connection(path)
        saver = WaypointSqliteSaver(conn)
        saver.setup()
        threads = ThreadIndex(open_connection(path))  # migrates, the run store's tables too
        runs = SqliteRunStore(open_connection(path))
        log.info("checkpoints and threads in SQLite at %s", path)

        def close_sync() -> None:
            runs.close()
            runs.conn.close()
            conn.close()
            threads.close()

        return cls(
            saver=saver,
            threads=threads,
            runs=runs,
            loop=loop or BackgroundLoop(),
            _open_async=lambda: _open_async_sqlite_saver(path),
            _close_sync=close_sync,
            store_for=SqliteCheckpointStore.for_graph,
        )

    @classmethod
    def _open_postgres(
        cls, url: str, loop: BackgroundLoop | None, pool_min: int, pool_max: int
    ) -> Persistence:
        pool = open_postgres_pool(url, pool_min, pool_max)
        try:
            saver = WaypointPostgresSaver(pool)
            saver.setup()
            threads = ThreadIndex(PostgresThreadDatabase(pool))  # migrates the run store's too
        except BaseException:
            pool.close()
            raise
        runs = PostgresRunStore(pool)

        def close_sync() -> None:
            runs.close()
            pool.close()

        log.info("checkpoints and threads in Postgres at %s", describe_url(url))

        return cls(
            saver=saver,
            threads=threads,
            runs=runs,
            loop=loop or BackgroundLoop(),
            _open_async=lambda: _open_async_postgres_saver(url, pool_min, pool_max),
            _close_sync=close_sync,
            store_for=PostgresCheckpointStore.for_graph,
            _async_pooled=True,
        )

    @property
    def async_saver(self) -> BaseCheckpointSaver:
        """The async saver, created on the background loop the first time it is needed."""
        with self._async_lock:
            if self._async_saver is None:
                self._async_saver = self.loop.run(self._open_async())
            return self._async_saver

    def close(self) -> None:
        """Close every connection and stop the loop; closing twice is harmless.

        Tasks still on the loop (runs that Stop ended, unwinding) finish before their connection
        closes.
        """
        if self._async_pooled:
            self._close_async_saver()
        self.loop.cancel_tasks()
        self._close_async_saver()
        self.loop.stop()
        self._close_sync()

    def _close_async_saver(self) -> None:
        if self._async_saver is not None:
            # An aiosqlite connection or an async pool: either closes on its own loop.
            self.loop.run(self._async_saver.conn.close())  # type: ignore[attr-defined]
            self._async_saver = None
