"""Checkpoint savers on Postgres with the storage levers of Waypoint's SQLite savers.

LangGraph's `PostgresSaver` keeps a checkpoint as JSONB, its non-primitive channel values in
`checkpoint_blobs` (one row per channel version) and pending writes in `checkpoint_writes`. These
savers keep that schema, so stock tools and savers read their rows, and add the levers
`agent.storage` describes (shared through `agent.storage_levers`):

- blobs and writes are msgpack compressed with zstd and the frozen dictionary;
- channel versions are short: "45000.q2Xk-7aB" (14 characters at count 5000) instead of the
  stock 49. Not the small integers of the SQLite savers: here a blob row is keyed by (channel,
  version) and written once (`ON CONFLICT DO NOTHING`), so two branches of a fork that both reach
  version 5 would share the first one's value. The random part keeps branches apart, as the stock
  one does; the count, led by its number of digits, keeps versions ordered as strings;
- the schema loses what only costs space: the stock `thread_id` indexes, which repeat the leading
  column of each table's primary key, and the 10% of each primary key page that a split leaves
  empty (fillfactor 100: checkpoints arrive in id order, so pages fill once and stay full). With
  the versions, this is what brings a long thread under 3 bytes per raw message byte
  (`bench/cold_read.py`);
- metadata leaves out `counters_since_delta_snapshot`;
- each checkpoint row lists the channels it stores (`stored_channels`), so
  `get_delta_channel_history` follows the parent chain by id and stops at the nearest checkpoint
  holding the channel's seed, or at one whose history it already decoded, instead of scanning the
  thread's rows newest first: a page of the chain at a time on a thread it has read before, the
  thread's links and writes in two queries on one it has not;
- one recent history per thread is kept in one blob (`waypoint_histories`, `KeptHistories`), so
  a new process walks only from there.

The sync and the async saver write the same rows: either engine continues the other's threads.
Copying a thread or a branch of it, and `prune`'s extra refusal, come from `agent.storage_copy`.
The SQL of a history walk is one generator of statements that both savers run (`_run`, `_arun`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    DeltaChannelHistory,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.postgres import PostgresSaver, _ainternal, _internal
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.postgres.base import BasePostgresSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from psycopg import AsyncCursor, Cursor
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from agent.storage_copy import (
    arun,
    postgres_copy,
    postgres_refuse_delta_threads,
    prune_thread_ids,
    run,
    warm_copy,
)
from agent.storage_levers import (
    KeptHistories,
    Link,
    ThreadItem,
    _ChainWalk,
    _HistoryCache,
    _no_histories,
    ancestor_writes,
    as_links,
    cold_chain,
    id_range,
    stored_channels,
    stored_metadata,
    thread_key,
)
from agent.storage_serde import CompressedSerializer

log = logging.getLogger(__name__)

# --- what a checkpoint row stores -----------------------------------------------------------------

_UPSERT_CHECKPOINT_SQL = """
    INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,
        checkpoint, metadata, stored_channels)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
        checkpoint = EXCLUDED.checkpoint,
        metadata = EXCLUDED.metadata,
        stored_channels = EXCLUDED.stored_channels
"""
_HAS_STORED_CHANNELS_SQL = """
    SELECT 1 FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = 'checkpoints'
    AND column_name = 'stored_channels'
"""
_ADD_STORED_CHANNELS_SQL = "ALTER TABLE checkpoints ADD COLUMN IF NOT EXISTS stored_channels TEXT"
# Stock indexes on `thread_id` alone: every lookup they serve, the primary key serves too.
_REDUNDANT_INDEXES = (
    "checkpoints_thread_id_idx",
    "checkpoint_blobs_thread_id_idx",
    "checkpoint_writes_thread_id_idx",
)
_PACKED_INDEXES = ("checkpoints_pkey", "checkpoint_blobs_pkey", "checkpoint_writes_pkey")
_INDEX_OPTIONS_SQL = """
    SELECT relname, reloptions FROM pg_class
    WHERE relkind = 'i' AND relnamespace = current_schema()::regnamespace AND relname = ANY(%s)
