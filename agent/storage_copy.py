"""Copying and deleting whole threads on Waypoint's savers, in SQL (a copy decodes no blob).

LangGraph's `BaseCheckpointSaver` names `copy_thread` and `prune` as optional; the stock SQLite
saver has neither, the stock Postgres one has `prune` only. Waypoint needs both: a fork to a new
thread copies the history that led to the fork point (`copy_branch`), and deleting threads (one,
or the visitor sweep's hundreds) removes them in one transaction (`prune(strategy="delete")`).

A copy keeps every row as it is, checkpoint ids and parent ids included, under the new thread id:
the message deltas (`agent.message_log`) are rebuilt by walking parent ids inside one thread, so
the copy reconstructs its messages from its own rows, with no path back to the source (deleting
the source afterwards loses nothing). On Postgres the blob rows that the copied checkpoints name
(a delta snapshot among them) are copied too. The copy is also given the histories the saver had
decoded for the source's copied checkpoints (`warm_copy`), so its first read is not a cold one.

`prune(strategy="keep_latest")` keeps each namespace's latest checkpoint, but refuses threads that
use a DeltaChannel, as the stock Postgres saver does: their latest value lives in the checkpoints
before. The stock check looks for the snapshot counters in the metadata, which Waypoint's savers
do not store, so these savers also refuse a thread whose rows show a delta: a write to a channel
that the checkpoint after it does not store (a delta channel stores its value only in snapshots;
any other channel a task wrote is stored by the next checkpoint). Every Waypoint thread is one.
On SQLite, whose checkpoint rows are blobs, a thread that passes that check still has its stored
values decoded, looking for a delta snapshot (Postgres marks those in the row).

The statements are generators, as in `agent.storage_postgres`: each yields (sql, params, fetch)
and is sent the rows when `fetch` is true, so the sync and the async saver of a database run the
same SQL (`run`, `arun`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Generator, Sequence
from typing import Any

from langgraph.checkpoint.serde.types import _DeltaSnapshot

from agent.storage_levers import _HistoryCache

PRUNE_STRATEGIES = ("keep_latest", "delete")

# (sql, params, whether its rows are sent back)
Statement = tuple[str, Sequence[Any], bool]
Statements = Generator[Statement, list[Any], Any]  # returns what the operation found


def warm_copy(
    cache: _HistoryCache, source: str, target: str, checkpoint_ids: Collection[str]
) -> None:
    """After a branch copy: the copy has the same ids and parents, so the same histories. Giving
    it the source's (a fork has just read the fork point's state) spares a first read of the
    copy that walks its whole chain."""
    cache.copy_entries((str(source), ""), (str(target), ""), set(checkpoint_ids))


def prune_thread_ids(thread_ids: Sequence[str], strategy: str) -> list[str]:
    """The ids `prune` was given, checked as the stock Postgres saver checks them."""
    if isinstance(thread_ids, str):
        raise TypeError("thread_ids must be a sequence of thread IDs, not a str")
    if strategy not in PRUNE_STRATEGIES:
        raise ValueError(f"Unknown prune strategy: {strategy!r}")
    return [str(thread_id) for thread_id in thread_ids]


def _refuse_delta_threads(rows: list[Any]) -> None:
    """NotImplementedError naming the threads `keep_latest` must not prune, as the stock saver."""
    if found := sorted({row[0] if isinstance(row, tuple) else row["thread_id"] for row in rows}):
        raise NotImplementedError(
            f"keep_latest can't prune threads that use a DeltaChannel: {', '.join(found)}. Their "
            "messages are deltas that the checkpoints before the latest one hold; use "
            "strategy='delete' to delete whole threads."
        )


def _target_is_new(target: str, rows: list[Any]) -> None:
    if rows:
        raise ValueError(
            f"Thread {target!r} already has checkpoints: copy into a new thread id, or delete "
            "that thread first."
        )


def _chain_ids(source: str, checkpoint_id: str, rows: list[Any]) -> tuple[list[str], list[str]]:
    """The chain's ids, and those of the ancestors alone."""
    if not rows:
        raise ValueError(
            f"Thread {source!r} has no checkpoint {checkpoint_id!r} in its root namespace: pick "
            "one its history lists."
        )
    ids = [row[0] if isinstance(row, tuple) else row["checkpoint_id"] for row in rows]
    return ids, [i for i in ids if i != checkpoint_id]


