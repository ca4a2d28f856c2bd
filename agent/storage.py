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
  not every ancestor (`get_delta_channel_history`).

Both savers write the same rows, so the sync and the async engine share one database file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite
import ormsgpack
import zstandard
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    DeltaChannelHistory,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import EXT_PYDANTIC_V2, JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

# --- serializer ------------------------------------------------------------------------------------


def _message_framing(module: str, name: str, fields: dict[str, Any]) -> ormsgpack.Ext:
    """A LangChain message as `JsonPlusSerializer` frames it, with empty content."""
    return ormsgpack.Ext(
        EXT_PYDANTIC_V2, ormsgpack.packb([module, name, fields, "model_validate_json"])
    )


_BASE_FIELDS = {"content": "", "additional_kwargs": {}, "response_metadata": {}}
_TOOL_CALL = {"name": "", "args": {"query": ""}, "id": "call_", "type": "tool_call"}
_USAGE = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}

# What zstd may copy from instead of storing again in every blob. Frozen: changing a byte makes
# every stored "mpz1" blob unreadable, so a new dictionary needs a new type tag
# (tests/test_storage.py pins its digest).
_DICTIONARY_SAMPLE = [
    {
        "v": 4,
        "ts": "2026-01-01T00:00:00.000000+00:00",
        "id": "1f000000-0000-6000-8000-000000000000",
        "channel_values": {"__start__": {"messages": []}, "branch:to:llm": None},
        "channel_versions": {"__start__": 1, "messages": 1, "branch:to:llm": 1,
                             "branch:to:action": 1},
        "versions_seen": {"__input__": {}, "__start__": {"__start__": 1},
                          "llm": {"branch:to:llm": 1}, "action": {"branch:to:action": 1}},
        "updated_channels": ["branch:to:action", "branch:to:llm", "messages"],
    },
    [_message_framing("langchain_core.messages.human", "HumanMessage",
                      {**_BASE_FIELDS, "type": "human", "name": None, "id": ""})],
    [_message_framing("langchain_core.messages.system", "SystemMessage",
                      {**_BASE_FIELDS, "type": "system", "name": None, "id": ""})],
    [_message_framing("langchain_core.messages.tool", "ToolMessage",
                      {**_BASE_FIELDS, "type": "tool", "name": "", "id": "", "tool_call_id": "call_",
                       "artifact": None, "status": "success"})],
    [_message_framing("langchain_core.messages.ai", "AIMessage",
                      {**_BASE_FIELDS, "response_metadata": {"finish_reason": "stop",
                                                             "model_name": ""},
                       "type": "ai", "name": None, "id": "run-", "tool_calls": [_TOOL_CALL],
                       "invalid_tool_calls": [], "usage_metadata": _USAGE})],
]
ZSTD_DICTIONARY = ormsgpack.packb(_DICTIONARY_SAMPLE)


class CompressedSerializer(JsonPlusSerializer):
    """`JsonPlusSerializer` whose msgpack blobs are zstd-compressed when that makes them smaller.

    It subclasses rather than wraps, so LangGraph can still extend its strict msgpack allowlist
    (`with_msgpack_allowlist`). Blobs of other types ("null", "bytes", small msgpack) are stored
    as the stock serializer writes them, and stock blobs read back unchanged.
    """

    TYPE = "mpz1"  # msgpack + zstd with ZSTD_DICTIONARY version 1; stored on every row: keep short
    MIN_SIZE = 48  # below this a zstd frame's own header eats the gain
    LEVEL = 3

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._dictionary = zstandard.ZstdCompressionDict(
            ZSTD_DICTIONARY, dict_type=zstandard.DICT_TYPE_RAWCONTENT
        )
        # zstd contexts are not thread-safe, and LangGraph saves from background threads.
        self._local = threading.local()

    def _contexts(self) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
        contexts = getattr(self._local, "contexts", None)
        if contexts is None:
            contexts = self._local.contexts = (
                zstandard.ZstdCompressor(
                    level=self.LEVEL, dict_data=self._dictionary, write_dict_id=False
                ),
                zstandard.ZstdDecompressor(dict_data=self._dictionary),
            )
        return contexts

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data = super().dumps_typed(obj)
        if type_ == "msgpack" and len(data) >= self.MIN_SIZE:
            compressed = self._contexts()[0].compress(data)
            if len(compressed) < len(data):
                return self.TYPE, compressed
        return type_, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, payload = data
        if type_ == self.TYPE:
            return super().loads_typed(("msgpack", self._contexts()[1].decompress(payload)))
        return super().loads_typed(data)