"""


class _Rows:
    """The rows one `put` writes: blobs first, then the checkpoint that references them."""

    def __init__(
        self,
        saver: BasePostgresSaver,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        checkpoint_ns = configurable.get("checkpoint_ns", "")
        # As the stock `put` splits them: primitives stay in the JSONB, the rest become blobs, and
        # a delta snapshot leaves a `true` marker behind.
        inline = dict(checkpoint["channel_values"])
        blob_values: dict[str, Any] = {}
        for channel, value in checkpoint["channel_values"].items():
            if isinstance(value, _DeltaSnapshot):
                blob_values[channel] = inline.pop(channel)
                inline[channel] = True
            elif not (value is None or isinstance(value, (str, int, float, bool))):
                blob_values[channel] = inline.pop(channel)
        blob_versions = {
            channel: version for channel, version in new_versions.items() if channel in blob_values
        }
        self.blobs = saver._dump_blobs(thread_id, checkpoint_ns, blob_values, blob_versions)
        self.checkpoint = (
            thread_id,
            checkpoint_ns,
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            Jsonb({**checkpoint, "channel_values": inline}),
            Jsonb(stored_metadata(get_serializable_checkpoint_metadata(config, metadata))),
            stored_channels(checkpoint["channel_values"]),
        )
        self.saved: RunnableConfig = {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }


class _ShortVersions:
    """What both Postgres savers share (listed first among their bases): short channel versions.

    "45000.q2Xk-7aB": the count's number of digits, the count, a dot and 48 random bits in
    URL-safe base64. Versions starting with a digit of 1-9 compare above the zero-padded ones of
    the stock savers and of earlier Waypoint savers ("00005000.5f1c0a9e27b4"), so a thread written
    with those continues in order. Counts up to 999,999,999.
    """

    def get_next_version(self, current: str | int | None, channel: None) -> str:
        digits = str(version_count(current) + 1)
        noise = base64.urlsafe_b64encode(random.getrandbits(48).to_bytes(6, "big")).decode()
        return f"{len(digits)}{digits}.{noise}"


def version_count(version: str | int | None) -> int:
    """The count of a channel version in any format a Postgres thread may hold."""
    if version is None:
        return 0
    if isinstance(version, int):
        return version
    width = int(version[0])
    if len(version) == width + 10 and version[width + 1] == ".":  # Waypoint's, since 2026-12
        return int(version[1 : width + 1])
    return int(version.split(".")[0])  # zero-padded: stock, or Waypoint's earlier


# --- delta channel history ------------------------------------------------------------------------

# A page of the chain: from one checkpoint up its parents (never id order: forks branch), at most
# `limit - depth` of them. Bounded, so a page costs what it returns and a loop cannot run away.
# Each step is a LATERAL lookup of one primary key, kept a subquery by its LIMIT: as a join (a
# plain one, or the LATERAL pulled up into one), Postgres scanned the thread's whole index range
# per step, 18 ms for 16 steps at 5,000 checkpoints.
_CHAIN_PAGE_SQL = """
    WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, stored_channels, depth) AS (
        SELECT checkpoint_id, parent_checkpoint_id, stored_channels, %s::int FROM checkpoints
        WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s
        UNION ALL
        SELECT c.checkpoint_id, c.parent_checkpoint_id, c.stored_channels, chain.depth + 1
        FROM chain CROSS JOIN LATERAL (
            SELECT checkpoint_id, parent_checkpoint_id, stored_channels FROM checkpoints
            WHERE thread_id = %s AND checkpoint_ns = %s
                AND checkpoint_id = chain.parent_checkpoint_id
            LIMIT 1
        ) c
        WHERE chain.depth + 1 < %s
    )
    SELECT checkpoint_id, parent_checkpoint_id, stored_channels, depth FROM chain ORDER BY depth
"""
# The writes of some checkpoints: one primary key range lookup per checkpoint (a LATERAL kept a
# subquery by OFFSET 0; as `checkpoint_id = ANY(...)` Postgres filtered the thread's whole range).
_CHAIN_WRITES_SQL = """
    SELECT w.checkpoint_id, w.channel, w.task_path, w.task_id, w.idx, w.type, w.blob
    FROM unnest(%s::text[]) AS a(checkpoint_id) CROSS JOIN LATERAL (
        SELECT checkpoint_id, channel, task_path, task_id, idx, type, blob FROM checkpoint_writes
        WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = a.checkpoint_id
            AND channel = ANY(%s)
        OFFSET 0
    ) w
"""
# A thread the history cache does not know is read whole, as on SQLite: its links in one query,
# walked in Python, then the writes between the chain's lowest and highest id (compared as bytes,
# as Python compares the ids it computed the range with).
_LINKS_SQL = """
    SELECT checkpoint_id, parent_checkpoint_id, stored_channels FROM checkpoints
    WHERE thread_id = %s AND checkpoint_ns = %s