def run(cur: Any, statements: Statements) -> Any:
    """Run statements on a sync cursor (sqlite3 or psycopg); return what they return."""
    try:
        sql, params, fetch = next(statements)
        while True:
            cur.execute(sql, params)
            sql, params, fetch = statements.send(cur.fetchall() if fetch else [])
    except StopIteration as done:
        return done.value


async def arun(cur: Any, statements: Statements) -> Any:
    """Run statements on an async cursor (aiosqlite or psycopg); return what they return."""
    try:
        sql, params, fetch = next(statements)
        while True:
            await cur.execute(sql, params)
            sql, params, fetch = statements.send(await cur.fetchall() if fetch else [])
    except StopIteration as done:
        return done.value


# --- SQLite ---------------------------------------------------------------------------------------

# The checkpoint and its ancestors in the root namespace, by parent ids (`UNION`: a loop ends).
_SQLITE_CHAIN_SQL = """
    WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id) AS (
        SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints
        WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id = ?
        UNION
        SELECT c.checkpoint_id, c.parent_checkpoint_id
        FROM chain JOIN checkpoints c ON c.thread_id = ? AND c.checkpoint_ns = ''
            AND c.checkpoint_id = chain.parent_checkpoint_id
    )
    SELECT checkpoint_id FROM chain
"""
_SQLITE_ANY_ROW_SQL = "SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1"
_SQLITE_COPY_CHECKPOINTS_SQL = """
    INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type,
        checkpoint, metadata, stored_channels)
    SELECT ?, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata,
        stored_channels
    FROM checkpoints WHERE thread_id = ? {rows}
"""
_SQLITE_COPY_WRITES_SQL = """
    INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel,
        type, value)
    SELECT ?, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value
    FROM writes WHERE thread_id = ? {rows}
"""
# A kept history (`agent.storage_levers.KeptHistories`) goes with its checkpoint: a branch copy
# takes it only if that checkpoint is on the branch (its ancestors are then copied too).
_SQLITE_COPY_KEPT_SQL = """
    INSERT INTO waypoint_histories (thread_id, checkpoint_ns, channel, checkpoint_id,
        parent_checkpoint_id, reach, type, blob)
    SELECT ?, checkpoint_ns, channel, checkpoint_id, parent_checkpoint_id, reach, type, blob
    FROM waypoint_histories WHERE thread_id = ? {rows}
"""
_SQLITE_AMONG = "AND checkpoint_ns = '' AND checkpoint_id IN (SELECT value FROM json_each(?))"
SQLITE_DELETE_THREADS_SQL = (
    "DELETE FROM checkpoints WHERE thread_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM writes WHERE thread_id IN (SELECT value FROM json_each(?))",
    "DELETE FROM waypoint_histories WHERE thread_id IN (SELECT value FROM json_each(?))",
)


def sqlite_copy(source: str, target: str, checkpoint_id: str | None = None) -> Statements:
    """Copy a whole thread, or (with `checkpoint_id`) that checkpoint, its ancestors and their
    writes, into `target`, which must have no checkpoints yet. Returns the ids of a branch."""
    source, target = str(source), str(target)
    _target_is_new(target, (yield _SQLITE_ANY_ROW_SQL, (target,), True))
    if checkpoint_id is None:
        yield _SQLITE_COPY_CHECKPOINTS_SQL.format(rows=""), (target, source), False
        yield _SQLITE_COPY_WRITES_SQL.format(rows=""), (target, source), False
        yield _SQLITE_COPY_KEPT_SQL.format(rows=""), (target, source), False
        return
    chain = yield _SQLITE_CHAIN_SQL, (source, checkpoint_id, source), True
    ids, ancestors = _chain_ids(source, checkpoint_id, chain)
    among = _SQLITE_AMONG
    yield _SQLITE_COPY_CHECKPOINTS_SQL.format(rows=among), (target, source, json.dumps(ids)), False
    # The fork point's own writes stay behind: they belong to whichever child consumed them.
    yield _SQLITE_COPY_WRITES_SQL.format(rows=among), (target, source, json.dumps(ancestors)), False
    yield _SQLITE_COPY_KEPT_SQL.format(rows=among), (target, source, json.dumps(ids)), False
    return ids


