"""What the timeline and transfer read and write beyond LangGraph's public saver API.

`BaseCheckpointSaver` gives `get_tuple`, `list`, `put`, `put_writes` and `delete_thread`. The
timeline also needs a thread's tree without decoding a single blob (ids, parents and metadata of
1,000 checkpoints in one indexed query), cheap existence and "newest" checks, and transfer needs
the pending writes with their task paths (which `CheckpointTuple.pending_writes` drops) and an
import that stores a whole thread or nothing; a fork to a new thread copies one branch of
history (`copy_branch`). Those are `CheckpointStore`; each database has one implementation next
to its saver (`SqliteCheckpointStore` here, `PostgresCheckpointStore` in
`agent.checkpoint_store_postgres`), so the timeline's algorithms and the file format serve any of
them.

Only the root namespace (`checkpoint_ns == ""`) is read: Waypoint's graph has no subgraphs.

LangGraph keeps the full copy of a delta channel (`messages`) that it writes at a fork in a
private type, `_DeltaSnapshot`; an export must say where such copies are, so it meets that type.
This module is the one place that names it (`is_snapshot`, `snapshot_value`, `make_snapshot`),
along with LangGraph's private `LATEST_VERSION` of the checkpoint format.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, Self

from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.pregel import Pregel
from langgraph.pregel._checkpoint import LATEST_VERSION

from agent.storage import WaypointSqliteSaver
from agent.storage_levers import ThreadItem

CHECKPOINT_FORMAT = (
    LATEST_VERSION  # the newest checkpoint format (`Checkpoint["v"]`) LangGraph reads
)


def is_snapshot(value: Any) -> bool:
    """Whether a stored `messages` value is a full copy of the list rather than the channel's
    usual nothing (its messages then live in the pending writes)."""
    return isinstance(value, _DeltaSnapshot)


def snapshot_value(value: Any) -> Any:
    """The list a snapshot holds (call only where `is_snapshot(value)`)."""
    return value.value


def make_snapshot(messages: Any) -> Any:
    """A snapshot of `messages`, as LangGraph stores one in `channel_values`."""
    return _DeltaSnapshot(messages)


class SkeletonRow(NamedTuple):
    """One checkpoint without its blob: enough to draw the tree and label the row's kind."""

    checkpoint_id: str
    parent_id: str | None
    metadata: Mapping[str, Any]  # as stored; {} when the stored metadata cannot be read


class StoredWrite(NamedTuple):
    """A pending write as stored: with its task path, which LangGraph replays writes by."""

    task_id: str
    task_path: str
    channel: str
    value: Any  # decoded by the saver's serializer


@dataclass(frozen=True)
class NewCheckpoint:
    """One checkpoint to store, with everything `put` and `put_writes` would be given."""

    checkpoint_ns: str
    parent_id: str | None
    checkpoint: Checkpoint  # its "id" is the checkpoint id
    metadata: CheckpointMetadata
    new_versions: ChannelVersions  # the channels it changed since its parent (what `put` gets)
    # (task_id, task_path, [(channel, value), ...]): one `put_writes` call each, in this order.
    writes: Sequence[tuple[str, str, Sequence[tuple[str, Any]]]]


class CheckpointStore(Protocol):
    """The reads and the one write the timeline and transfer need, for one database.

    Every method addresses the root namespace of one thread; an unknown thread is not an error
    (it has no checkpoints). Methods are safe to call from several threads at once.
    """

    def skeleton_rows(self, thread_id: str) -> list[SkeletonRow]:
        """Every checkpoint of the thread, newest first (by checkpoint id), without blobs."""
        ...

    def stamp(self, thread_id: str) -> Hashable:
        """A cheap value that changes whenever a checkpoint is added to or removed from the thread
        (rows are never changed in place): the timeline keeps its tree while the stamp holds."""
        ...

    def latest_id(self, thread_id: str) -> str | None:
        """The newest checkpoint id of the thread, or None when it has none."""
        ...

    def exists(self, thread_id: str, checkpoint_id: str) -> bool:
        """Whether the thread has this checkpoint."""
        ...

    def newest_of_run(self, thread_id: str, run_id: str) -> str | None:
        """The newest checkpoint whose metadata has `waypoint_run == run_id`, or None."""
        ...

    def thread_writes(self, thread_id: str) -> dict[tuple[str, str], list[StoredWrite]]:
        """Every pending write of the thread by (checkpoint_ns, checkpoint_id), each list in the
        order LangGraph replays them (`writes_sort_key`: task path, task id, index)."""
        ...

    def insert_thread(self, thread_id: str, checkpoints: Sequence[NewCheckpoint]) -> None:
        """Store these checkpoints and their writes in one transaction: all of them or, if
        anything fails, none (the error is raised). Parents come before their children. Values are
        encoded by the saver's serializer exactly as `put` and `put_writes` would."""
        ...

    def copy_branch(self, source_thread_id: str, target_thread_id: str, checkpoint_id: str) -> None:
        """Copy a checkpoint and its ancestors, with the ancestors' writes, into a thread that has
        no checkpoints yet, in one transaction, ids kept (the savers' `copy_branch`)."""
        ...


