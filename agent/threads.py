"""Thread index: the list of conversations a user sees, stored next to the checkpoints.

Checkpoints say what happened; this table says what the user calls a conversation, when it last
changed and whether it is waiting for them, so the sidebar never has to read checkpoint blobs.
The schema evolves through numbered migrations, applied once, in order, each in its own transaction.
The index runs on SQLite here and on Postgres (`agent.threads_postgres`): the same queries and the
same migrations.
"""

from __future__ import annotations

import builtins
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from agent.errors import UnknownThread
from agent.views import ThreadInfo, ThreadStatus

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = ("idle", "running", "waiting", "error")
TITLE_LIMIT = 80

# Written in the SQL that SQLite and Postgres both run, so both databases have one history
# (`DOUBLE PRECISION` is REAL to SQLite). A migration that ever needs each dialect's own SQL makes
# this a list of pairs.
MIGRATIONS: tuple[str, ...] = (
    # 1: the index itself.
    """
    CREATE TABLE waypoint_threads (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'idle',
        branch_head TEXT,
        owner TEXT
    );
    CREATE INDEX waypoint_threads_recent ON waypoint_threads (updated_at DESC, id);
    """,
    # 2: lineage for "fork to a new thread".
    """
    ALTER TABLE waypoint_threads ADD COLUMN forked_from TEXT;
    ALTER TABLE waypoint_threads ADD COLUMN forked_at_checkpoint TEXT;
    """,
    # 3: every thread has an owner; the threads made before logins belong to the local user.
    """
    UPDATE waypoint_threads SET owner = 'local' WHERE owner IS NULL;
    CREATE INDEX waypoint_threads_owner_recent ON waypoint_threads (owner, updated_at DESC, id);
    """,
    # 4: the run store (`agent.run_store`): runs any process can see, follow and stop. SQL that
    # SQLite and Postgres both run (DOUBLE PRECISION is REAL to SQLite).
    """
    CREATE TABLE waypoint_runs (
        id TEXT PRIMARY KEY,
        thread_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        ended_at DOUBLE PRECISION,
        heartbeat DOUBLE PRECISION NOT NULL,
        cancel_requested INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX waypoint_runs_one_live ON waypoint_runs (thread_id)
        WHERE status = 'running';
    CREATE INDEX waypoint_runs_thread ON waypoint_runs (thread_id, started_at DESC);
    CREATE INDEX waypoint_runs_ended ON waypoint_runs (ended_at);
    CREATE TABLE waypoint_run_events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    """,
    # 5: a thread now exists from its first message ("New thread" stores nothing). The empty rows
    # the old button left (17 after one session) are deleted rather than hidden: they hold nothing
    # to lose, and hidden rows would still count in searches, paging and visitor sweeps. Only
    # never-used ones go: default title, no message, no run, idle, not a fork, no branch head.
    """
    DELETE FROM waypoint_threads
    WHERE title = 'New thread' AND message_count = 0 AND status = 'idle'
        AND forked_from IS NULL AND branch_head IS NULL
        AND NOT EXISTS (
            SELECT 1 FROM waypoint_runs WHERE waypoint_runs.thread_id = waypoint_threads.id
        )
    """,
    # 6: what every process must know of a run, not only the one that started it: who started it
    # and when, for an hour (the per-user run limit counts here: `agent.run_limit`), and the
    # message it was sent (each process's live view shows it before a checkpoint holds it).
    """
    CREATE TABLE waypoint_run_starts (
        run_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX waypoint_run_starts_user ON waypoint_run_starts (user_id, started_at);
    CREATE INDEX waypoint_run_starts_time ON waypoint_run_starts (started_at);
    ALTER TABLE waypoint_runs ADD COLUMN sent TEXT;
    """,
    # 7: the tools a person chose to "always allow in this thread" from an approval card, as a
    # JSON list of names. NULL: none.
    """
    ALTER TABLE waypoint_threads ADD COLUMN allowed_tools TEXT;
    """,
)


_COLUMNS = (
    "id, title, created_at, updated_at, message_count, status, branch_head, owner, "
    "forked_from, forked_at_checkpoint, allowed_tools"
)