# Threads whose rows show a delta channel (see the module's docstring; "__" channels are
# LangGraph's own: interrupts, resumes, errors, sends), or, in rows a stock saver wrote, the
# counters LangGraph keeps for delta snapshots. It may also refuse a thread that has no delta
# channel (an `UntrackedValue`, a replay's fork): refusing is the safe side.
_SQLITE_DELTA_THREADS_SQL = """
    SELECT DISTINCT w.thread_id FROM writes w
    JOIN checkpoints c ON c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns
        AND c.parent_checkpoint_id = w.checkpoint_id
    WHERE w.thread_id IN (SELECT value FROM json_each(?)) AND substr(w.channel, 1, 2) <> '__'
        AND c.stored_channels IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM json_each(c.stored_channels) s WHERE s.value = w.channel)
    UNION
    SELECT thread_id FROM checkpoints WHERE thread_id IN (SELECT value FROM json_each(?))
        AND json_extract(CAST(metadata AS TEXT), '$.counters_since_delta_snapshot') IS NOT NULL
"""
# Checkpoints whose blob may hold a delta snapshot (SQLite stores a checkpoint as one blob).
_SQLITE_STORED_VALUES_SQL = """
    SELECT thread_id, type, checkpoint FROM checkpoints
    WHERE thread_id IN (SELECT value FROM json_each(?))
        AND (stored_channels IS NULL OR stored_channels <> '[]')
"""
_SQLITE_HEADS_SQL = (
    "SELECT checkpoint_ns, MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? "
    "GROUP BY checkpoint_ns"
)
_SQLITE_KEEP_HEAD_SQL = (
    "DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id <> ?",
    "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id <> ?",
    "DELETE FROM waypoint_histories WHERE thread_id = ? AND checkpoint_ns = ? "
    "AND checkpoint_id <> ?",
    "UPDATE checkpoints SET parent_checkpoint_id = NULL "
    "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
)


def sqlite_keep_latest(
    thread_ids: list[str], loads: Callable[[tuple[str, bytes]], Any]
) -> Statements:
    """Keep each namespace's latest checkpoint (the one `get_tuple` loads) with its writes; the
    kept one loses its parent. Refuses (and changes nothing) if any thread uses a delta channel."""
    ids = json.dumps(thread_ids)
    _refuse_delta_threads((yield _SQLITE_DELTA_THREADS_SQL, (ids, ids), True))
    stored = yield _SQLITE_STORED_VALUES_SQL, (ids,), True
    _refuse_delta_threads(
        [
            (thread_id,)
            for thread_id, type_, blob in stored
            if any(
                isinstance(value, _DeltaSnapshot)
                for value in (loads((type_, blob)).get("channel_values") or {}).values()
            )
        ]
    )
    for thread_id in thread_ids:
        for ns, head in (yield _SQLITE_HEADS_SQL, (thread_id,), True):
            for sql in _SQLITE_KEEP_HEAD_SQL:
                yield sql, (thread_id, ns, head), False


def sqlite_delete(thread_ids: list[str]) -> Statements:
    """Every checkpoint and write of these threads."""
    ids = json.dumps(thread_ids)
    for sql in SQLITE_DELETE_THREADS_SQL:
        yield sql, (ids,), False


# --- Postgres -------------------------------------------------------------------------------------

