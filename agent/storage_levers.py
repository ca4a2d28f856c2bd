"""The storage levers Waypoint's savers share, whatever the database under them.

`agent.storage` (SQLite) and `agent.storage_postgres` (Postgres) build on these, so both databases
keep a conversation in linear space and read it back the same way (see `agent.storage` for what
each lever buys):

- `CompressedSerializer` (`agent.storage_serde`): msgpack blobs compressed with zstd and a frozen
  dictionary, decoded a whole history at a time.
- `_WaypointSaver`: small int channel versions instead of 50-character strings.
- `stored_metadata`: checkpoint metadata without the counters behind scheduled delta snapshots.
- `stored_channels`: what a checkpoint row lists as stored, so the history walk knows where to stop.
- `_ChainWalk` and `_HistoryCache`: `get_delta_channel_history` from one walk up the parent chain,
  remembering what it decoded. The savers only run the walk's queries in their own dialect.
- `KeptHistories`: one history per thread and channel also kept in the database (the
  `waypoint_histories` table), so a new process walks only from there (see the class).
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    PendingWrite,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from agent.storage_serde import CompressedSerializer

# --- what a checkpoint row stores -----------------------------------------------------------------

# Bookkeeping for scheduled snapshots, which copy the whole conversation (see `agent.storage`).
_UNSTORED_METADATA = ("counters_since_delta_snapshot",)


def stored_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Checkpoint metadata as Waypoint stores it: without the scheduled-snapshot counters."""
    return {key: value for key, value in metadata.items() if key not in _UNSTORED_METADATA}


def stored_channels(channel_values: Mapping[str, Any]) -> str:
    """The `stored_channels` column: the channels whose value this checkpoint holds, as JSON."""
    return json.dumps(sorted(channel_values), separators=(",", ":"))


# What a saver's `put_thread` stores, all in one transaction: per checkpoint, its config (with the
# parent's id), the checkpoint, its metadata and its writes by task (task_id, task_path, writes).
ThreadItem = tuple[
    RunnableConfig,
    Checkpoint,
    CheckpointMetadata,
    Sequence[tuple[str, str, Sequence[tuple[str, Any]]]],
]


def _next_int_version(current: int | None) -> int:
    return 1 if current is None else current + 1


class _WaypointSaver:
    """What every Waypoint saver shares (listed first among its bases)."""

    def get_next_version(self, current: str | int | None, channel: None) -> str | int:
        if isinstance(current, str):
            return super().get_next_version(current, channel)  # type: ignore[misc]
        return _next_int_version(current)


# --- delta channel history ------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _channel_names(stored_channels: str) -> frozenset[str]:
    return frozenset(json.loads(stored_channels))


# A thread: (thread_id, checkpoint_ns); a history in it: (checkpoint_id, parent_id, channel).
_Thread = tuple[str, str]
_HistoryKey = tuple[str, "str | None", str]
# A history: the first `count` writes of a list that a whole chain of checkpoints shares, and the
# seed (or _NO_SEED).
_History = tuple[list[PendingWrite], int, Any]
_NO_SEED = object()


HISTORY_THREADS = 32  # threads whose decoded histories a saver keeps (see _HistoryCache)


