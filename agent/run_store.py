"""The run store: runs and their events in the database, so every app process sees every run.

A run lives in the process that started it (`agent.runs`), but a second app server over the same
database (behind a load balancer, or the CLI next to the app) must show the thread as running,
follow its tokens, stop it, and learn when the process running it died. So each run has a row
(`waypoint_runs`: thread, owner process, status, heartbeat, whether another process asked it to
stop) and its events are stored as they come (`waypoint_run_events`, JSON, strings redacted like
error text), batched per burst by one writer thread so tokens never wait on the disk.

Owners are `host:pid:nonce` (a nonce per engine, as one process may open several). A run whose
owner is on this host and no longer exists, or whose heartbeat is older than `stale_after`, is
dead: other processes report it as cut by a server stop, and start-up reconciliation marks only
such runs, never the live run of another process. A partial unique index keeps one live run per
thread across processes.

`RunStore` is the interface; `SqliteRunStore` implements it on the SQLite file every process
shares (WAL). Its SQL is what Postgres runs too (the tables are migration 4 of `agent.threads`,
written for both), so a Postgres store is its connection handling with `%s` placeholders.

    store = SqliteRunStore(open_connection(path))
    store.begin(run_id, thread_id)
    store.append(run_id, 0, Token("m1", "llm", "Hi"))
    store.end(run_id, "done")
    store.events(run_id, 0)  # [Token(...), Done("done")]
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from agent.events import Done, Error, Event, RunStatus, from_dict, to_dict
from agent.provider_errors import redact

log = logging.getLogger(__name__)

HOST = socket.gethostname()
# The supervisor of a live run beats every HEARTBEAT_SECONDS; a run silent for STALE_AFTER is dead.
HEARTBEAT_SECONDS = 2.0
STALE_AFTER = 15.0
# Events are written in one transaction per burst: the writer gathers what comes this long.
BATCH_WINDOW = 0.05
# Ended runs (rows and events) are kept this long for late readers, then dropped as a run begins,
# so the tables hold the runs of the last minutes, not every token ever streamed.
KEEP_ENDED_SECONDS = 600.0

LOST_TEXT = (
    "The server running this answer stopped, so the answer was cut. Retry to ask the model again."
)


class RunAlreadyLive(RuntimeError):
    """The thread already has a live run (maybe in another process)."""


@dataclass(frozen=True)
class RunRecord:
    """One row of `waypoint_runs`: what any process knows about a run."""

    id: str
    thread_id: str
    owner: str
    status: str  # "running", a RunStatus, or "lost" (its process died)
    started_at: float
    ended_at: float | None
    heartbeat: float
    cancel_requested: bool


def new_owner() -> str:
    """This engine's owner id: host, process id and a nonce of its own."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def owner_gone(owner: str) -> bool:
    """Whether the owner is known dead: a process of this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return host == HOST and pid.isdigit() and not _process_exists(int(pid))


def _clean(value: Any) -> Any:
    """The event's strings with anything that looks like a key redacted, at any depth."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def encode(event: Event) -> str:
    return json.dumps(_clean(to_dict(event)), ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> Event:
    return from_dict(json.loads(text))


class RunStore(Protocol):
    """What `RunManager` and `LocalBackend` need from the database to share runs."""

    owner: str
    stale_after: float
    errors: tuple[type[Exception], ...]  # what its database raises when a query fails

    def begin(self, run_id: str, thread_id: str) -> None: ...
    def discard(self, run_id: str) -> None: ...
    def append(self, run_id: str, seq: int, event: Event) -> None: ...
    def beat(self, run_id: str) -> None: ...
    def end(self, run_id: str, status: RunStatus) -> None: ...
    def cancel_requested(self, run_id: str) -> bool: ...
    def request_cancel(self, run_id: str) -> bool: ...
    def claim_lost(self, run_id: str) -> bool: ...
    def get(self, run_id: str) -> RunRecord | None: ...
    def latest(self, thread_id: str) -> RunRecord | None: ...
    def running(self) -> list[RunRecord]: ...
    def events(self, run_id: str, offset: int = 0) -> list[Event]: ...
    def forget_threads(self, thread_ids: Sequence[str]) -> None: ...
    def close(self) -> None: ...


def is_live(store: RunStore, record: RunRecord, now: float | None = None) -> bool:
    """A running record whose owner is this engine, or alive and beating."""
    if record.status != "running":
        return False
    if record.owner == store.owner:
        return True
    if owner_gone(record.owner):
        return False
    return (now or time.time()) - record.heartbeat < store.stale_after


_RECORD = "id, thread_id, owner, status, started_at, ended_at, heartbeat, cancel_requested"


def _record(row: tuple) -> RunRecord:
    run_id, thread_id, owner, status, started_at, ended_at, heartbeat, cancel = row
    return RunRecord(
        run_id, thread_id, owner, status, started_at, ended_at, heartbeat, bool(cancel)
    )


class SqlRunStore:
    """The run store's SQL (written for SQLite and Postgres alike), its writer thread and its
    rules; a subclass gives the two ways to its database: a transaction and a read."""

    errors: tuple[type[Exception], ...]  # what its database raises when a query fails
    conflict: type[Exception]  # what it raises when the one-live-run index refuses a row

    def __init__(self, *, owner: str | None = None, stale_after: float = STALE_AFTER):
        self.owner = owner or new_owner()
        self.stale_after = stale_after
        self._queue: queue.SimpleQueue[tuple | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._write_loop, name="waypoint-run-store", daemon=True
        )
        self._writer.start()

    def _transaction(self) -> AbstractContextManager[Any]:
        """A transaction; what it yields has `execute(sql, params)` and `executemany`."""
        raise NotImplementedError

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    # --- the owner's writes ----------------------------------------------------------------------

    def begin(self, run_id: str, thread_id: str) -> None:
        """Record a new live run; RunAlreadyLive when the thread has one (any process's)."""
        now = time.time()
        try:
            with self._transaction() as conn:
                old = (now - KEEP_ENDED_SECONDS,)
                conn.execute(
                    "DELETE FROM waypoint_run_events WHERE run_id IN "
                    "(SELECT id FROM waypoint_runs WHERE ended_at < ?)",
                    old,
                )
                conn.execute("DELETE FROM waypoint_runs WHERE ended_at < ?", old)
                conn.execute(
                    f"INSERT INTO waypoint_runs ({_RECORD}) VALUES (?,?,?,'running',?,NULL,?,0)",
                    (run_id, thread_id, self.owner, now, now),
                )
        except self.conflict as error:
            raise RunAlreadyLive(thread_id) from error

    def discard(self, run_id: str) -> None:
        """Forget a run that never started (its preparation failed)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM waypoint_runs WHERE id = ?", (run_id,))

    def append(self, run_id: str, seq: int, event: Event) -> None:
        """Queue an event for the writer; `Done` is written by `end`, with the status."""
        if not isinstance(event, Done):
            self._queue.put(("event", run_id, seq, encode(event)))

    def beat(self, run_id: str) -> None:
        self._queue.put(("beat", run_id, time.time()))

    def end(self, run_id: str, status: RunStatus) -> None:
        """Write what is queued, then `Done` and the status in one transaction (so a reader never
        sees one without the other). Returns once written."""
        self._flush()
        with self._transaction() as conn:
            changed = conn.execute(
                "UPDATE waypoint_runs SET status = ?, ended_at = ? "
                "WHERE id = ? AND status = 'running'",
                (status, time.time(), run_id),
            ).rowcount
            if changed:  # else another process ended it as lost, and wrote its Done
                self._append_now(conn, run_id, Done(status=status))

    @staticmethod
    def _append_now(conn: Any, run_id: str, event: Event) -> None:
        conn.execute(
            "INSERT INTO waypoint_run_events (run_id, seq, event) SELECT ?, "
            "COALESCE(MAX(seq) + 1, 0), ? FROM waypoint_run_events WHERE run_id = ?",
            (run_id, encode(event), run_id),
        )

    def _flush(self) -> None:
        done = threading.Event()
        self._queue.put(("flush", done))
        if not done.wait(30):
            log.warning("The run store's writer did not catch up within 30 s.")

    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + BATCH_WINDOW
            while batch[-1] is not None and batch[-1][0] != "flush":
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self._write(batch)
            if batch[-1] is None:
                return

    def _write(self, batch: list[tuple | None]) -> None:
        events = [item[1:] for item in batch if item is not None and item[0] == "event"]
        beats = [(item[2], item[1]) for item in batch if item is not None and item[0] == "beat"]
        if events or beats:
            try:
                with self._transaction() as conn:
                    conn.executemany(
                        "INSERT INTO waypoint_run_events (run_id, seq, event) "
                        "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        events,
                    )
                    conn.executemany("UPDATE waypoint_runs SET heartbeat = ? WHERE id = ?", beats)
            except self.errors:  # the run goes on; only other processes miss these events
                log.exception("Storing %d run events failed.", len(events))
        for item in batch:
            if item is not None and item[0] == "flush":
                item[1].set()

    # --- any process -----------------------------------------------------------------------------

    def cancel_requested(self, run_id: str) -> bool:
        """Whether the owner should stop: Stop was pressed elsewhere, or another process took
        the run for dead (its heartbeat was late) and ended it."""
        rows = self._rows(
            "SELECT cancel_requested = 1 OR status != 'running' FROM waypoint_runs WHERE id = ?",
            (run_id,),
        )
        return bool(rows and rows[0][0])

    def request_cancel(self, run_id: str) -> bool:
        """Ask the owner to stop the run; False when it is not running."""
        with self._transaction() as conn:
            changed = conn.execute(
                "UPDATE waypoint_runs SET cancel_requested = 1 WHERE id = ? AND status = 'running'",
                (run_id,),
            ).rowcount
        return changed == 1

    def claim_lost(self, run_id: str) -> bool:
        """End a dead owner's run as lost (an error and `Done`); True for the one process that
        did it, so only that one marks the cut checkpoint."""
        with self._transaction() as conn:
            changed = conn.execute(
                "UPDATE waypoint_runs SET status = 'lost', ended_at = ? "
                "WHERE id = ? AND status = 'running'",
                (time.time(), run_id),
            ).rowcount
            if changed:
                self._append_now(conn, run_id, Error(LOST_TEXT, "server_stopped"))
                self._append_now(conn, run_id, Done(status="error"))
        return changed == 1

    def get(self, run_id: str) -> RunRecord | None:
        rows = self._rows(f"SELECT {_RECORD} FROM waypoint_runs WHERE id = ?", (run_id,))
        return _record(rows[0]) if rows else None

    def latest(self, thread_id: str) -> RunRecord | None:
        rows = self._rows(
            f"SELECT {_RECORD} FROM waypoint_runs WHERE thread_id = ? "
            "ORDER BY started_at DESC LIMIT 1",
            (thread_id,),
        )
        return _record(rows[0]) if rows else None

    def running(self) -> list[RunRecord]:
        rows = self._rows(f"SELECT {_RECORD} FROM waypoint_runs WHERE status = 'running'", ())
        return [_record(row) for row in rows]

    def events(self, run_id: str, offset: int = 0) -> list[Event]:
        rows = self._rows(
            "SELECT event FROM waypoint_run_events WHERE run_id = ? AND seq >= ? ORDER BY seq",
            (run_id, offset),
        )
        return [decode(row[0]) for row in rows]

    def forget_threads(self, thread_ids: Sequence[str]) -> None:
        """The runs and events of these threads, in one transaction."""
        if not thread_ids:
            return
        marks = ",".join("?" * len(thread_ids))
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM waypoint_run_events WHERE run_id IN "
                f"(SELECT id FROM waypoint_runs WHERE thread_id IN ({marks}))",
                list(thread_ids),
            )
            conn.execute(
                f"DELETE FROM waypoint_runs WHERE thread_id IN ({marks})", list(thread_ids)
            )

    def close(self) -> None:
        """Write what is queued and stop the writer (the connection is its owner's to close)."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(30)


class SqliteRunStore(SqlRunStore):
    """The run store on a SQLite connection of its own (autocommit, WAL), used from any thread."""

    errors = (sqlite3.Error,)
    conflict = sqlite3.IntegrityError

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        owner: str | None = None,
        stale_after: float = STALE_AFTER,
    ):
        self.conn = conn
        self._lock = threading.RLock()
        super().__init__(owner=owner, stale_after=stale_after)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()
