"""`CheckpointStore` on Postgres: the timeline's and transfer's reads over LangGraph's tables.

The same contract as `agent.checkpoint_store.SqliteCheckpointStore`, on the stock Postgres schema
that `WaypointPostgresSaver` writes: metadata is JSONB (read back as a dict), pending writes live
in `checkpoint_writes` (their value column is `blob`), and an import runs in one transaction of
the saver (`WaypointPostgresSaver.put_thread`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from langgraph.checkpoint.postgres import _internal
from langgraph.pregel import Pregel
from psycopg.rows import tuple_row

from agent.checkpoint_store import (
    NewCheckpoint,
    SkeletonRow,
    StoredWrite,
    grouped_writes,
    thread_items,
)
from agent.storage_postgres import WaypointPostgresSaver

_ROOT = "thread_id = %s AND checkpoint_ns = ''"
_SKELETON_SQL = (
    f"SELECT checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints WHERE {_ROOT} "
    "ORDER BY checkpoint_id DESC"
)
_STAMP_SQL = f"SELECT COUNT(*), MAX(checkpoint_id) FROM checkpoints WHERE {_ROOT}"
_LATEST_SQL = (
    f"SELECT checkpoint_id FROM checkpoints WHERE {_ROOT} ORDER BY checkpoint_id DESC LIMIT 1"
)
_EXISTS_SQL = f"SELECT 1 FROM checkpoints WHERE {_ROOT} AND checkpoint_id = %s"
_NEWEST_OF_RUN_SQL = (
    f"SELECT checkpoint_id FROM checkpoints WHERE {_ROOT} AND metadata ->> 'waypoint_run' = %s "
    "ORDER BY checkpoint_id DESC LIMIT 1"
)
_WRITES_SQL = (
    "SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob "
    "FROM checkpoint_writes WHERE thread_id = %s"
)


class PostgresCheckpointStore:
    """`CheckpointStore` over the tables of a `WaypointPostgresSaver` (its connection or pool).

    >>> store = PostgresCheckpointStore.for_graph(build_graph(WaypointPostgresSaver(pool)))
    >>> store.latest_id("thread-1")
    """

    def __init__(self, saver: WaypointPostgresSaver):
        self.saver = saver

    @classmethod
    def for_graph(cls, graph: Pregel[Any, Any, Any, Any]) -> PostgresCheckpointStore:
        """The store over a compiled graph's saver (see `SqliteCheckpointStore.for_graph`)."""
        saver = graph.checkpointer
        if not isinstance(saver, WaypointPostgresSaver):
            raise TypeError(
                "PostgresCheckpointStore needs a graph compiled with a WaypointPostgresSaver "
                "(build_graph(persistence.saver))."
            )
        return cls(saver)

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with (
            _internal.get_connection(self.saver.conn) as conn,
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            return cur.execute(sql, params).fetchall()

    def skeleton_rows(self, thread_id: str) -> list[SkeletonRow]:
        return [
            SkeletonRow(checkpoint_id, parent_id, metadata if isinstance(metadata, dict) else {})
            for checkpoint_id, parent_id, metadata in self._query(_SKELETON_SQL, (thread_id,))
        ]

    def stamp(self, thread_id: str) -> Hashable:
        return tuple(self._query(_STAMP_SQL, (thread_id,))[0])

    def latest_id(self, thread_id: str) -> str | None:
        rows = self._query(_LATEST_SQL, (thread_id,))
        return rows[0][0] if rows else None

    def exists(self, thread_id: str, checkpoint_id: str) -> bool:
        return bool(self._query(_EXISTS_SQL, (thread_id, checkpoint_id)))

    def newest_of_run(self, thread_id: str, run_id: str) -> str | None:
        rows = self._query(_NEWEST_OF_RUN_SQL, (thread_id, run_id))
        return rows[0][0] if rows else None

    def thread_writes(self, thread_id: str) -> dict[tuple[str, str], list[StoredWrite]]:
        return grouped_writes(self._query(_WRITES_SQL, (thread_id,)), self.saver.serde)

    def insert_thread(self, thread_id: str, checkpoints: Sequence[NewCheckpoint]) -> None:
        self.saver.put_thread(thread_items(thread_id, checkpoints))