_ROOT = "thread_id = ? AND checkpoint_ns = ''"
_SKELETON_SQL = (
    f"SELECT checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints WHERE {_ROOT} "
    "ORDER BY checkpoint_id DESC"
)
_STAMP_SQL = f"SELECT COUNT(*), MAX(checkpoint_id) FROM checkpoints WHERE {_ROOT}"
_LATEST_SQL = (
    f"SELECT checkpoint_id FROM checkpoints WHERE {_ROOT} ORDER BY checkpoint_id DESC LIMIT 1"
)
_EXISTS_SQL = f"SELECT 1 FROM checkpoints WHERE {_ROOT} AND checkpoint_id = ?"
_NEWEST_OF_RUN_SQL = (
    f"SELECT checkpoint_id FROM checkpoints WHERE {_ROOT} "
    "AND json_extract(CAST(metadata AS TEXT), '$.waypoint_run') = ? "
    "ORDER BY checkpoint_id DESC LIMIT 1"
)
_WRITES_SQL = (
    "SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value "
    "FROM writes WHERE thread_id = ?"
)


def grouped_writes(
    rows: Sequence[Sequence[Any]], serde: SerializerProtocol
) -> dict[tuple[str, str], list[StoredWrite]]:
    """`thread_writes` from stored rows (checkpoint_ns, checkpoint_id, task_id, task_path, idx,
    channel, type, blob), whichever database they come from."""
    ordered = sorted(rows, key=lambda r: (r[0], r[1], writes_sort_key(r[3], r[2], r[4])))
    writes: dict[tuple[str, str], list[StoredWrite]] = {}
    for ns, checkpoint_id, task_id, task_path, _idx, channel, type_, blob in ordered:
        value = serde.loads_typed((type_, blob))
        writes.setdefault((ns, checkpoint_id), []).append(
            StoredWrite(task_id, task_path, channel, value)
        )
    return writes


def _metadata(raw: Any) -> Mapping[str, Any]:
    try:
        found = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


class StoreSql(NamedTuple):
    """One database's queries behind `CheckpointStore`, each of the root namespace of a thread
    (its id the first parameter). `writes` returns rows for `grouped_writes`."""

    skeleton: str
    stamp: str
    latest: str
    exists: str
    newest_of_run: str
    writes: str


class SqlCheckpointStore:
    """`CheckpointStore` over a saver's tables, from that database's `SQL`, `_query` and
    `_metadata`: SQLite and Postgres differ in nothing else."""

    SQL: StoreSql
    SAVER: type[BaseCheckpointSaver]  # the saver whose tables the queries read

    def __init__(self, saver: Any):
        self.saver = saver

    @classmethod
    def for_graph(cls, graph: Pregel[Any, Any, Any, Any]) -> Self:
        """The store over a compiled graph's saver: LangGraph's copy of it carries the graph's
        msgpack allowlist, so writes decode and imports encode exactly as a run does."""
        saver = graph.checkpointer
        if not isinstance(saver, cls.SAVER):
            raise TypeError(
                f"{cls.__name__} needs a graph compiled with a {cls.SAVER.__name__} "
                "(build_graph(persistence.saver))."
            )
        return cls(saver)

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        raise NotImplementedError

    def _metadata(self, stored: Any) -> Mapping[str, Any]:
        raise NotImplementedError

    def skeleton_rows(self, thread_id: str) -> list[SkeletonRow]:
        return [
            SkeletonRow(checkpoint_id, parent_id, self._metadata(stored))
            for checkpoint_id, parent_id, stored in self._query(self.SQL.skeleton, (thread_id,))
        ]

    def stamp(self, thread_id: str) -> Hashable:
        return tuple(self._query(self.SQL.stamp, (thread_id,))[0])

    def latest_id(self, thread_id: str) -> str | None:
        rows = self._query(self.SQL.latest, (thread_id,))
        return rows[0][0] if rows else None

    def exists(self, thread_id: str, checkpoint_id: str) -> bool:
        return bool(self._query(self.SQL.exists, (thread_id, checkpoint_id)))

    def newest_of_run(self, thread_id: str, run_id: str) -> str | None:
        rows = self._query(self.SQL.newest_of_run, (thread_id, run_id))
        return rows[0][0] if rows else None

    def thread_writes(self, thread_id: str) -> dict[tuple[str, str], list[StoredWrite]]:
        return grouped_writes(self._query(self.SQL.writes, (thread_id,)), self.saver.serde)

    def insert_thread(self, thread_id: str, checkpoints: Sequence[NewCheckpoint]) -> None:
        self.saver.put_thread(thread_items(thread_id, checkpoints))

    def copy_branch(self, source_thread_id: str, target_thread_id: str, checkpoint_id: str) -> None:
        self.saver.copy_branch(source_thread_id, target_thread_id, checkpoint_id)


class SqliteCheckpointStore(SqlCheckpointStore):
    """`CheckpointStore` over the tables of a `WaypointSqliteSaver` (shared connection and lock).

    >>> store = SqliteCheckpointStore.for_graph(build_graph(WaypointSqliteSaver(conn)))
    >>> store.latest_id("thread-1")
    """

    SQL = StoreSql(
        _SKELETON_SQL, _STAMP_SQL, _LATEST_SQL, _EXISTS_SQL, _NEWEST_OF_RUN_SQL, _WRITES_SQL
    )
    SAVER = WaypointSqliteSaver
    saver: WaypointSqliteSaver

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self.saver.cursor(transaction=False) as cur:
            return cur.execute(sql, params).fetchall()

    def _metadata(self, stored: Any) -> Mapping[str, Any]:
        return _metadata(stored)


def thread_items(thread_id: str, checkpoints: Sequence[NewCheckpoint]) -> list[ThreadItem]:
    """`insert_thread`'s checkpoints as the (config, checkpoint, metadata, writes by task) items a
    saver's `put_thread` takes."""
    return [
        (_config(thread_id, cp.checkpoint_ns, cp.parent_id), cp.checkpoint, cp.metadata, cp.writes)
        for cp in checkpoints
    ]


def _config(thread_id: str, ns: str, checkpoint_id: str | None) -> Any:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}