class _HistoryCache:
    """Histories rebuilt recently, so most reads walk only to the nearest checkpoint it knows.

    One walk from a checkpoint yields the history of every ancestor up to its seed too (each is a
    prefix of the same writes), so after one read the thread's earlier checkpoints read warm.
    A newer checkpoint's history extends the same list, so a thread's histories share one list
    per branch. A checkpoint's history never changes: its ancestors' writes are final once it
    exists (LangGraph snapshots a new branch rather than add writes to a checkpoint with
    children). The decoded messages are shared between reads: treat state read back as immutable.

    Memory follows the threads, not the entries: one thread's entries share its lists, but every
    thread brings its own. So it keeps the `threads` used last (and at most `size` entries): a
    process that runs thousands of threads holds a few threads' messages, not all of theirs.
    """

    def __init__(self, size: int = 20_000, threads: int = HISTORY_THREADS) -> None:
        self._size = size
        self._threads = threads
        # (thread_id, checkpoint_ns) -> (checkpoint_id, parent_id, channel) -> history; the
        # thread used last is at the end.
        self._entries: OrderedDict[_Thread, dict[_HistoryKey, _History]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()

    def get(self, thread: _Thread, key: _HistoryKey) -> _History | None:
        # Looked up without the lock: a cold walk asks once per ancestor and almost always misses.
        entries = self._entries.get(thread)
        if entries is None or (entry := entries.get(key)) is None:
            return None
        with self._lock:
            if thread in self._entries:
                self._entries.move_to_end(thread)
        return entry

    def knows(self, thread: tuple[str, str]) -> bool:
        """Whether any history of this (thread_id, checkpoint_ns) is cached."""
        return thread in self._entries

    def lengths_up(
        self, thread: _Thread, channel: str, parent_id: str | None, seed: Any
    ) -> list[int]:
        """The lengths of the cached histories of a checkpoint's ancestors, from `parent_id` up,
        as long as each is cached and starts from the same `seed` (the same object: histories
        of one walk and their extensions share it): each is a prefix of the checkpoint's own."""
        with self._lock:
            by_id = {
                key[0]: (key[1], history[1])
                for key, history in (self._entries.get(thread) or {}).items()
                if key[2] == channel and history[2] is seed
            }
        lengths: list[int] = []
        while parent_id is not None and parent_id in by_id and len(lengths) < len(by_id):
            parent_id, length = by_id[parent_id]
            lengths.append(length)
        return lengths

    def extend(self, base: _History, writes: list[PendingWrite]) -> _History:
        """`base` followed by `writes`: in place when `base` is the whole of its list."""
        shared, count, seed = base
        with self._lock:
            if len(shared) == count:
                shared.extend(writes)
            else:  # another branch already continues this list
                shared = [*shared[:count], *writes]
            return shared, count + len(writes), seed

    def copy_entries(
        self, source: _Thread, target: _Thread, checkpoint_ids: Collection[str]
    ) -> None:
        """Give `target` (thread_id, checkpoint_ns) the histories `source` has of these
        checkpoints: a copied thread with the same ids and parents has the same histories. The
        two threads then share lists as two branches do (see `extend`)."""
        with self._lock:
            found = self._entries.get(source) or {}
            picked = {key: history for key, history in found.items() if key[0] in checkpoint_ids}
        if picked:
            self.put(target, picked)

    def put(self, thread: _Thread, entries: Mapping[_HistoryKey, _History]) -> None:
        with self._lock:
            known = self._entries.get(thread)
            if known is None:
                known = self._entries[thread] = {}
            self._entries.move_to_end(thread)
            before = len(known)
            known.update(entries)
            self._count += len(known) - before
            while len(self._entries) > self._threads or (
                self._count > self._size and len(self._entries) > 1
            ):
                self._count -= len(self._entries.popitem(last=False)[1])
            if self._count > self._size:  # one thread alone is over: drop its oldest entries
                (only,) = self._entries.values()
                for key in list(only)[: self._count - self._size]:
                    del only[key]
                self._count = len(only)


# A link of the parent chain, as the chain queries return them: (checkpoint_id,
# parent_checkpoint_id, stored_channels, depth), the target at depth 0.
Link = tuple[str, "str | None", "str | None", int]


def ancestry(
    links: Mapping[str, tuple[str | None, str | None]],
    target_id: str,
    channels: Sequence[str],
    kept: Collection[str] = (),
) -> list[Link]:
    """The target and its ancestors, nearest first, from a whole thread's links (checkpoint_id ->
    (parent_checkpoint_id, stored_channels)): up to the root, a loop, the first ancestor that
    stores every channel, or the first checkpoint (the target too) among `kept`, whose histories
    the database keeps (`KeptHistories.stops`). A cold read takes the thread's links in one query
    and walks them here, instead of one index lookup per step of a recursive query."""
    wanted = set(channels)
    chain: list[Link] = []
    seen: set[str] = set()
    checkpoint_id: str | None = target_id
    while checkpoint_id is not None and checkpoint_id in links and checkpoint_id not in seen:
        seen.add(checkpoint_id)
        parent_id, stored = links[checkpoint_id]
        chain.append((checkpoint_id, parent_id, stored, len(chain)))
        if checkpoint_id in kept:
            break
        if len(chain) > 1 and stored is not None and wanted <= _channel_names(stored):
            break
        checkpoint_id = parent_id
    return chain


def id_range(chain: Sequence[Link]) -> tuple[str, str]:
    """The lowest and highest checkpoint id of a chain (of the ancestors, if it has any): a key
    range that holds every write the walk may read, whatever order ids come in."""
    ids = [link[0] for link in chain[1:]] or [chain[0][0]]
    return min(ids), max(ids)


def ancestor_writes(
    chain: Sequence[Link], rows: Iterable[Sequence[Any]]
) -> dict[str, list[tuple[Any, ...]]]:
    """The writes of the chain's ancestors among `rows` (checkpoint_id, then a write), by id."""
    ancestors = {link[0] for link in chain[1:]}
    writes: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        if row[0] in ancestors:
            writes.setdefault(row[0], []).append(tuple(row[1:]))
    return writes


def thread_key(config: RunnableConfig) -> _Thread:
    """(thread_id, checkpoint_ns) of a config: how the caches and kept histories name a thread."""
    return str(config["configurable"]["thread_id"]), config["configurable"].get("checkpoint_ns", "")


class _ChainWalk:
    """Rebuilds `get_delta_channel_history` from one pass up the parent chain.

    The contract is `BaseCheckpointSaver.get_delta_channel_history`: a channel's history is the
    writes stored on the target's ancestors, up to and including the nearest one that stores the
    channel's value (its seed), or up to the root. A channel's walk also ends at an ancestor whose
    own history is cached: that history plus the ancestor's writes continue it. The savers read
    the chain from the target up, nearest first, as rows (checkpoint_id, parent_checkpoint_id,
    stored_channels, depth, channel, task_path, task_id, idx, type, value): one per write of a
    requested channel, or one with no write. They ask `step` about each row: on "stop" they stop
    reading; on "load" they pass the values `loading_id` stores to `seed_from`; then they `take`
    the row. A saver holding a stretch of the chain and its writes at once hands them to `feed`.
    """

    def __init__(
        self, config: RunnableConfig, target_id: str, channels: Sequence[str], cache: _HistoryCache
    ) -> None:
        self.key = thread_key(config)
        self.channels = list(channels)
        self.cache = cache
        self.open = set(channels)
        # (checkpoint_id, parent_id) by depth: the target, then its ancestors nearest first.
        self.chain: list[tuple[str, str | None]] = []
        self.depth = -1  # of the checkpoint being read
        self.depths = dict.fromkeys(channels, 0)  # of the last checkpoint in each channel's history
        self.rows: dict[str, list[tuple[Any, ...]]] = {channel: [] for channel in channels}
        self.seeds: dict[str, Any] = {}
        self.bases: dict[str, _History] = {}
        self._target_id = target_id
        self._seen = {target_id}
        self.done = False  # whether `feed` stopped the walk
        self._cold = not cache.knows(self.key)  # then no ancestor's history is cached either
        self.histories: dict[str, _History] = {}  # the target's, once `history` has run

    @property
    def target_id(self) -> str:
        return self._target_id

    @property
    def loading_id(self) -> str:
        """The checkpoint `step` last asked to load."""
        return self.chain[-1][0]

    def step(self, row: Sequence[Any]) -> str:
        """ "next", "load" (a new checkpoint that may hold seeds), or "stop" (every history is
        complete, or the chain loops)."""
        if row[3] == self.depth:
            return "next"  # another write of the checkpoint being read
        return self._enter(*row[:4])

    def _enter(
        self, checkpoint_id: str, parent_id: str | None, stored_channels: str | None, depth: int
    ) -> str:
        if depth > 0 and (not self.open or checkpoint_id in self._seen):
            return "stop"
        self._seen.add(checkpoint_id)
        self.chain.append((checkpoint_id, parent_id))
        self.depth = depth
        if depth == 0:  # the target: its own value and writes are not part of its history
            self._take_cached()
            return "next"
        for channel in self.open:
            self.depths[channel] = depth
        # Rows from stock savers list nothing: only their decoded blob tells.
        if stored_channels is None or not self.open.isdisjoint(_channel_names(stored_channels)):
            return "load"
        self._take_cached()
        return "next"

    def feed(
        self, chain: Sequence[Link], writes: Mapping[str, Sequence[tuple[Any, ...]]]
    ) -> Iterator[str]:
        """`step` and `take` each link of `chain` with its writes (by checkpoint id), as the
        savers' row loops do. Yields each checkpoint to load: the caller passes its values to
        `seed_from` before it asks for the next. Sets `done` when the walk stops."""
        for checkpoint_id, parent_id, stored, depth in chain:
            step = self._enter(checkpoint_id, parent_id, stored, depth)
            if step == "stop":
                self.done = True
                return
            if step == "load":
                yield checkpoint_id
            for write in writes.get(checkpoint_id, ()):  # `take`, for a row known to hold a write
                if self.depths.get(write[0]) == depth:
                    self.rows[write[0]].append((depth, *write[1:]))

    def seed_from(self, checkpoint: Mapping[str, Any]) -> None:
        """Take the seeds stored by the checkpoint `step` asked to load."""
        values = checkpoint.get("channel_values") or {}
        for channel in [channel for channel in self.open if channel in values]:
            self.seeds[channel] = values[channel]
            self.open.discard(channel)
        self._take_cached()

    def _take_cached(self) -> None:
        if self._cold:
            return
        for channel in list(self.open):
            if (cached := self.cache.get(self.key, (*self.chain[-1], channel))) is not None:
                self.bases[channel] = cached
                self.open.discard(channel)

    def take(self, row: Sequence[Any]) -> None:
        """A row of the current checkpoint: keep its write if that channel's history has it."""
        channel = row[4]
        if channel is not None and self.depths.get(channel) == self.depth:
            self.rows[channel].append((self.depth, *row[5:]))

    def history(self, serde: SerializerProtocol) -> dict[str, DeltaChannelHistory]:
        result: dict[str, DeltaChannelHistory] = {}
        for channel in self.channels:
            rows = _oldest_first(self.rows[channel])
            values = _loads_many(serde, [(row[4], row[5]) for row in rows])
            writes = [(row[2], channel, value) for row, value in zip(rows, values, strict=True)]
            if (base := self.bases.get(channel)) is not None:
                history = self.cache.extend(base, writes)
            else:
                history = (writes, len(writes), self.seeds.get(channel, _NO_SEED))
            self._remember(channel, history, [row[0] for row in rows])
            self.histories[channel] = history
            shared, count, seed = history
            result[channel] = {"writes": shared[:count]}  # a copy: the cache keeps `shared`
            if seed is not _NO_SEED:
                result[channel]["seed"] = seed
        return result

    def _remember(self, channel: str, history: _History, depths: list[int]) -> None:
        """Cache the target's history and, as prefixes of it, those of its ancestors below the
        checkpoint where this channel's history starts (or of all of them, if it starts at the
        root)."""
        if not self.chain:
            return  # the target does not exist
        last = self.depths[channel]
        reaches_root = last == self.depth and self.chain[-1][1] is None and channel in self.open
        shared, count, seed = history
        entries = {(*self.chain[0], channel): history}
        newest_first = iter(reversed(depths))
        pending = next(newest_first, None)
        for depth in range(1, last + 1 if reaches_root else last):
            # An ancestor's history: the writes stored above it.
            while pending is not None and pending <= depth:
                count -= 1
                pending = next(newest_first, None)
            entries[(*self.chain[depth], channel)] = (shared, count, seed)
        self.cache.put(self.key, entries)

    @property
    def target_parent_id(self) -> str | None:
        return self.chain[0][1] if self.chain else None


# --- histories kept in the database ---------------------------------------------------------------

# Writes a kept history may fall behind the thread before a warm read stores it again: about what
# a new process decodes one by one (plus one run's writes), beyond the kept history's one blob.
KEEP_EVERY = 128

# A kept history as a row: (thread_id, checkpoint_ns, channel, checkpoint_id,
# parent_checkpoint_id, reach, type, blob): the history of that checkpoint (its ancestors'
# writes), which also holds the histories of its `reach` nearest ancestors (as prefixes).
KeptRow = tuple[str, str, str, str, "str | None", int, str, bytes]
# (channel, checkpoint_id, parent_checkpoint_id, reach): what a cold walk reads before the blob.
KeptKey = Sequence[Any]
Links = Mapping[str, tuple["str | None", "str | None"]]  # checkpoint_id -> (parent, stored)


# A kept history whose ancestors wait for the links: (channel, checkpoint_id, parent_id, its
# history, the lengths of its ancestors' histories).
_Pending = tuple[str, str, "str | None", _History, list[int]]


# A named query a cold walk asks its saver to run ("newer_links", "links"), with its parameters,
# and the rows sent back: each saver runs them in its own dialect.
ColdQueries = Generator[
    tuple[str, tuple[Any, ...]], list[Any], "tuple[Links, KeptStops, list[Link]]"
]


def cold_chain(
    kept: KeptHistories,
    key: _Thread,
    keys: Sequence[KeptKey],
    target_id: str,
    channels: Sequence[str],
) -> ColdQueries:
    """The links, stops and chain of a cold walk: with kept histories, first only the links from
    the oldest kept checkpoint on (a recent target reaches its kept checkpoint among them), and
    the whole thread's only when the chain does not end there (an older target, a branch)."""
    if keys:
        links = as_links((yield "newer_links", (*key, kept.oldest(keys))))
        stops = kept.stops(keys, links, channels)
        chain = ancestry(links, target_id, channels, stops.ids)
        if chain_complete(chain, links, channels, stops.ids):
            return links, stops, chain
    links = as_links((yield "links", key))
    stops = kept.stops(keys, links, channels)
    return links, stops, ancestry(links, target_id, channels, stops.ids)


def run_cold(
    plan: ColdQueries, execute: Callable[[str, tuple[Any, ...]], list[Any]]
) -> tuple[Links, KeptStops, list[Link]]:
    """Run `cold_chain`'s queries with `execute(name, params)` (a sync saver's)."""
    try:
        name, params = next(plan)
        while True:
            name, params = plan.send(execute(name, params))
    except StopIteration as done:
        return done.value


def as_links(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[str | None, str | None]]:
    """Rows (checkpoint_id, parent_checkpoint_id, stored_channels) as `Links`."""
    return {row[0]: (row[1], row[2]) for row in rows}


def chain_complete(
    chain: Sequence[Link], links: Links, channels: Sequence[str], stops: Collection[str]
) -> bool:
    """Whether `ancestry` over some of a thread's links (the newer ones) found the whole walk:
    it ended at a kept checkpoint, the root, a loop or a seed, not at a link it was not given."""
    if not chain:
        return False
    checkpoint_id, parent_id, stored, depth = chain[-1]
    if checkpoint_id in stops or parent_id is None or parent_id in links:
        return True
    return depth > 0 and stored is not None and set(channels) <= _channel_names(stored)


class KeptStops(NamedTuple):
    """Where a cold walk may stop (`KeptHistories.stops`): the checkpoint ids, and the chain of
    ancestors (id, parent) above each kept checkpoint that its row covers."""

    ids: frozenset[str]
    chains: Mapping[str, list[tuple[str, str | None]]]


class KeptHistories:
    """The histories a saver keeps in its database: one per thread, namespace and channel.

    A cold read decodes every write of the thread one blob at a time: at 1,000 turns, 4,000
    blobs, which cost more than the messages' own decoding. So a saver also stores, in one blob,
    the whole history of one recent checkpoint per thread and channel (the writes of its
    ancestors, its seed, and the length of each ancestor's own history, a prefix of it), and a
    new process seeds its `_HistoryCache` with it: the checkpoint and its ancestors read warm
    from there, and a walk from a newer checkpoint goes up only to it. It is a cache in the
    database: the history of a checkpoint never changes (see `_HistoryCache`), the row is keyed
    by the checkpoint and its parent, and a walk that never reaches it (another branch, a pruned
    chain) ignores it: a cold walk reads the thread's links first, and the blob only if the chain
    passes through a checkpoint it covers (`stops`).

    It is stored again once it is `KEEP_EVERY` writes behind, from a warm read only (a run's
    first read, a page's rerun): a cold read, the one a person waits for after a restart, never
    pays the encoding. The row is replaced, so a thread keeps one copy of its messages there
    (compressed as one blob: a fraction of the deltas' own size).
    """

    every = KEEP_EVERY  # tests lower it to keep a history after every write

    def __init__(self) -> None:
        self._lengths: dict[tuple[str, str, str], int] = {}  # of each kept history
        # Kept histories seeded while only the thread's newer links were read: their ancestors
        # are put in the cache once a read needs them (`needs_links`, `complete`). As many
        # threads as the cache keeps: each holds its messages.
        self._pending: OrderedDict[_Thread, list[_Pending]] = OrderedDict()
        self._lock = threading.Lock()  # a Postgres saver reads from many threads at once

    @staticmethod
    def oldest(keys: Sequence[KeptKey]) -> str:
        """The oldest kept checkpoint of a thread: a cold walk first reads the links from it on."""
        return min(key[1] for key in keys)

    @staticmethod
    def stops(keys: Iterable[KeptKey], links: Links, channels: Sequence[str]) -> KeptStops:
        """Where a cold walk can stop: the checkpoints whose history the kept rows hold for
        every channel asked, each kept checkpoint under the parent the links still give it."""
        covered: dict[str, set[str]] = {}
        chains: dict[str, list[tuple[str, str | None]]] = {}
        for channel, checkpoint_id, parent_id, reach in keys:
            link = links.get(checkpoint_id)
            if link is None or link[0] != parent_id:
                continue
            chain = chains.get(checkpoint_id)
            if chain is None or len(chain) < reach:
                chain = chains[checkpoint_id] = _up(links, parent_id, reach)
            covered[channel] = {checkpoint_id, *(ancestor for ancestor, _ in chain[:reach])}
        if not channels or not all(channel in covered for channel in channels):
            return KeptStops(frozenset(), {})
        return KeptStops(frozenset(set.intersection(*(covered[ch] for ch in channels))), chains)

    def seed(
        self,
        cache: _HistoryCache,
        serde: SerializerProtocol,
        rows: Iterable[Sequence[Any]],
        stops: KeptStops,
    ) -> None:
        """Put the kept histories of one thread (rows as `KeptRow`), and those of the ancestors
        they cover that `stops` knows, into the cache; the others wait for `complete`."""
        pending: list[_Pending] = []
        thread: _Thread | None = None
        for thread_id, checkpoint_ns, channel, checkpoint_id, parent_id, _, type_, blob in rows:
            record = serde.loads_typed((type_, bytes(blob)))
            writes: list[PendingWrite] = [
                (task_id, channel, value)
                for task_id, value in zip(record["tasks"], record["values"], strict=True)
            ]
            seed = record.get("seed", _NO_SEED)
            own: _History = (writes, len(writes), seed)
            entries = {(checkpoint_id, parent_id, channel): own}
            chain = stops.chains.get(checkpoint_id, [])
            for (ancestor, its_parent), length in zip(chain, record["lengths"], strict=False):
                entries[(ancestor, its_parent, channel)] = (writes, length, seed)
            thread = (thread_id, checkpoint_ns)
            cache.put(thread, entries)
            self._lengths[(*thread, channel)] = len(writes)
            if len(chain) < len(record["lengths"]):
                pending.append((channel, checkpoint_id, parent_id, own, record["lengths"]))
        if thread is None:
            return
        with self._lock:
            self._pending[thread] = pending
            self._pending.move_to_end(thread)
            while len(self._pending) > HISTORY_THREADS:
                self._pending.popitem(last=False)

    def needs_links(self, thread: _Thread, target_id: str) -> bool:
        """Whether a warm read of `target_id` should read the thread's links first, to put the
        histories of a kept checkpoint's ancestors in the cache: the target is older than a
        kept checkpoint whose ancestors are not there yet (ids grow from parent to child)."""
        return any(target_id < pending[1] for pending in self._pending.get(thread, ()))

    def complete(self, cache: _HistoryCache, thread: _Thread, links: Links) -> None:
        """Put the histories of the kept checkpoints' ancestors in the cache, from the links."""
        with self._lock:
            waiting = self._pending.pop(thread, [])
        for channel, _, parent_id, (writes, _, seed), lengths in waiting:
            chain = _up(links, parent_id, len(lengths))
            cache.put(
                thread,
                {
                    (ancestor, its_parent, channel): (writes, length, seed)
                    for (ancestor, its_parent), length in zip(chain, lengths, strict=False)
                },
            )

    def due(
        self, walk: _ChainWalk, cache: _HistoryCache, serde: SerializerProtocol, *, cold: bool
    ) -> list[KeptRow]:
        """The rows to store after `walk`: its target's histories that are `KEEP_EVERY` writes
        past the kept ones, unless the read was `cold` (its thread was not cached when it began,
        kept rows or not). They count as kept from here: a row that could not be written (a
        read-only file) is tried again `KEEP_EVERY` writes later."""
        if cold or not walk.chain:
            return []
        rows: list[KeptRow] = []
        for channel, (shared, count, seed) in walk.histories.items():
            key = (*walk.key, channel)
            if count - self._lengths.get(key, 0) < self.every:
                continue
            lengths = cache.lengths_up(walk.key, channel, walk.target_parent_id, seed)
            record: dict[str, Any] = {
                "tasks": [write[0] for write in shared[:count]],
                "values": [write[2] for write in shared[:count]],
                "lengths": lengths,
            }
            if seed is not _NO_SEED:
                record["seed"] = seed
            rows.append(
                (
                    *key,
                    walk.target_id,
                    walk.target_parent_id,
                    len(lengths),
                    *serde.dumps_typed(record),
                )
            )
            self._lengths[key] = count
        return rows


def _up(links: Links, checkpoint_id: str | None, steps: int) -> list[tuple[str, str | None]]:
    """`checkpoint_id` and its ancestors by the links, at most `steps` of them, nearest first,
    each with its parent."""
    found: list[tuple[str, str | None]] = []
    while checkpoint_id is not None and len(found) < steps and (link := links.get(checkpoint_id)):
        found.append((checkpoint_id, link[0]))
        checkpoint_id = link[0]
    return found


def _oldest_first(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows (depth, task_path, task_id, idx, type, value), taken nearest first, in replay order:
    oldest checkpoint first, each checkpoint's writes as LangGraph orders a super-step's. Most
    checkpoints hold one write, so the sort runs only where one holds more."""
    rows = rows[::-1]
    if all(newer[0] != older[0] for older, newer in itertools.pairwise(rows)):
        return rows
    return sorted(rows, key=lambda row: (-row[0], writes_sort_key(row[1], row[2], row[3])))


def _loads_many(serde: SerializerProtocol, blobs: list[tuple[str, bytes]]) -> list[Any]:
    """Each blob decoded: in one call where the serializer can (a cold read decodes thousands)."""
    if isinstance(serde, CompressedSerializer):
        return serde.loads_many(blobs)
    return [serde.loads_typed(blob) for blob in blobs]


def _no_histories(channels: Sequence[str]) -> dict[str, DeltaChannelHistory]:
    """The delta channel histories of a checkpoint that does not exist."""
    return {channel: {"writes": []} for channel in channels}


def _checkpoint_id_of(target: CheckpointTuple | None) -> str | None:
    return None if target is None else target.config["configurable"]["checkpoint_id"]