def _info(row: Sequence[Any]) -> ThreadInfo:
    """A row of `_COLUMNS` as a ThreadInfo (the allowed tools are stored as a JSON list)."""
    allowed = tuple(json.loads(row[-1])) if row[-1] else ()
    return ThreadInfo(*row[:-1], allowed_tools=allowed)  # type: ignore[misc]  # the columns in order


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this database has not seen yet; return the schema version.

    Each migration runs in its own explicit transaction (SQLite DDL is transactional), together
    with the row that records it: the app's connections are autocommit, so without `BEGIN` a
    migration failing half-way would keep its first statements and stay at the old version, and
    the next start would fail on them. The version is read inside the transaction, so two
    processes starting at once apply each migration once.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS waypoint_schema (version INTEGER NOT NULL)")
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("SELECT MAX(version) FROM waypoint_schema").fetchone()[0] or 0
            if version < len(MIGRATIONS):
                _apply(conn, version + 1)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if version >= len(MIGRATIONS):
            return version


def _apply(conn: sqlite3.Connection, number: int) -> None:
    """Migration `number` and the row recording it, inside the caller's transaction."""
    try:
        for statement in statements(MIGRATIONS[number - 1]):
            conn.execute(statement)
        conn.execute("INSERT INTO waypoint_schema (version) VALUES (?)", (number,))
        log.info("thread index: migration %d applied", number)
    except sqlite3.Error as error:
        raise RuntimeError(
            f"Cannot upgrade the thread index to schema version {number} ({error}); nothing was "
            "changed. Check that the database file is writable and not in use by an older "
            "Waypoint, then start again."
        ) from error


def statements(migration: str) -> builtins.list[str]:
    """A migration's statements, one by one (neither database takes several with parameters)."""
    return [statement for statement in migration.split(";") if statement.strip()]