# --- what a checkpoint row stores --------------------------------------------------------------------

# Bookkeeping for scheduled snapshots, which copy the whole conversation (see the module docstring).
_UNSTORED_METADATA = ("counters_since_delta_snapshot",)

_PUT_CHECKPOINT_SQL = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
    "parent_checkpoint_id, type, checkpoint, metadata, stored_channels) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_ADD_STORED_CHANNELS_SQL = "ALTER TABLE checkpoints ADD COLUMN stored_channels TEXT"
_TABLE_COLUMNS_SQL = "SELECT name FROM pragma_table_info('checkpoints')"


def _checkpoint_row(
    serde: SerializerProtocol,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
) -> tuple[Any, ...]:
    configurable = config["configurable"]
    type_, blob = serde.dumps_typed(checkpoint)
    stored_metadata = {
        key: value
        for key, value in get_checkpoint_metadata(config, metadata).items()
        if key not in _UNSTORED_METADATA
    }
    return (
        str(configurable["thread_id"]),
        configurable["checkpoint_ns"],
        checkpoint["id"],
        configurable.get("checkpoint_id"),
        type_,
        blob,
        json.dumps(stored_metadata, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "ignore"
        ),
        json.dumps(sorted(checkpoint["channel_values"]), separators=(",", ":")),
    )


def _saved_config(config: RunnableConfig, checkpoint: Checkpoint) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": config["configurable"]["thread_id"],
            "checkpoint_ns": config["configurable"]["checkpoint_ns"],
            "checkpoint_id": checkpoint["id"],
        }
    }


def _next_int_version(current: int | None) -> int:
    return 1 if current is None else current + 1


# --- delta channel history ---------------------------------------------------------------------------

# The target, then its ancestors nearest first, following parent ids (never id order: forks
# branch), at most `depth` steps up. `CROSS JOIN` keeps the chain as the outer loop: one primary
# key lookup per step. Rows come out lazily, so a reader that stops early ends the walk.
_CHAIN_CTE = (
    "WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id, stored_channels, depth) AS ("
    "SELECT checkpoint_id, parent_checkpoint_id, stored_channels, 0 FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? "
    "UNION ALL "
    "SELECT c.checkpoint_id, c.parent_checkpoint_id, c.stored_channels, chain.depth + 1 "
    "FROM chain CROSS JOIN checkpoints c ON c.thread_id = ? AND c.checkpoint_ns = ? "
    "AND c.checkpoint_id = chain.parent_checkpoint_id WHERE chain.depth < ?) "
)
_ANCESTORS_SQL = (
    _CHAIN_CTE + "SELECT checkpoint_id, parent_checkpoint_id, stored_channels, depth FROM chain"
)
_CHANNEL_WRITES_SQL = (
    _CHAIN_CTE + "SELECT chain.depth, w.task_path, w.task_id, w.idx, w.type, w.value "
    "FROM chain CROSS JOIN writes w ON w.thread_id = ? AND w.checkpoint_ns = ? "
    "AND w.checkpoint_id = chain.checkpoint_id WHERE chain.depth > 0 AND w.channel = ?"
)
_CHECKPOINT_BLOB_SQL = (
    "SELECT type, checkpoint FROM checkpoints "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?"
)
_UNBOUNDED = 2**62

# (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, channel)
_HistoryKey = tuple[str, str, str, "str | None", str]


class _HistoryCache:
    """Recently rebuilt histories, so the next read walks only to the last checkpoint it knows.

    A checkpoint's history never changes: the writes of its ancestors are final once it exists
    (LangGraph snapshots a branch instead of adding writes to a checkpoint that has children).
    The decoded messages are shared between reads: treat state read back as immutable.
    """

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._entries: OrderedDict[_HistoryKey, DeltaChannelHistory] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _HistoryKey) -> DeltaChannelHistory | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: _HistoryKey, entry: DeltaChannelHistory) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


