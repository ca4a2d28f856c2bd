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

A run's report (`agent.run_record`: its steps, timings, tokens, decisions and calls) is written
with its end, as the event at seq -1, outside the offsets readers follow. Ended runs keep their
row and report when their events are dropped: the report is the lasting run record.

Two things more are kept for every process: each run's start, with whose it is (the per-user run
limit counts those: `agent.run_limit`, in `begin`'s transaction), and the message the run was sent
(`sent`, on its row, so each process's live view shows the question before a checkpoint holds it,
as with durability "exit"; capped, redacted like events, and dropped with the run's events).

`RunStore` is the interface; `SqliteRunStore` implements it on the SQLite file every process
shares (WAL). Its SQL is what Postgres runs too (the tables are migration 4 of `agent.threads`,
written for both), so a Postgres store is its connection handling with `%s` placeholders.

    store = SqliteRunStore(open_connection(path))
    store.begin(run_id, thread_id, Starter("alice", per_hour=20, sent=SentMessage("m0", "Hi?")))
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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from agent import run_limit
from agent.events import Done, Error, Event, RunStatus, from_dict, to_dict
from agent.limits import MAX_MESSAGE_CHARS
from agent.provider_errors import redact
from agent.run_record import encode_report, lost_report

log = logging.getLogger(__name__)

HOST = socket.gethostname()
# The supervisor of a live run beats every HEARTBEAT_SECONDS; a run silent for STALE_AFTER is dead.
HEARTBEAT_SECONDS = 2.0
STALE_AFTER = 15.0
# Events are written in one transaction per burst: the writer gathers what comes this long.
BATCH_WINDOW = 0.05
# Ended runs' events are kept this long for late readers, then dropped as a run begins, so the
# tables hold the tokens of the last minutes, not every token ever streamed. A run with a report
# keeps its row and report (about a kilobyte); one without (it never ended well) goes entirely.
KEEP_ENDED_SECONDS = 600.0
REPORT_SEQ = -1  # where a run's report is kept among its events

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


@dataclass(frozen=True)
class SentMessage:
    """The human message a run was started with: its id (so a view knows when a checkpoint
    shows it) and its text."""

    id: str
    text: str


@dataclass(frozen=True)
class Starter:
    """Who starts a run, and with what: the user, their hourly run limit (`None`: no limit; see
    `agent.run_limit`) and the message the run was sent, if it was started with one."""

    user_id: str
    per_hour: int | None = None
    sent: SentMessage | None = None


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


def _encode_sent(starter: Starter | None) -> str | None:
    """The sent message as stored: redacted like events, its text capped like a chat message."""
    sent = starter.sent if starter is not None else None
    if sent is None:
        return None
    fields = _clean({"id": sent.id, "text": sent.text[:MAX_MESSAGE_CHARS]})
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


class RunStore(Protocol):
    """What `RunManager` and `LocalBackend` need from the database to share runs."""

    owner: str
    stale_after: float
    errors: tuple[type[Exception], ...]  # what its database raises when a query fails

    def begin(self, run_id: str, thread_id: str, starter: Starter | None = None) -> None: ...
    def sent(self, run_id: str) -> SentMessage | None: ...
    def discard(self, run_id: str) -> None: ...
    def append(self, run_id: str, seq: int, event: Event) -> None: ...
    def beat(self, run_id: str) -> None: ...
    def end(
        self, run_id: str, status: RunStatus, report: Mapping[str, Any] | None = None
    ) -> None: ...
    def cancel_requested(self, run_id: str) -> bool: ...
    def request_cancel(self, run_id: str) -> bool: ...
    def claim_lost(self, run_id: str) -> bool: ...
    def get(self, run_id: str) -> RunRecord | None: ...
    def latest(self, thread_id: str) -> RunRecord | None: ...
    def running(self, owner: str | None = None) -> list[RunRecord]: ...
    def events(self, run_id: str, offset: int = 0) -> list[Event]: ...
    def reports(self, thread_id: str, limit: int = ...) -> list[dict[str, Any]]: ...
    def add_reports(self, thread_id: str, reports: Sequence[Mapping[str, Any]]) -> None: ...
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

    def _lock_run_limit(self, conn: Any, user_id: str) -> None:
        """Make this transaction the only one counting `user_id`'s runs until it ends
        (`agent.run_limit`). SQLite's `BEGIN IMMEDIATE` already holds the one write lock."""

    def begin(self, run_id: str, thread_id: str, starter: Starter | None = None) -> None:
        """Record a new live run, its start against the starter's run limit and the message it
        was sent; RunAlreadyLive when the thread has a live run (any process's), RunLimitReached
        when the user has no run left this hour. Either refusal records nothing."""
        now = time.time()
        try:
            with self._transaction() as conn:
                if starter is not None:
                    if starter.per_hour is not None:
                        self._lock_run_limit(conn, starter.user_id)
                    run_limit.take(conn, starter.user_id, starter.per_hour, run_id, now)
                old = (now - KEEP_ENDED_SECONDS,)
                conn.execute(
                    "DELETE FROM waypoint_run_events WHERE seq >= 0 AND run_id IN "
                    "(SELECT id FROM waypoint_runs WHERE ended_at < ?)",
                    old,
                )
                conn.execute(
                    "DELETE FROM waypoint_runs WHERE ended_at < ? AND NOT EXISTS (SELECT 1 FROM "
                    "waypoint_run_events e WHERE e.run_id = waypoint_runs.id AND e.seq = -1)",
                    old,
                )
                conn.execute(
                    f"INSERT INTO waypoint_runs ({_RECORD}, sent) "
                    "VALUES (?,?,?,'running',?,NULL,?,0,?)",
                    (run_id, thread_id, self.owner, now, now, _encode_sent(starter)),
                )
        except self.conflict as error:
            raise RunAlreadyLive(thread_id) from error

    def discard(self, run_id: str) -> None:
        """Forget a run that never started (its preparation failed), and give its slot back."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM waypoint_runs WHERE id = ?", (run_id,))
            run_limit.give_back(conn, run_id)

    def append(self, run_id: str, seq: int, event: Event) -> None:
        """Queue an event for the writer; `Done` is written by `end`, with the status."""
        if not isinstance(event, Done):
            self._queue.put(("event", run_id, seq, encode(event)))

    def beat(self, run_id: str) -> None:
        self._queue.put(("beat", run_id, time.time()))

    def end(self, run_id: str, status: RunStatus, report: Mapping[str, Any] | None = None) -> None:
        """Write what is queued, then `Done`, the status and the run's report in one transaction
        (so a reader never sees one without the other). Returns once written."""
        self._flush()
        with self._transaction() as conn:
            changed = conn.execute(
                "UPDATE waypoint_runs SET status = ?, ended_at = ? "
                "WHERE id = ? AND status = 'running'",
                (status, time.time(), run_id),
            ).rowcount
            if changed:  # else another process ended it as lost, and wrote its Done
                self._append_now(conn, run_id, Done(status=status))
                if report is not None:
                    self._insert_report(conn, run_id, report)

    @staticmethod
    def _insert_report(conn: Any, run_id: str, report: Mapping[str, Any]) -> None:
        text = json.dumps(_clean(report), ensure_ascii=False, separators=(",", ":"))
        conn.execute(
            "INSERT INTO waypoint_run_events (run_id, seq, event) VALUES (?, ?, ?)",
            (run_id, REPORT_SEQ, text),
        )

    @staticmethod
    def _append_now(conn: Any, run_id: str, event: Event) -> None:
        conn.execute(
            "INSERT INTO waypoint_run_events (run_id, seq, event) SELECT ?, "
            "COALESCE(MAX(seq) + 1, 0), ? FROM waypoint_run_events WHERE run_id = ? AND seq >= 0",
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
                self._write_lost_report(conn, run_id)
        return changed == 1

    def _write_lost_report(self, conn: Any, run_id: str) -> None:
        """The dead run's report (`agent.run_record.lost_report`), from its stored events."""
        started_at, heartbeat, sent = conn.execute(
            "SELECT started_at, heartbeat, sent FROM waypoint_runs WHERE id = ?", (run_id,)
        ).fetchone()
        rows = conn.execute(
            "SELECT event FROM waypoint_run_events WHERE run_id = ? AND seq >= 0 ORDER BY seq",
            (run_id,),
        ).fetchall()
        report = lost_report(
            run_id,
            started_at,
            heartbeat,
            [decode(row[0]) for row in rows],
            json.loads(sent)["id"] if sent else None,
        )
        self._insert_report(conn, run_id, encode_report(report))

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

    def running(self, owner: str | None = None) -> list[RunRecord]:
        """Runs marked running (live or not: see `is_live`); with `owner`, only on that user's
        threads (the thread index's owner)."""
        sql = f"SELECT {_RECORD} FROM waypoint_runs WHERE status = 'running'"
        params: tuple[str, ...] = ()
        if owner is not None:
            sql += (
                " AND EXISTS (SELECT 1 FROM waypoint_threads t"
                " WHERE t.id = waypoint_runs.thread_id AND t.owner = ?)"
            )
            params = (owner,)
        return [_record(row) for row in self._rows(sql, params)]

    def sent(self, run_id: str) -> SentMessage | None:
        """The message the run was started with, if it was started with one."""
        rows = self._rows("SELECT sent FROM waypoint_runs WHERE id = ?", (run_id,))
        if not rows or rows[0][0] is None:
            return None
        fields = json.loads(rows[0][0])
        return SentMessage(fields["id"], fields["text"])

    def events(self, run_id: str, offset: int = 0) -> list[Event]:
        rows = self._rows(
            "SELECT event FROM waypoint_run_events WHERE run_id = ? AND seq >= ? ORDER BY seq",
            (run_id, offset),
        )
        return [decode(row[0]) for row in rows]

    def reports(self, thread_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """The reports of the thread's latest `limit` ended runs, oldest first."""
        rows = self._rows(
            "SELECT e.event FROM waypoint_runs r JOIN waypoint_run_events e "
            "ON e.run_id = r.id AND e.seq = -1 WHERE r.thread_id = ? "
            "ORDER BY r.started_at DESC LIMIT ?",
            (thread_id, limit),
        )
        return [json.loads(row[0]) for row in reversed(rows)]

    def add_reports(self, thread_id: str, reports: Sequence[Mapping[str, Any]]) -> None:
        """Ended runs and their reports, as an imported thread brings them (checked, new ids),
        in one transaction: never live, and counted against no run limit."""
        with self._transaction() as conn:
            for report in reports:
                ended = report["started_at"] + report["seconds"]
                conn.execute(
                    f"INSERT INTO waypoint_runs ({_RECORD}, sent) VALUES (?,?,?,?,?,?,?,0,NULL)",
                    (report["id"], thread_id, self.owner, report["status"])
                    + (report["started_at"], ended, ended),
                )
                self._insert_report(conn, report["id"], report)

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