def title_from_text(text: str) -> str:
    """A one-line title from the first message, cut at a word boundary."""
    line = " ".join(text.split())
    if len(line) <= TITLE_LIMIT:
        return line or "New thread"
    cut = line[: TITLE_LIMIT - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ThreadDatabase(Protocol):
    """Where the index runs its SQL, written with `?` placeholders, on a migrated schema."""

    like: str  # the case-insensitive LIKE of this dialect

    def rows(self, sql: str, params: Sequence[Any]) -> builtins.list[tuple[Any, ...]]: ...

    def change(self, sql: str, params: Sequence[Any]) -> int:
        """Run one statement in its own transaction; return how many rows it changed."""
        ...

    def close(self) -> None: ...


class SqliteThreadDatabase:
    """The index on one sqlite3 connection, shared across threads under a lock."""

    like = "LIKE"  # ASCII case-insensitive in SQLite

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock | None = None):
        self.conn = conn
        self.lock = lock or threading.RLock()
        with self.lock:
            migrate(conn)

    def rows(self, sql: str, params: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def change(self, sql: str, params: Sequence[Any]) -> int:
        with self.lock, self.conn:
            return self.conn.execute(sql, params).rowcount

    def close(self) -> None:
        self.conn.close()


class ThreadIndex:
    """Create, list, search, rename and delete threads. Thread-safe over its database."""

    def __init__(
        self, db: sqlite3.Connection | ThreadDatabase, lock: threading.RLock | None = None
    ):
        self.db: ThreadDatabase = (
            SqliteThreadDatabase(db, lock) if isinstance(db, sqlite3.Connection) else db
        )

    def close(self) -> None:
        self.db.close()

    def _one(self, sql: str, params: tuple) -> ThreadInfo | None:
        rows = self.db.rows(sql, params)
        return _info(rows[0]) if rows else None

    def create(
        self,
        title: str = "New thread",
        *,
        owner: str,
        forked_from: str | None = None,
        forked_at_checkpoint: str | None = None,
    ) -> ThreadInfo:
        now = time.time()
        info = ThreadInfo(
            id=str(uuid.uuid4()),
            title=title_from_text(title),
            created_at=now,
            updated_at=now,
            message_count=0,
            status="idle",
            owner=owner,
            forked_from=forked_from,
            forked_at_checkpoint=forked_at_checkpoint,
        )
        self.db.change(
            f"INSERT INTO waypoint_threads ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                info.id,
                info.title,
                info.created_at,
                info.updated_at,
                info.message_count,
                info.status,
                info.branch_head,
                info.owner,
                info.forked_from,
                info.forked_at_checkpoint,
                None,
            ),
        )
        return info

    def get(self, thread_id: str) -> ThreadInfo:
        """Any user's thread: for the engine's own bookkeeping, never for a user's request."""
        info = self.find(thread_id)
        if info is None:
            raise UnknownThread(thread_id)
        return info

    def find(self, thread_id: str) -> ThreadInfo | None:
        return self._one(f"SELECT {_COLUMNS} FROM waypoint_threads WHERE id = ?", (thread_id,))

    def owned(self, thread_id: str, owner: str) -> ThreadInfo:
        """The thread if `owner` owns it; UnknownThread otherwise, as if it did not exist."""
        info = self.find_owned(thread_id, owner)
        if info is None:
            raise UnknownThread(thread_id)
        return info

    def find_owned(self, thread_id: str, owner: str) -> ThreadInfo | None:
        return self._one(
            f"SELECT {_COLUMNS} FROM waypoint_threads WHERE id = ? AND owner = ?",
            (thread_id, owner),
        )

    def _owner_filter(self, owner: str, search: str) -> tuple[str, list[object]]:
        """WHERE clause: the owner's threads, and titles holding `search` as plain text."""
        sql = " WHERE owner = ?"
        params: list[object] = [owner]
        if search.strip():
            sql += f" AND title {self.db.like} ? ESCAPE '\\'"
            params.append(_like_pattern(search.strip()))
        return sql, params

    def list(
        self, *, owner: str, search: str = "", limit: int = 50, offset: int = 0
    ) -> list[ThreadInfo]:
        """The owner's threads, newest first. `search` matches titles, case-insensitively."""
        where, params = self._owner_filter(owner, search)
        sql = f"SELECT {_COLUMNS} FROM waypoint_threads{where}"
        sql += " ORDER BY updated_at DESC, id LIMIT ? OFFSET ?"
        params += [max(1, limit), max(0, offset)]
        return [_info(row) for row in self.db.rows(sql, params)]

    def count(self, *, owner: str, search: str = "") -> int:
        where, params = self._owner_filter(owner, search)
        return self.db.rows(f"SELECT COUNT(*) FROM waypoint_threads{where}", params)[0][0]

    def _update(self, thread_id: str, **fields: object) -> ThreadInfo:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        changed = self.db.change(
            f"UPDATE waypoint_threads SET {assignments} WHERE id = ?",
            (*fields.values(), thread_id),
        )
        if not changed:
            raise UnknownThread(thread_id)
        return self.get(thread_id)

    def rename(self, thread_id: str, title: str) -> ThreadInfo:
        clean = " ".join(title.split())
        if not clean:
            raise ValueError("A thread needs a title: type at least one character.")
        return self._update(thread_id, title=clean[:TITLE_LIMIT])

    def touch(
        self,
        thread_id: str,
        *,
        status: ThreadStatus | None = None,
        message_count: int | None = None,
        title: str | None = None,
    ) -> ThreadInfo:
        """Record activity: new time, and whichever of status, count or title changed."""
        fields: dict[str, object] = {"updated_at": time.time()}
        if status is not None:
            fields["status"] = status
        if message_count is not None:
            fields["message_count"] = message_count
        if title is not None:
            fields["title"] = title_from_text(title)
        return self._update(thread_id, **fields)

    def set_status(self, thread_id: str, status: ThreadStatus) -> None:
        self._update(thread_id, status=status)

    def set_branch_head(self, thread_id: str, checkpoint_id: str | None) -> ThreadInfo:
        return self._update(thread_id, branch_head=checkpoint_id)

    def set_allowed_tools(self, thread_id: str, tools: Iterable[str]) -> ThreadInfo:
        """The tools "always allowed in this thread" from now on (none: every call asked)."""
        names = sorted(set(tools))
        return self._update(thread_id, allowed_tools=json.dumps(names) if names else None)

    def delete(self, thread_id: str) -> None:
        self.delete_many([thread_id])

    def delete_many(self, thread_ids: Sequence[str]) -> None:
        """Delete these threads' rows in one statement (ids Waypoint made, a batch at a time)."""
        if thread_ids:
            marks = ",".join("?" * len(thread_ids))
            self.db.change(f"DELETE FROM waypoint_threads WHERE id IN ({marks})", list(thread_ids))

    def created_before(self, owner_prefix: str, cutoff: float) -> builtins.list[tuple[str, str]]:
        """(owner, id) of threads whose owner starts with `owner_prefix`, made before `cutoff`.

        For expiring visitor spaces (`agent.visitors`): owners are ids Waypoint made, and the
        prefix is a constant of the code, never user text.
        """
        rows = self.db.rows(
            "SELECT owner, id FROM waypoint_threads"
            " WHERE substr(owner, 1, ?) = ? AND created_at < ? ORDER BY created_at",
            (len(owner_prefix), owner_prefix, cutoff),
        )
        return [(owner, thread_id) for owner, thread_id in rows]

    def ids_with_status(self, status: ThreadStatus) -> builtins.list[str]:
        """At start-up: threads still marked 'running' lost their run when the process ended."""
        rows = self.db.rows("SELECT id FROM waypoint_threads WHERE status = ?", (status,))
        return [row[0] for row in rows]