class _ChainWalk:
    """Rebuilds `get_delta_channel_history` from the parent chain, reading as little as it can.

    The contract is `BaseCheckpointSaver.get_delta_channel_history`: a channel's history is the
    writes stored on the target's ancestors, nearest first, up to and including the nearest one
    that stores the channel's value (its seed), or up to the root. Each channel's walk stops at a
    seed, or at an ancestor whose own history is cached (its history plus its writes continue it).
    The savers feed it rows and do the I/O: `visit` each ancestor row, and when it answers "load",
    pass that checkpoint decoded to `seed_from`; then `history` with each channel's writes.
    """

    def __init__(
        self, config: RunnableConfig, target_id: str, channels: Sequence[str], cache: _HistoryCache
    ) -> None:
        self.key = (str(config["configurable"]["thread_id"]),
                    config["configurable"].get("checkpoint_ns", ""))
        self.target_id = target_id
        self.channels = list(channels)
        self.cache = cache
        self.open = set(channels)
        self.depths = dict.fromkeys(channels, 0)
        self.seeds: dict[str, Any] = {}
        self.bases: dict[str, DeltaChannelHistory] = {}
        self.target_parent: str | None = None
        self.target_found = False
        self._row: tuple[str, str | None] = (target_id, None)
        self._seen = {target_id}

    def ancestors_params(self) -> tuple[Any, ...]:
        return (*self.key, self.target_id, *self.key, _UNBOUNDED)

    def writes_params(self, channel: str) -> tuple[Any, ...]:
        return (*self.key, self.target_id, *self.key, self.depths[channel], *self.key, channel)

    def blob_params(self) -> tuple[Any, ...]:
        return (*self.key, self._row[0])

    def visit(
        self, checkpoint_id: str, parent_id: str | None, stored_channels: str | None, depth: int
    ) -> str:
        """"next", "stop" (every channel done, or the chain loops), or "load"."""
        self._row = (checkpoint_id, parent_id)
        if depth == 0:
            self.target_found, self.target_parent = True, parent_id
            return self._take_cached()
        if checkpoint_id in self._seen:
            return "stop"
        self._seen.add(checkpoint_id)
        for channel in self.open:
            self.depths[channel] = depth
        # Rows from stock savers list nothing: only their decoded blob tells.
        if stored_channels is None or not self.open.isdisjoint(json.loads(stored_channels)):
            return "load"
        return self._take_cached()

    def seed_from(self, checkpoint: Mapping[str, Any]) -> str:
        """Take the seeds the checkpoint of the last "load" stores; "next" or "stop"."""
        values = checkpoint.get("channel_values") or {}
        for channel in [channel for channel in self.open if channel in values]:
            self.seeds[channel] = values[channel]
            self.open.discard(channel)
        return self._take_cached()

    def _take_cached(self) -> str:
        for channel in list(self.open):
            if (cached := self.cache.get((*self.key, *self._row, channel))) is not None:
                self.bases[channel] = cached
                self.open.discard(channel)
        return "next" if self.open else "stop"

    def channels_with_writes(self) -> list[str]:
        return [channel for channel in self.channels if self.depths[channel] > 0]

    def history(
        self, rows_by_channel: Mapping[str, Sequence[tuple[Any, ...]]], serde: SerializerProtocol
    ) -> dict[str, DeltaChannelHistory]:
        """Rows are `(depth, task_path, task_id, idx, type, value)`."""
        result: dict[str, DeltaChannelHistory] = {}
        for channel in self.channels:
            rows = sorted(
                rows_by_channel.get(channel, ()),
                key=lambda row: (-row[0], writes_sort_key(row[1], row[2], row[3])),
            )
            writes = [(row[2], channel, serde.loads_typed((row[4], row[5]))) for row in rows]
            entry: DeltaChannelHistory
            if base := self.bases.get(channel):
                entry = {**base, "writes": [*base["writes"], *writes]}
            else:
                entry = {"writes": writes}
                if channel in self.seeds:
                    entry["seed"] = self.seeds[channel]
            if self.target_found:
                self.cache.put((*self.key, self.target_id, self.target_parent, channel), entry)
            # A copy: LangGraph may keep what it is given, the cache must not change.
            result[channel] = {**entry, "writes": list(entry["writes"])}
        return result


# --- savers ------------------------------------------------------------------------------------------


