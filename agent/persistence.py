"""Checkpointers and the thread index over one SQLite file, created once per process.

The sync engine uses a sync saver on a `sqlite3` connection; the async engine uses an async saver on
an `aiosqlite` connection that lives on the background loop. Both point at the same file, in WAL
mode with a busy timeout, so either engine can continue a thread the other started and readers
never block the writer. The run store (`agent.run_store`) has a connection of its own, so its
writer thread never waits on the savers'.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.serde import _msgpack

from agent.loop import BackgroundLoop
from agent.run_store import SqliteRunStore
from agent.storage import AsyncWaypointSqliteSaver, WaypointSqliteSaver
from agent.threads import ThreadIndex

BUSY_TIMEOUT_MS = 10_000
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
)


def _require_strict_msgpack() -> None:
    if not _msgpack.STRICT_MSGPACK_ENABLED:
        raise RuntimeError(
            "LangGraph's strict msgpack mode is off. Set LANGGRAPH_STRICT_MSGPACK=true before "
            "LangGraph is imported (importing the `agent` package first does this)."
        )


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


async def _open_async_saver(path: Path) -> AsyncWaypointSqliteSaver:
    """Runs on the background loop: the async saver binds itself to the loop that creates it."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        await conn.execute(pragma)
    saver = AsyncWaypointSqliteSaver(conn)
    await saver.setup()
    return saver


@dataclass
class Persistence:
    """The process's database handles: sync saver, async saver (lazily), the thread index and the
    run store."""

    path: Path
    conn: sqlite3.Connection
    saver: WaypointSqliteSaver
    threads: ThreadIndex
    runs: SqliteRunStore
    loop: BackgroundLoop
    _async_saver: AsyncWaypointSqliteSaver | None = field(default=None, repr=False)
    _async_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, path: Path, loop: BackgroundLoop | None = None) -> Persistence:
        _require_strict_msgpack()
        conn = open_connection(path)
        saver = WaypointSqliteSaver(conn)
        saver.setup()
        threads = ThreadIndex(open_connection(path))  # migrates, the run store's tables too
        return cls(
            path=path,
            conn=conn,
            saver=saver,
            threads=threads,
            runs=SqliteRunStore(open_connection(path)),
            loop=loop or BackgroundLoop(),
        )

    @property
    def async_saver(self) -> AsyncWaypointSqliteSaver:
        """The async saver, created on the background loop the first time it is needed."""
        with self._async_lock:
            if self._async_saver is None:
                self._async_saver = self.loop.run(_open_async_saver(self.path))
            return self._async_saver

    def close(self) -> None:
        """Close every connection and stop the loop; closing twice is harmless.

        Tasks still on the loop (runs that Stop ended, unwinding) finish before their connection
        closes.
        """
        self.loop.cancel_tasks()
        if self._async_saver is not None:
            self.loop.run(self._async_saver.conn.close())
            self._async_saver = None
        self.loop.stop()
        self.runs.close()
        self.conn.close()
        self.threads.conn.close()
        self.runs.conn.close()
