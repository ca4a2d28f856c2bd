"""The run store on Postgres: `agent.run_store`'s SQL on the connection pool the savers use.

Several app servers over one Postgres database see, follow and stop each other's runs through the
same two tables as on SQLite (thread-index migration 4, written for both databases). Only the way
to the database differs: a transaction is one pooled connection's transaction, and `?` becomes
psycopg's `%s` (the store's SQL has no other `?` and no literal `%`), and the per-user run limit
counts under an advisory lock on the user (`agent.run_limit` says why).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from agent.run_store import STALE_AFTER, SqlRunStore
from agent.threads_postgres import Pool

# The first key of the run limit's pg_advisory_xact_lock(int, int); the second is the user's hash.
_RUN_LIMIT_LOCK = 0x57A7_0002


def _postgres_sql(sql: str) -> str:
    return sql.replace("?", "%s")


class _Transaction:
    """What the store's SQL calls inside a transaction (`execute`, `executemany`), on psycopg."""

    def __init__(self, cursor: psycopg.Cursor[Any]):
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self.cursor.execute(_postgres_sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(_postgres_sql(sql), rows)


class PostgresRunStore(SqlRunStore):
    """The run store on a pool shared with the savers; the pool's owner closes it."""

    errors = (psycopg.Error,)
    conflict = psycopg.errors.UniqueViolation

    def __init__(self, pool: Pool, *, owner: str | None = None, stale_after: float = STALE_AFTER):
        self.pool = pool
        super().__init__(owner=owner, stale_after=stale_after)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with (
            self.pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            yield _Transaction(cur)

    def _lock_run_limit(self, conn: Any, user_id: str) -> None:
        """Hold the user's run-limit lock until this transaction ends: a start in another process
        waits here and then counts this one's committed row. Two users' hashes may collide; then
        their starts only wait in turn."""
        conn.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_RUN_LIMIT_LOCK, user_id))

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            return cur.execute(_postgres_sql(sql), params).fetchall()