"""
# A cold walk up to a kept history first reads only the links from the oldest kept checkpoint on.
_NEWER_LINKS_SQL = _LINKS_SQL + '    AND checkpoint_id COLLATE "C" >= %s\n'
_COLD_QUERIES = {"newer_links": _NEWER_LINKS_SQL, "links": _LINKS_SQL}
_RANGE_WRITES_SQL = """
    SELECT checkpoint_id, channel, task_path, task_id, idx, type, blob FROM checkpoint_writes
    WHERE thread_id = %s AND checkpoint_ns = %s AND channel = ANY(%s)
    AND checkpoint_id COLLATE "C" BETWEEN %s AND %s
"""
# The values one checkpoint holds for some channels: inline in its JSONB, or blobs at its versions.
_SEED_SQL = """
    SELECT c.checkpoint -> 'channel_values' AS inline, (
        SELECT array_agg(array[b.channel::bytea, b.type::bytea, b.blob])
        FROM jsonb_each_text(c.checkpoint -> 'channel_versions') AS v
        JOIN checkpoint_blobs b ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
            AND b.channel = v.key AND b.version = v.value
        WHERE v.key = ANY(%s)
    ) AS blobs
    FROM checkpoints c WHERE c.thread_id = %s AND c.checkpoint_ns = %s AND c.checkpoint_id = %s
"""
# Kept histories (`KeptHistories`): one row per thread, namespace and channel.
_KEPT_TABLE_SQL = """
    CREATE TABLE IF NOT EXISTS waypoint_histories (
        thread_id TEXT NOT NULL, checkpoint_ns TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, reach INTEGER NOT NULL,
        type TEXT NOT NULL, blob BYTEA NOT NULL, PRIMARY KEY (thread_id, checkpoint_ns, channel))
"""
_KEPT_KEYS_SQL = """
    SELECT channel, checkpoint_id, parent_checkpoint_id, reach FROM waypoint_histories
    WHERE thread_id = %s AND checkpoint_ns = %s
"""
_KEPT_SQL = """
    SELECT thread_id, checkpoint_ns, channel, checkpoint_id, parent_checkpoint_id, reach, type, blob
    FROM waypoint_histories WHERE thread_id = %s AND checkpoint_ns = %s
"""
_KEEP_SQL = """
    INSERT INTO waypoint_histories (thread_id, checkpoint_ns, channel, checkpoint_id,
        parent_checkpoint_id, reach, type, blob)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (thread_id, checkpoint_ns, channel) DO UPDATE SET
        checkpoint_id = EXCLUDED.checkpoint_id,
        parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, reach = EXCLUDED.reach,
        type = EXCLUDED.type, blob = EXCLUDED.blob
"""
_FORGET_KEPT_SQL = "DELETE FROM waypoint_histories WHERE thread_id = ANY(%s)"
_LATEST_ID_SQL = """
    SELECT checkpoint_id FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s
    ORDER BY checkpoint_id DESC LIMIT 1