# As on SQLite, each step a LATERAL primary key lookup (see `agent.storage_postgres`'s chain page).
_PG_CHAIN_SQL = """
    WITH RECURSIVE chain(checkpoint_id, parent_checkpoint_id) AS (
        SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints
        WHERE thread_id = %s AND checkpoint_ns = '' AND checkpoint_id = %s
        UNION
        SELECT c.checkpoint_id, c.parent_checkpoint_id
        FROM chain CROSS JOIN LATERAL (
            SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints
            WHERE thread_id = %s AND checkpoint_ns = '' AND checkpoint_id = chain.parent_checkpoint_id
            LIMIT 1
        ) c
    )
    SELECT checkpoint_id FROM chain
"""
_PG_ANY_ROW_SQL = _SQLITE_ANY_ROW_SQL.replace("?", "%s")
# Statement by statement, a full copy reads one snapshot of the source: a run adding to it
# meanwhile adds to the copy either all of a checkpoint's rows or none.
_PG_SNAPSHOT_SQL = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"
_PG_COPY_CHECKPOINTS_SQL = _SQLITE_COPY_CHECKPOINTS_SQL.replace("?", "%s")
_PG_COPY_WRITES_SQL = """
    INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path,
        idx, channel, type, blob)
    SELECT %s, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob
    FROM checkpoint_writes WHERE thread_id = %s {rows}
"""
_PG_AMONG = "AND checkpoint_ns = '' AND checkpoint_id = ANY(%s)"
_PG_COPY_KEPT_SQL = _SQLITE_COPY_KEPT_SQL.replace("?", "%s")
_PG_COPY_BLOBS_SQL = """
    INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
    SELECT %s, checkpoint_ns, channel, version, type, blob
    FROM checkpoint_blobs WHERE thread_id = %s
"""
# The blobs the copied checkpoints name (at their channel versions): a branch's, not its siblings'.
# The names first, then one primary key lookup each (a semi-join planned from a new thread's row
# estimates rescanned the names for every blob: 0.65 s at 1,000 checkpoints).
_PG_COPY_NAMED_BLOBS_SQL = """
    WITH named AS MATERIALIZED (
        SELECT DISTINCT v.key AS channel, v.value AS version FROM checkpoints c
        CROSS JOIN LATERAL jsonb_each_text(c.checkpoint -> 'channel_versions') AS v
        WHERE c.thread_id = %s AND c.checkpoint_ns = '' AND c.checkpoint_id = ANY(%s)
    )
    INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
    SELECT %s, b.checkpoint_ns, b.channel, b.version, b.type, b.blob
    FROM named JOIN checkpoint_blobs b ON b.thread_id = %s AND b.checkpoint_ns = ''
        AND b.channel = named.channel AND b.version = named.version
"""


# What the stock check (snapshot counters, snapshot blobs) cannot see in Waypoint's rows.
_PG_DELTA_THREADS_SQL = """
    SELECT DISTINCT w.thread_id FROM checkpoint_writes w
    JOIN checkpoints c ON c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns
        AND c.parent_checkpoint_id = w.checkpoint_id
    WHERE w.thread_id = ANY(%s) AND left(w.channel, 2) <> '__' AND c.stored_channels IS NOT NULL
        AND NOT (c.stored_channels::jsonb ? w.channel)
"""


def postgres_refuse_delta_threads(thread_ids: list[str]) -> Statements:
    """Refuse `keep_latest` for threads whose rows show a delta (before the stock prune runs)."""
    _refuse_delta_threads((yield _PG_DELTA_THREADS_SQL, (thread_ids,), True))


def postgres_copy(source: str, target: str, checkpoint_id: str | None = None) -> Statements:
    """`sqlite_copy` on the stock Postgres schema: blobs as well."""
    source, target = str(source), str(target)
    if checkpoint_id is None:
        yield _PG_SNAPSHOT_SQL, (), False
    _target_is_new(target, (yield _PG_ANY_ROW_SQL, (target,), True))
    if checkpoint_id is None:
        yield _PG_COPY_CHECKPOINTS_SQL.format(rows=""), (target, source), False
        yield _PG_COPY_BLOBS_SQL, (target, source), False
        yield _PG_COPY_WRITES_SQL.format(rows=""), (target, source), False
        yield _PG_COPY_KEPT_SQL.format(rows=""), (target, source), False
        return
    chain = yield _PG_CHAIN_SQL, (source, checkpoint_id, source), True
    ids, ancestors = _chain_ids(source, checkpoint_id, chain)
    yield _PG_COPY_CHECKPOINTS_SQL.format(rows=_PG_AMONG), (target, source, ids), False
    yield _PG_COPY_NAMED_BLOBS_SQL, (source, ids, target, source), False
    yield _PG_COPY_WRITES_SQL.format(rows=_PG_AMONG), (target, source, ancestors), False
    yield _PG_COPY_KEPT_SQL.format(rows=_PG_AMONG), (target, source, ids), False
    return ids
