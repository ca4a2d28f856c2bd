"""The thread index on Postgres: `agent.threads` queries on a connection pool.

`ThreadIndex(PostgresThreadDatabase(pool))` behaves as the SQLite index does: same columns, same
migrations (`agent.threads.MIGRATIONS`, each atomic, recorded in `waypoint_schema`), search as
plain text with `ILIKE` and an escaped pattern, paging newest first. Several app processes may
start at once: migrations run under an advisory lock, so each is applied once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow, tuple_row
from psycopg_pool import ConnectionPool

from agent import threads

Pool = ConnectionPool[psycopg.Connection[DictRow]]  # as the checkpoint savers need it

# pg_advisory_xact_lock key of the index's migrations (any constant other tools do not use).
_MIGRATION_LOCK = 0x57A7_0001


def _postgres_sql(sql: str) -> str:
    """The index writes `?` placeholders (sqlite3's); psycopg takes `%s`. Its SQL has no other `?`
    and no literal `%`."""
    return sql.replace("?", "%s")


def migrate_postgres(pool: Pool) -> int:
    """Apply the Postgres migrations this database has not seen yet; return the schema version.

    Each runs in one transaction with the row recording it (Postgres DDL is transactional), after
    taking the migration lock, so a failure changes nothing and concurrent starts wait in turn.
    """
    with pool.connection() as conn:
        while True:
            with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                cur.execute("CREATE TABLE IF NOT EXISTS waypoint_schema (version INTEGER NOT NULL)")
                row = cur.execute("SELECT MAX(version) FROM waypoint_schema").fetchone()
                version = (row[0] if row else None) or 0
                if version < len(threads.MIGRATIONS):
                    _apply(cur, version + 1)
            if version >= len(threads.MIGRATIONS):
                return version


def _apply(cur: psycopg.Cursor[Any], number: int) -> None:
    """Migration `number` and the row recording it, inside the caller's transaction."""
    try:
        for statement in threads.statements(threads.MIGRATIONS[number - 1]):
            cur.execute(statement)
        cur.execute("INSERT INTO waypoint_schema (version) VALUES (%s)", (number,))
    except psycopg.Error as error:
        raise RuntimeError(
            f"Cannot upgrade the thread index to schema version {number} "
            f"({str(error).strip().splitlines()[0]}); nothing was changed. Check that the "
            "database user may create and alter tables, then start again."
        ) from error


class PostgresThreadDatabase:
    """The index's SQL on a pool shared with the checkpoint saver; the pool's owner closes it."""

    like = "ILIKE"

    def __init__(self, pool: Pool):
        self.pool = pool
        migrate_postgres(pool)

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            return cur.execute(_postgres_sql(sql), params).fetchall()

    def change(self, sql: str, params: Sequence[Any]) -> int:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(_postgres_sql(sql), params)
            return cur.rowcount

    def close(self) -> None:
        """Nothing of its own to close: the pool belongs to `agent.persistence`."""