"""
# A cold walk up to a kept history reads its writes by checkpoint, a longer one by id range.
LOOKUPS = 1024
# A warm read stops a step or two up the chain, so pages start small and grow.
FIRST_PAGE, LAST_PAGE = 16, 1024

# Statements and their parameters out, each one's rows (tuples) back in.
_Statements = Generator[tuple[str, Sequence[Any]], list[tuple[Any, ...]], Any]


def _history_statements(
    saver: BasePostgresSaver,
    cache: _HistoryCache,
    kept: KeptHistories,
    config: RunnableConfig,
    channels: Sequence[str],
) -> _Statements:
    """The queries of one `get_delta_channel_history`, storing a kept history when one is due;
    returns the histories."""
    thread_id = str(config["configurable"]["thread_id"])
    checkpoint_ns = config["configurable"].get("checkpoint_ns", "")
    target_id = get_checkpoint_id(config)
    if not target_id:
        latest = yield _LATEST_ID_SQL, (thread_id, checkpoint_ns)
        if not latest:
            return _no_histories(channels)
        target_id = latest[0][0]
    key = thread_key(config)
    cold = not cache.knows(key)
    if cold:
        walk = yield from _walk_whole(saver, cache, kept, config, target_id, channels)
    else:
        if kept.needs_links(key, target_id):
            links = as_links((yield _LINKS_SQL, key))
            kept.complete(cache, key, links)
        walk = _ChainWalk(config, target_id, channels, cache)
        yield from _walk_up(saver, walk)
    histories = walk.history(saver.serde)
    for row in kept.due(walk, cache, saver.serde, cold=cold):
        yield _KEEP_SQL, row
    return histories


def _walk_up(saver: BasePostgresSaver, walk: _ChainWalk) -> _Statements:
    """Up the chain a page at a time, to the nearest seed or history the cache holds."""
    thread_id, checkpoint_ns = walk.key
    start, depth, page = walk.target_id, 0, FIRST_PAGE
    while True:
        chain: list[Any] = yield (
            _CHAIN_PAGE_SQL,
            (depth, thread_id, checkpoint_ns, start, thread_id, checkpoint_ns, depth + page),
        )
        ancestors = [link[0] for link in chain if link[3] > 0]
        rows = (
            (yield _CHAIN_WRITES_SQL, (ancestors, thread_id, checkpoint_ns, walk.channels))
            if ancestors
            else []
        )
        yield from _feed(saver, walk, chain, ancestor_writes(chain, rows))
        if walk.done or len(chain) < page or chain[-1][1] is None:
            return
        start, depth = chain[-1][1], chain[-1][3] + 1
        page = min(page * 4, LAST_PAGE)


def _walk_whole(
    saver: BasePostgresSaver,
    cache: _HistoryCache,
    kept: KeptHistories,
    config: RunnableConfig,
    target_id: str,
    channels: Sequence[str],
) -> _Statements:
    """A thread the cache does not know: its links and writes in two queries, from the target up
    to the nearest seed or kept history (whose one blob is read then); returns the walk."""
    key = thread_key(config)
    thread_id, checkpoint_ns = key
    plan = cold_chain(kept, key, (yield _KEPT_KEYS_SQL, key), target_id, channels)
    try:
        name, params = next(plan)
        while True:
            name, params = plan.send((yield _COLD_QUERIES[name], params))
    except StopIteration as done:
        _, stops, chain = done.value
    if chain and chain[-1][0] in stops.ids:
        kept.seed(cache, saver.serde, (yield _KEPT_SQL, key), stops)
    walk = _ChainWalk(config, target_id, channels, cache)
    rows: list[tuple[Any, ...]] = []
    if len(chain) > LOOKUPS:  # most of a thread: one scan of its range
        rows = yield (
            _RANGE_WRITES_SQL,
            (thread_id, checkpoint_ns, walk.channels, *id_range(chain)),
        )
    elif len(chain) > 1:  # up to a kept history: a lookup per checkpoint
        ancestors = [link[0] for link in chain[1:]]
        rows = yield _CHAIN_WRITES_SQL, (ancestors, thread_id, checkpoint_ns, walk.channels)
    yield from _feed(saver, walk, chain, ancestor_writes(chain, rows))
    return walk


def _feed(
    saver: BasePostgresSaver,
    walk: _ChainWalk,
    chain: Sequence[Link],
    writes: Mapping[str, Sequence[tuple[Any, ...]]],
) -> _Statements:
    """`walk.feed`, loading each seed it asks for."""
    thread_id, checkpoint_ns = walk.key
    for loading in walk.feed(chain, writes):
        seed = yield _SEED_SQL, (list(walk.open), thread_id, checkpoint_ns, loading)
        walk.seed_from({"channel_values": _seed_values(saver, seed, walk.open)})


def _seed_values(
    saver: BasePostgresSaver, rows: list[tuple[Any, ...]], channels: set[str]
) -> dict[str, Any]:
    """A checkpoint's values for `channels`; a blob wins over the inline `true` of a snapshot."""
    if not rows:
        return {}
    inline, blobs = rows[0]
    values = {channel: value for channel, value in (inline or {}).items() if channel in channels}
    values.update(saver._load_blobs(blobs))
    return values


