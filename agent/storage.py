"""Checkpoint savers that store a conversation in space linear in its length.

`agent.message_log` stores each step's new messages instead of the whole list, but LangGraph's
SQLite savers still spend several times the messages' own bytes on every checkpoint. These savers
are the stock ones with what `bench/storage.py` measured to pay:

- Channel versions are small integers, not 50-character strings (`get_next_version`); a thread
  written with string versions keeps them.
- Blobs are msgpack compressed with zstd and a fixed dictionary of the framing LangChain messages
  and checkpoints repeat (`CompressedSerializer`, strict msgpack allowlist kept).
- Metadata leaves out `counters_since_delta_snapshot`, the counters behind scheduled delta
  snapshots. Without them LangGraph snapshots a delta channel only where correctness needs it (a
  new thread, a fork, an `Overwrite`), instead of copying the whole conversation every 5000 steps.
- Each checkpoint row lists the channels its blob stores (`stored_channels`), so rebuilding a
  delta channel follows the parent chain by id and decodes only the checkpoint holding its seed,
  not every ancestor (`get_delta_channel_history`), and remembers what it decoded: rereading a
  thread, or its earlier checkpoints, decodes only what is new. A thread read for the first time
  is read whole (its links in one scan, walked in Python; its writes in another), which is what
  a new process pays on its first read; a thread read before walks up a step at a time to what
  it remembers. The messages read back are shared between reads, so they must not be changed in
  place (copy them: `model_copy(update=...)`).
- One recent history per thread is also kept in the database, in one blob (`waypoint_histories`,
  `KeptHistories`): a new process starts its walk there instead of decoding the whole thread.

Both savers write the same rows, so the sync and the async engine share one database file.
The levers themselves live in `agent.storage_levers`, shared with the Postgres savers; copying and
deleting whole threads (`copy_thread`, `copy_branch`, `prune`) in `agent.storage_copy`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiosqlite
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    DeltaChannelHistory,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.storage_copy import (
    arun,
    prune_thread_ids,
    run,
    sqlite_copy,
    sqlite_delete,
    sqlite_keep_latest,
    warm_copy,
)
from agent.storage_levers import (
    HISTORY_THREADS,
    KeptHistories,
    KeptRow,
    Link,
    ThreadItem,
    _ChainWalk,
    _checkpoint_id_of,
    _HistoryCache,
    _no_histories,
    _WaypointSaver,
    ancestor_writes,
    as_links,
    cold_chain,
    id_range,
    run_cold,
    stored_channels,
    stored_metadata,
    thread_key,
)
from agent.storage_serde import ZSTD_DICTIONARY, CompressedSerializer

log = logging.getLogger(__name__)

__all__ = [
    "HISTORY_THREADS",
    "ZSTD_DICTIONARY",
    "AsyncWaypointSqliteSaver",
    "CompressedSerializer",
    "WaypointSqliteSaver",
]

# --- what a checkpoint row stores -----------------------------------------------------------------

_PUT_CHECKPOINT_SQL = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
    "parent_checkpoint_id, type, checkpoint, metadata, stored_channels) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# As `SqliteSaver.put_writes` writes them (it keeps no constant of its own).
_PUT_WRITES_SQL = (
    "INSERT OR {conflict} INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
    "task_path, idx, channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ADD_STORED_CHANNELS_SQL = "ALTER TABLE checkpoints ADD COLUMN stored_channels TEXT"
_TABLE_COLUMNS_SQL = "SELECT name FROM pragma_table_info('checkpoints')"
# Kept histories (`KeptHistories`): one row per thread, namespace and channel.
_KEPT_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS waypoint_histories (thread_id TEXT NOT NULL, "
    "checkpoint_ns TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL, checkpoint_id TEXT NOT NULL, "
    "parent_checkpoint_id TEXT, reach INTEGER NOT NULL, type TEXT NOT NULL, blob BLOB NOT NULL, "
    "PRIMARY KEY (thread_id, checkpoint_ns, channel))"
)
_HAS_KEPT_TABLE_SQL = (
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'waypoint_histories'"
)
_KEPT_KEYS_SQL = (
    "SELECT channel, checkpoint_id, parent_checkpoint_id, reach FROM waypoint_histories "
    "WHERE thread_id = ? AND checkpoint_ns = ?"
)
_KEPT_SQL = (
    "SELECT thread_id, checkpoint_ns, channel, checkpoint_id, parent_checkpoint_id, reach, type, blob "
    "FROM waypoint_histories WHERE thread_id = ? AND checkpoint_ns = ?"
)
_KEEP_SQL = (
    "INSERT OR REPLACE INTO waypoint_histories (thread_id, checkpoint_ns, channel, checkpoint_id, "
    "parent_checkpoint_id, reach, type, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _checkpoint_row(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
) -> tuple[Any, ...]:
    configurable = config["configurable"]
    type_, blob = serde.dumps_typed(checkpoint)
    return (
        str(configurable["thread_id"]),
        configurable.get("checkpoint_ns", ""),
        checkpoint["id"],
        configurable.get("checkpoint_id"),
        type_,
        blob,
        json.dumps(
            stored_metadata(get_checkpoint_metadata(config, metadata)),
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8", "ignore"),
        stored_channels(checkpoint["channel_values"]),
    )


def _saved_config(config: RunnableConfig, checkpoint: Checkpoint) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": config["configurable"]["thread_id"],
            "checkpoint_ns": config["configurable"].get("checkpoint_ns", ""),
            "checkpoint_id": checkpoint["id"],
        }
    }


# --- delta channel history ------------------------------------------------------------------------


# The target, then its ancestors nearest first, following parent ids (never id order: forks
# branch), each with its writes to the requested channels (the target's own writes excluded).
# `CROSS JOIN` keeps the chain as the outer loop, one primary key lookup per step; rows come out
# lazily, so a reader that stops early ends the walk.
_CHAIN_SQL = (
    "WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, stored_channels, depth) AS ("
    "SELECT checkpoint_id, parent_checkpoint_id, stored_channels, 0 FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? "
    "UNION ALL "
    "SELECT c.checkpoint_id, c.parent_checkpoint_id, c.stored_channels, chain.depth + 1 "
    "FROM chain CROSS JOIN checkpoints c ON c.thread_id = ? AND c.checkpoint_ns = ? "
    "AND c.checkpoint_id = chain.parent_checkpoint_id) "
    "SELECT chain.checkpoint_id, chain.parent_checkpoint_id, chain.stored_channels, chain.depth, "
    "w.channel, w.task_path, w.task_id, w.idx, w.type, w.value "
    "FROM chain LEFT JOIN writes w ON chain.depth > 0 AND w.thread_id = ? "
    "AND w.checkpoint_ns = ? AND w.checkpoint_id = chain.checkpoint_id AND w.channel IN "
)
_CHECKPOINT_BLOB_SQL = (
    "SELECT type, checkpoint FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?"
)


# A thread the history cache does not know is read whole: its links in one scan, walked in Python,
# then its writes between the chain's lowest and highest id in another; at 5,000 checkpoints
# this is about twice as fast as the recursive query, which looks each step up on its own.
_LINKS_SQL = (
    "SELECT checkpoint_id, parent_checkpoint_id, stored_channels FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = ?"
)
# A cold walk up to a kept history first reads only the links from the oldest kept checkpoint on.
_NEWER_LINKS_SQL = _LINKS_SQL + " AND checkpoint_id >= ?"
_COLD_QUERIES = {"newer_links": _NEWER_LINKS_SQL, "links": _LINKS_SQL}
_RANGE_WRITES_SQL = (
    "SELECT checkpoint_id, channel, task_path, task_id, idx, type, value FROM writes "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id BETWEEN ? AND ? AND channel IN "
)


def _range_writes_query(walk: _ChainWalk, chain: Sequence[Link]) -> tuple[str, tuple[Any, ...]]:
    placeholders = f"({', '.join('?' * len(walk.channels))})"
    return _RANGE_WRITES_SQL + placeholders, (*walk.key, *id_range(chain), *walk.channels)


def _chain_query(walk: _ChainWalk) -> tuple[str, tuple[Any, ...]]:
    placeholders = f"({', '.join('?' * len(walk.channels))})"
    return _CHAIN_SQL + placeholders, (
        *walk.key,
        walk.target_id,
        *walk.key,
        *walk.key,
        *walk.channels,
    )


# --- savers ---------------------------------------------------------------------------------------


def _column_present_or_read_only(error: sqlite3.OperationalError) -> bool:
    """Whether adding `stored_channels` or the kept histories' table failed harmlessly: an older
    run added it, or the file is read-only (then `setup` finds out whether it is there)."""
    return "duplicate column name" in str(error) or "readonly" in str(error)


def _keep_failed(error: sqlite3.Error) -> None:
    """A kept history is a cache: a file that cannot take it (read-only, locked) loses nothing."""
    log.debug("kept history not stored: %s", error)


# Both savers keep small int versions besides LangGraph's str ones: an override mypy cannot match.
class WaypointSqliteSaver(_WaypointSaver, SqliteSaver):  # type: ignore[misc]
    """`SqliteSaver` that stores a conversation in linear space and rebuilds it without scanning.

    >>> import sqlite3
    >>> conn = sqlite3.connect("waypoint.sqlite", check_same_thread=False)
    >>> graph = builder.compile(checkpointer=WaypointSqliteSaver(conn))
    """

    _has_stored_channels = False  # set by `setup`
    _has_kept_histories = False

    def __init__(self, conn: sqlite3.Connection, *, serde: SerializerProtocol | None = None):
        super().__init__(conn, serde=serde or CompressedSerializer())
        self._histories = _HistoryCache()
        self._kept = KeptHistories()

    def setup(self) -> None:
        """Stock tables, plus the `stored_channels` column and the kept histories' table (runs
        under the saver's lock)."""
        if self.is_setup:
            return
        super().setup()
        for sql in (_ADD_STORED_CHANNELS_SQL, _KEPT_TABLE_SQL):
            try:
                self.conn.execute(sql)
            except sqlite3.OperationalError as error:
                if not _column_present_or_read_only(error):
                    raise
        columns = {row[0] for row in self.conn.execute(_TABLE_COLUMNS_SQL)}
        self._has_stored_channels = "stored_channels" in columns
        self._has_kept_histories = bool(self.conn.execute(_HAS_KEPT_TABLE_SQL).fetchall())

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        row = _checkpoint_row(self.serde, config, checkpoint, metadata)
        with self.cursor() as cur:
            cur.execute(_PUT_CHECKPOINT_SQL, row)
        return _saved_config(config, checkpoint)

    def put_thread(self, items: Sequence[ThreadItem]) -> None:
        """`put` then `put_writes` for each (config, checkpoint, metadata, writes by task), all in
        one transaction: an import stores a whole thread or, on any error, nothing."""
        with self._transaction() as cur:
            for config, checkpoint, metadata, tasks in items:
                cur.execute(
                    _PUT_CHECKPOINT_SQL,
                    _checkpoint_row(self.serde, config, checkpoint, metadata),
                )
                saved = _saved_config(config, checkpoint)["configurable"]
                for task_id, task_path, writes in tasks:
                    cur.executemany(*self._writes_rows(saved, task_id, task_path, writes))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """A cursor inside one write transaction: committed at the end, rolled back on error."""
        with self.cursor(transaction=False) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    # --- whole threads (`agent.storage_copy`) ----------------------------------------------------

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Every checkpoint and write of the source, in every namespace, under the target id
        (which must have no checkpoints yet), in one transaction. Ids stay as they are."""
        with self._transaction() as cur:
            run(cur, sqlite_copy(source_thread_id, target_thread_id))

    def copy_branch(self, source_thread_id: str, target_thread_id: str, checkpoint_id: str) -> None:
        """`checkpoint_id` (root namespace) and its ancestors, with the ancestors' writes, under
        the target id, in one transaction: the target's history is the path to that checkpoint,
        and it continues from there as the source did when the checkpoint was new."""
        with self._transaction() as cur:
            ids = run(cur, sqlite_copy(source_thread_id, target_thread_id, checkpoint_id))
        warm_copy(self._histories, source_thread_id, target_thread_id, ids)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Strategy "delete": every checkpoint and write of the threads, in one transaction.
        "keep_latest": each namespace keeps its latest checkpoint and that checkpoint's writes;
        refused (NotImplementedError, nothing pruned) for threads that use a DeltaChannel, as
        every Waypoint thread does (see `agent.storage_copy`)."""
        ids = prune_thread_ids(thread_ids, strategy)
        if not ids:
            return
        with self._transaction() as cur:
            if strategy == "delete":
                run(cur, sqlite_delete(ids))
            else:
                run(cur, sqlite_keep_latest(ids, self.serde.loads_typed))

    def delete_thread(self, thread_id: str) -> None:
        """The thread's checkpoints and writes, in one transaction (`prune`, "delete")."""
        self.prune([str(thread_id)], strategy="delete")

    def _writes_rows(
        self,
        configurable: Mapping[str, Any],
        task_id: str,
        task_path: str,
        writes: Sequence[tuple[str, Any]],
    ) -> tuple[str, list[tuple[Any, ...]]]:
        """The statement and rows `SqliteSaver.put_writes` would execute for these writes."""
        special = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        rows = [
            (
                str(configurable["thread_id"]),
                str(configurable["checkpoint_ns"]),
                str(configurable["checkpoint_id"]),
                task_id,
                task_path,
                WRITES_IDX_MAP.get(channel, idx),
                channel,
                *self.serde.dumps_typed(value),
            )
            for idx, (channel, value) in enumerate(writes)
        ]
        return _PUT_WRITES_SQL.format(conflict="REPLACE" if special else "IGNORE"), rows

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Same contract as the stock method; decodes only the blobs holding seeds."""
        if not channels:
            return {}
        with self.lock:
            self.setup()
        if not self._has_stored_channels:
            return super().get_delta_channel_history(config=config, channels=channels)
        target_id = get_checkpoint_id(config) or _checkpoint_id_of(self.get_tuple(config))
        if target_id is None:
            return _no_histories(channels)
        key = thread_key(config)
        cold = not self._histories.knows(key)
        with self.cursor(transaction=False) as cur:
            if cold:
                walk = self._walk_whole(cur, config, target_id, channels)
            else:
                if self._kept.needs_links(key, target_id):
                    links = as_links(cur.execute(_LINKS_SQL, key))
                    self._kept.complete(self._histories, key, links)
                walk = _ChainWalk(config, target_id, channels, self._histories)
                self._walk_up(cur, walk)
        histories = walk.history(self.serde)
        if self._has_kept_histories and (
            rows := self._kept.due(walk, self._histories, self.serde, cold=cold)
        ):
            self._keep(rows)
        return histories

    def _keep(self, rows: list[KeptRow]) -> None:
        try:
            with self.cursor() as cur:
                cur.executemany(_KEEP_SQL, rows)
        except sqlite3.Error as error:
            _keep_failed(error)

    def _walk_up(self, cur: sqlite3.Cursor, walk: _ChainWalk) -> None:
        """Up the chain a step at a time, to the nearest seed or history the cache holds."""
        for row in cur.execute(*_chain_query(walk)):
            step = walk.step(row)
            if step == "stop":
                return
            if step == "load":
                self._seed(walk, walk.loading_id)
            walk.take(row)

    def _walk_whole(
        self, cur: sqlite3.Cursor, config: RunnableConfig, target_id: str, channels: Sequence[str]
    ) -> _ChainWalk:
        """A thread the cache does not know: its links and writes in two scans, from the target
        up to the nearest seed or kept history (whose one blob is read then)."""
        key = thread_key(config)
        kept = cur.execute(_KEPT_KEYS_SQL, key).fetchall() if self._has_kept_histories else []
        plan = cold_chain(self._kept, key, kept, target_id, channels)
        _, stops, chain = run_cold(
            plan, lambda name, params: cur.execute(_COLD_QUERIES[name], params).fetchall()
        )
        if chain and chain[-1][0] in stops.ids:
            self._kept.seed(self._histories, self.serde, cur.execute(_KEPT_SQL, key), stops)
        walk = _ChainWalk(config, target_id, channels, self._histories)
        rows = cur.execute(*_range_writes_query(walk, chain)) if len(chain) > 1 else ()
        for loading in walk.feed(chain, ancestor_writes(chain, rows)):
            self._seed(walk, loading)
        return walk

    def _seed(self, walk: _ChainWalk, checkpoint_id: str) -> None:
        blob = self.conn.execute(_CHECKPOINT_BLOB_SQL, (*walk.key, checkpoint_id))
        walk.seed_from(self.serde.loads_typed(blob.fetchone()))


class AsyncWaypointSqliteSaver(_WaypointSaver, AsyncSqliteSaver):  # type: ignore[misc]
    """`AsyncSqliteSaver` writing the same rows as `WaypointSqliteSaver`.

    >>> conn = await aiosqlite.connect("waypoint.sqlite")
    >>> graph = builder.compile(checkpointer=AsyncWaypointSqliteSaver(conn))
    """

    _has_stored_channels = False  # set by `setup`

    _has_kept_histories = False

    def __init__(self, conn: aiosqlite.Connection, *, serde: SerializerProtocol | None = None):
        super().__init__(conn, serde=serde or CompressedSerializer())
        self._histories = _HistoryCache()
        self._kept = KeptHistories()
        self._columns_checked = False

    async def setup(self) -> None:
        """Stock tables, plus the `stored_channels` column and the kept histories' table."""
        if self._columns_checked:
            return
        await super().setup()
        async with self.lock:
            if self._columns_checked:
                return
            for sql in (_ADD_STORED_CHANNELS_SQL, _KEPT_TABLE_SQL):
                try:
                    await self.conn.execute(sql)
                    await self.conn.commit()
                except sqlite3.OperationalError as error:
                    if not _column_present_or_read_only(error):
                        raise
            async with self.conn.execute(_TABLE_COLUMNS_SQL) as cur:
                columns = {row[0] for row in await cur.fetchall()}
            async with self.conn.execute(_HAS_KEPT_TABLE_SQL) as cur:
                self._has_kept_histories = bool(await cur.fetchall())
            self._has_stored_channels = "stored_channels" in columns
            self._columns_checked = True

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        await self.setup()
        row = _checkpoint_row(self.serde, config, checkpoint, metadata)
        async with self.lock, self.conn.execute(_PUT_CHECKPOINT_SQL, row):
            await self.conn.commit()
        return _saved_config(config, checkpoint)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Cursor]:
        """`WaypointSqliteSaver._transaction` on the async connection."""
        await self.setup()
        async with self.lock, self.conn.cursor() as cur:
            await cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                await self.conn.rollback()
                raise
            await self.conn.commit()

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """As `WaypointSqliteSaver.copy_thread`."""
        async with self._transaction() as cur:
            await arun(cur, sqlite_copy(source_thread_id, target_thread_id))

    async def acopy_branch(
        self, source_thread_id: str, target_thread_id: str, checkpoint_id: str
    ) -> None:
        """As `WaypointSqliteSaver.copy_branch`."""
        async with self._transaction() as cur:
            ids = await arun(cur, sqlite_copy(source_thread_id, target_thread_id, checkpoint_id))
        warm_copy(self._histories, source_thread_id, target_thread_id, ids)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """As `WaypointSqliteSaver.prune`."""
        ids = prune_thread_ids(thread_ids, strategy)
        if not ids:
            return
        async with self._transaction() as cur:
            if strategy == "delete":
                await arun(cur, sqlite_delete(ids))
            else:
                await arun(cur, sqlite_keep_latest(ids, self.serde.loads_typed))

    async def adelete_thread(self, thread_id: str) -> None:
        """As `WaypointSqliteSaver.delete_thread`: one transaction."""
        await self.aprune([str(thread_id)], strategy="delete")

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Same contract as the stock method; decodes only the blobs holding seeds."""
        if not channels:
            return {}
        await self.setup()
        if not self._has_stored_channels:
            return await super().aget_delta_channel_history(config=config, channels=channels)
        target_id = get_checkpoint_id(config) or _checkpoint_id_of(await self.aget_tuple(config))
        if target_id is None:
            return _no_histories(channels)
        key = thread_key(config)
        cold = not self._histories.knows(key)
        async with self.lock:
            if cold:
                walk = await self._walk_whole(config, target_id, channels)
            else:
                if self._kept.needs_links(key, target_id):
                    async with self.conn.execute(_LINKS_SQL, key) as cur:
                        links = as_links(await cur.fetchall())
                    self._kept.complete(self._histories, key, links)
                walk = _ChainWalk(config, target_id, channels, self._histories)
                await self._walk_up(walk)
        histories = walk.history(self.serde)
        if self._has_kept_histories and (
            rows := self._kept.due(walk, self._histories, self.serde, cold=cold)
        ):
            await self._keep(rows)
        return histories

    async def _keep(self, rows: list[KeptRow]) -> None:
        try:
            async with self.lock:
                await self.conn.executemany(_KEEP_SQL, rows)
                await self.conn.commit()
        except sqlite3.Error as error:
            _keep_failed(error)

    async def _walk_up(self, walk: _ChainWalk) -> None:
        """As `WaypointSqliteSaver._walk_up`."""
        async with self.conn.execute(*_chain_query(walk)) as cur:
            async for row in cur:
                step = walk.step(row)
                if step == "stop":
                    return
                if step == "load":
                    await self._seed(walk, walk.loading_id)
                walk.take(row)

    async def _walk_whole(
        self, config: RunnableConfig, target_id: str, channels: Sequence[str]
    ) -> _ChainWalk:
        """As `WaypointSqliteSaver._walk_whole`."""
        key = thread_key(config)
        kept: list[Any] = []
        if self._has_kept_histories:
            async with self.conn.execute(_KEPT_KEYS_SQL, key) as cur:
                kept = list(await cur.fetchall())
        plan = cold_chain(self._kept, key, kept, target_id, channels)
        try:
            name, params = next(plan)
            while True:
                async with self.conn.execute(_COLD_QUERIES[name], params) as cur:
                    found = list(await cur.fetchall())
                name, params = plan.send(found)
        except StopIteration as done:
            _, stops, chain = done.value
        if chain and chain[-1][0] in stops.ids:
            async with self.conn.execute(_KEPT_SQL, key) as cur:
                self._kept.seed(self._histories, self.serde, await cur.fetchall(), stops)
        walk = _ChainWalk(config, target_id, channels, self._histories)
        rows: list[Any] = []
        if len(chain) > 1:
            async with self.conn.execute(*_range_writes_query(walk, chain)) as cur:
                rows = list(await cur.fetchall())
        for loading in walk.feed(chain, ancestor_writes(chain, rows)):
            await self._seed(walk, loading)
        return walk

    async def _seed(self, walk: _ChainWalk, checkpoint_id: str) -> None:
        async with self.conn.execute(_CHECKPOINT_BLOB_SQL, (*walk.key, checkpoint_id)) as blob:
            row = await blob.fetchone()
        assert row is not None  # the walk only loads checkpoints it listed
        walk.seed_from(self.serde.loads_typed((row[0], row[1])))