class WaypointSqliteSaver(SqliteSaver):
    """`SqliteSaver` that stores a conversation in linear space and rebuilds it without scanning.

    >>> import sqlite3
    >>> conn = sqlite3.connect("waypoint.sqlite", check_same_thread=False)
    >>> graph = builder.compile(checkpointer=WaypointSqliteSaver(conn))
    """

    _has_stored_channels = False

    def __init__(self, conn: sqlite3.Connection, *, serde: SerializerProtocol | None = None):
        super().__init__(conn, serde=serde or CompressedSerializer())
        self._histories = _HistoryCache()

    def setup(self) -> None:
        """Stock tables, plus the `stored_channels` column (runs under the saver's lock)."""
        if self.is_setup:
            return
        super().setup()
        try:
            self.conn.execute(_ADD_STORED_CHANNELS_SQL)
        except sqlite3.OperationalError as error:
            if "duplicate column name" not in str(error) and "readonly" not in str(error):
                raise
        columns = {row[0] for row in self.conn.execute(_TABLE_COLUMNS_SQL)}
        self._has_stored_channels = "stored_channels" in columns

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
        target_id = get_checkpoint_id(config)
        if not target_id:
            target = self.get_tuple(config)
            if target is None:
                return {channel: {"writes": []} for channel in channels}
            target_id = target.config["configurable"]["checkpoint_id"]
        walk = _ChainWalk(config, target_id, channels, self._histories)
        with self.cursor(transaction=False) as cur:
            for checkpoint_id, parent_id, stored_channels, depth in cur.execute(
                _ANCESTORS_SQL, walk.ancestors_params()
            ):
                step = walk.visit(checkpoint_id, parent_id, stored_channels, depth)
                if step == "load":
                    blob = self.conn.execute(_CHECKPOINT_BLOB_SQL, walk.blob_params()).fetchone()
                    step = walk.seed_from(self.serde.loads_typed(blob))
                if step == "stop":
                    break
            rows = {
                channel: cur.execute(_CHANNEL_WRITES_SQL, walk.writes_params(channel)).fetchall()
                for channel in walk.channels_with_writes()
            }
        return walk.history(rows, self.serde)

    def get_next_version(self, current: str | int | None, channel: None) -> str | int:
        if isinstance(current, str):
            return super().get_next_version(current, channel)
        return _next_int_version(current)


class AsyncWaypointSqliteSaver(AsyncSqliteSaver):
    """`AsyncSqliteSaver` writing the same rows as `WaypointSqliteSaver`.

    >>> conn = await aiosqlite.connect("waypoint.sqlite")
    >>> graph = builder.compile(checkpointer=AsyncWaypointSqliteSaver(conn))
    """

    _has_stored_channels = False

    def __init__(self, conn: aiosqlite.Connection, *, serde: SerializerProtocol | None = None):
        super().__init__(conn, serde=serde or CompressedSerializer())
        self._histories = _HistoryCache()
        self._columns_checked = False

    async def setup(self) -> None:
        """Stock tables, plus the `stored_channels` column."""
        if self._columns_checked:
            return
        await super().setup()
        async with self.lock:
            if self._columns_checked:
                return
            try:
                await self.conn.execute(_ADD_STORED_CHANNELS_SQL)
                await self.conn.commit()
            except sqlite3.OperationalError as error:
                if "duplicate column name" not in str(error) and "readonly" not in str(error):
                    raise
            async with self.conn.execute(_TABLE_COLUMNS_SQL) as cur:
                columns = {row[0] for row in await cur.fetchall()}
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

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Same contract as the stock method; decodes only the blobs holding seeds."""
        if not channels:
            return {}
        await self.setup()
        if not self._has_stored_channels:
            return await super().aget_delta_channel_history(config=config, channels=channels)
        target_id = get_checkpoint_id(config)
        if not target_id:
            target = await self.aget_tuple(config)
            if target is None:
                return {channel: {"writes": []} for channel in channels}
            target_id = target.config["configurable"]["checkpoint_id"]
        walk = _ChainWalk(config, target_id, channels, self._histories)
        async with self.lock:
            async with self.conn.execute(_ANCESTORS_SQL, walk.ancestors_params()) as cur:
                async for checkpoint_id, parent_id, stored_channels, depth in cur:
                    step = walk.visit(checkpoint_id, parent_id, stored_channels, depth)
                    if step == "load":
                        async with self.conn.execute(
                            _CHECKPOINT_BLOB_SQL, walk.blob_params()
                        ) as blob_cur:
                            blob = await blob_cur.fetchone()
                        step = walk.seed_from(self.serde.loads_typed(blob))
                    if step == "stop":
                        break
            rows = {}
            for channel in walk.channels_with_writes():
                async with self.conn.execute(
                    _CHANNEL_WRITES_SQL, walk.writes_params(channel)
                ) as cur:
                    rows[channel] = await cur.fetchall()
        return walk.history(rows, self.serde)

    def get_next_version(self, current: str | int | None, channel: None) -> str | int:
        if isinstance(current, str):
            return super().get_next_version(current, channel)
        return _next_int_version(current)