def _setup_statements() -> _Statements:
    """What `setup` adds to the stock schema, or takes from it; each step only where needed."""
    if not (yield _HAS_STORED_CHANNELS_SQL, ()):
        log.info("adding the stored_channels column to the checkpoints table")
        yield _ADD_STORED_CHANNELS_SQL, ()
    yield _KEPT_TABLE_SQL, ()
    # Stored as it comes: the blob is zstd already, and TOAST's own compression would only try.
    yield "ALTER TABLE waypoint_histories ALTER COLUMN blob SET STORAGE EXTERNAL", ()
    indexes = yield _INDEX_OPTIONS_SQL, ([*_REDUNDANT_INDEXES, *_PACKED_INDEXES],)
    for name, options in indexes:
        if name in _REDUNDANT_INDEXES:
            log.info("dropping %s: the primary key serves the same lookups", name)
            yield f"DROP INDEX CONCURRENTLY IF EXISTS {name}", ()
        elif "fillfactor=100" not in (options or ()):
            yield f"ALTER INDEX {name} SET (fillfactor = 100)", ()


def _run(cur: Cursor[Any], statements: _Statements) -> Any:
    """Run a statement generator on a sync cursor, rows as tuples; return what it returns."""
    cur.row_factory = tuple_row
    try:
        sql, params = next(statements)
        while True:
            cur.execute(sql, params)
            sql, params = statements.send(cur.fetchall() if cur.description else [])
    except StopIteration as done:
        return done.value


async def _arun(cur: AsyncCursor[Any], statements: _Statements) -> Any:
    """Run a statement generator on an async cursor, rows as tuples; return what it returns."""
    cur.row_factory = tuple_row
    try:
        sql, params = next(statements)
        while True:
            await cur.execute(sql, params)
            sql, params = statements.send(await cur.fetchall() if cur.description else [])
    except StopIteration as done:
        return done.value


# --- savers ---------------------------------------------------------------------------------------


