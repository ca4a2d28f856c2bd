"""`CheckpointStore` on Postgres: the timeline's and transfer's reads over LangGraph's tables.

The same contract as `agent.checkpoint_store.SqliteCheckpointStore`, on the stock Postgres schema
that `WaypointPostgresSaver` writes: metadata is JSONB (read back as a dict), pending writes live
in `checkpoint_writes` (their value column is `blob`), and an import runs in one transaction of
the saver (`WaypointPostgresSaver.put_thread`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.checkpoint.postgres import _internal
from psycopg.rows import tuple_row

from agent.checkpoint_store import SqlCheckpointStore, StoreSql
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


class PostgresCheckpointStore(SqlCheckpointStore):
    """`CheckpointStore` over the tables of a `WaypointPostgresSaver` (its connection or pool).

    >>> store = PostgresCheckpointStore.for_graph(build_graph(WaypointPostgresSaver(pool)))
    >>> store.latest_id("thread-1")
    """

    SQL = StoreSql(
        _SKELETON_SQL, _STAMP_SQL, _LATEST_SQL, _EXISTS_SQL, _NEWEST_OF_RUN_SQL, _WRITES_SQL
    )
    SAVER = WaypointPostgresSaver
    saver: WaypointPostgresSaver

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with (
            _internal.get_connection(self.saver.conn) as conn,
            conn.cursor(row_factory=tuple_row) as cur,
        ):
            return cur.execute(sql, params).fetchall()

    def _metadata(self, stored: Any) -> Mapping[str, Any]:
        return stored if isinstance(stored, dict) else {}  # JSONB reads back as a dict