class WaypointPostgresSaver(_ShortVersions, PostgresSaver):
    """`PostgresSaver` that stores a conversation in linear space and rebuilds it without scanning.

    >>> from psycopg_pool import ConnectionPool
    >>> from psycopg.rows import dict_row
    >>> pool = ConnectionPool(url, kwargs={"autocommit": True, "row_factory": dict_row})
    >>> saver = WaypointPostgresSaver(pool)
    >>> saver.setup()
    >>> graph = builder.compile(checkpointer=saver)
    """

    def __init__(self, conn: _internal.Conn, *, serde: SerializerProtocol | None = None):
        super().__init__(conn, serde=serde or CompressedSerializer())
        self._histories = _HistoryCache()
        self._kept = KeptHistories()

    def setup(self) -> None:
        """Stock tables and migrations, then Waypoint's changes (`_setup_statements`)."""
        super().setup()
        with self._cursor() as cur:
            _run(cur, _setup_statements())

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        rows = _Rows(self, config, checkpoint, metadata, new_versions)
        with self._cursor(pipeline=True) as cur:
            if rows.blobs:
                cur.executemany(self.UPSERT_CHECKPOINT_BLOBS_SQL, rows.blobs)
            cur.execute(_UPSERT_CHECKPOINT_SQL, rows.checkpoint)
        return rows.saved

    def delete_thread(self, thread_id: str) -> None:
        """The thread's checkpoints, blobs and writes, in one transaction (the stock `prune`
        "delete"; the stock `delete_thread` commits its three deletes one by one)."""
        self.prune([str(thread_id)], strategy="delete")

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Every checkpoint, blob and write of the source, in every namespace, under the target
        id (which must have no checkpoints yet), in one transaction on one snapshot."""
        with self._cursor() as cur, cur.connection.transaction():
            run(cur, postgres_copy(source_thread_id, target_thread_id))

    def copy_branch(self, source_thread_id: str, target_thread_id: str, checkpoint_id: str) -> None:
        """As `WaypointSqliteSaver.copy_branch`, with the blobs the copied checkpoints name."""
        with self._cursor() as cur, cur.connection.transaction():
            ids = run(cur, postgres_copy(source_thread_id, target_thread_id, checkpoint_id))
        warm_copy(self._histories, source_thread_id, target_thread_id, ids)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """The stock `prune`; "keep_latest" also refuses the delta threads the stock check
        cannot see in Waypoint's rows (see `agent.storage_copy`)."""
        ids = prune_thread_ids(thread_ids, strategy)
        if strategy == "keep_latest" and ids:
            with self._cursor() as cur:
                run(cur, postgres_refuse_delta_threads(ids))
        super().prune(thread_ids, strategy=strategy)
        with self._cursor() as cur:
            cur.execute(_FORGET_KEPT_SQL, (ids,))

    def put_thread(self, items: Sequence[ThreadItem]) -> None:
        """`put` then `put_writes` for each (config, checkpoint, metadata, writes by task), all in
        one transaction: an import stores a whole thread or, on any error, nothing.

        Each checkpoint's blobs are written at its own versions (not only the ones it changed):
        a blob row holds the value at that version, so rewriting it is harmless.
        """
        with self._cursor() as cur, cur.connection.transaction():
            for config, checkpoint, metadata, tasks in items:
                rows = _Rows(self, config, checkpoint, metadata, checkpoint["channel_versions"])
                if rows.blobs:
                    cur.executemany(self.UPSERT_CHECKPOINT_BLOBS_SQL, rows.blobs)
                cur.execute(_UPSERT_CHECKPOINT_SQL, rows.checkpoint)
                saved = rows.saved["configurable"]
                for task_id, task_path, writes in tasks:
                    special = all(channel in WRITES_IDX_MAP for channel, _ in writes)
                    cur.executemany(
                        self.UPSERT_CHECKPOINT_WRITES_SQL
                        if special
                        else self.INSERT_CHECKPOINT_WRITES_SQL,
                        self._dump_writes(
                            saved["thread_id"],
                            saved["checkpoint_ns"],
                            saved["checkpoint_id"],
                            task_id,
                            task_path,
                            writes,
                        ),
                    )

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Same contract as the stock method; decodes only the blobs holding seeds."""
        if not channels:
            return {}
        with self._cursor() as cur:
            return _run(
                cur, _history_statements(self, self._histories, self._kept, config, channels)
            )


class AsyncWaypointPostgresSaver(_ShortVersions, AsyncPostgresSaver):
    """`AsyncPostgresSaver` writing the same rows as `WaypointPostgresSaver`.

    Create it on the event loop that will run it (the stock saver binds itself to that loop).

    >>> pool = AsyncConnectionPool(url, kwargs={"autocommit": True, "row_factory": dict_row})
    >>> saver = AsyncWaypointPostgresSaver(pool)
    >>> await saver.setup()
    """

    def __init__(self, conn: _ainternal.Conn, *, serde: SerializerProtocol | None = None):
        super().__init__(conn, serde=serde or CompressedSerializer())
        self._histories = _HistoryCache()
        self._kept = KeptHistories()

    async def setup(self) -> None:
        """Stock tables and migrations, then Waypoint's changes (`_setup_statements`)."""
        await super().setup()
        async with self._cursor() as cur:
            await _arun(cur, _setup_statements())

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        # Serialising and compressing are CPU work: off the loop, as the stock saver does.
        rows = await asyncio.to_thread(_Rows, self, config, checkpoint, metadata, new_versions)
        async with self._cursor(pipeline=True) as cur:
            if rows.blobs:
                await cur.executemany(self.UPSERT_CHECKPOINT_BLOBS_SQL, rows.blobs)
            await cur.execute(_UPSERT_CHECKPOINT_SQL, rows.checkpoint)
        return rows.saved

    async def adelete_thread(self, thread_id: str) -> None:
        """As `WaypointPostgresSaver.delete_thread`: one transaction."""
        await self.aprune([str(thread_id)], strategy="delete")

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """As `WaypointPostgresSaver.copy_thread`."""
        async with self._cursor() as cur, cur.connection.transaction():
            await arun(cur, postgres_copy(source_thread_id, target_thread_id))

    async def acopy_branch(
        self, source_thread_id: str, target_thread_id: str, checkpoint_id: str
    ) -> None:
        """As `WaypointPostgresSaver.copy_branch`."""
        async with self._cursor() as cur, cur.connection.transaction():
            ids = await arun(cur, postgres_copy(source_thread_id, target_thread_id, checkpoint_id))
        warm_copy(self._histories, source_thread_id, target_thread_id, ids)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """As `WaypointPostgresSaver.prune`."""
        ids = prune_thread_ids(thread_ids, strategy)
        if strategy == "keep_latest" and ids:
            async with self._cursor() as cur:
                await arun(cur, postgres_refuse_delta_threads(ids))
        await super().aprune(thread_ids, strategy=strategy)
        async with self._cursor() as cur:
            await cur.execute(_FORGET_KEPT_SQL, (ids,))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Same contract as the stock method; decodes only the blobs holding seeds."""
        if not channels:
            return {}
        async with self._cursor() as cur:
            return await _arun(
                cur, _history_statements(self, self._histories, self._kept, config, channels)
            )
