"""Waypoint's Postgres savers keep the storage levers and read back what stock LangGraph reads.

The scenario of `tests/test_storage.py` (tool calls, an interrupt, edits, a fork, a replay, a
clear) runs on a throwaway Postgres; its history must equal the stock saver's, whichever of the
sync and async saver wrote it and whichever reads it.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3

import psycopg
import pytest
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from agent.persistence import POSTGRES_CONNECTION
from agent.state import AgentState
from agent.storage import CompressedSerializer
from agent.storage_postgres import (
    AsyncWaypointPostgresSaver,
    WaypointPostgresSaver,
    version_count,
)
from tests.test_storage import (
    THREAD,
    StockState,
    ahistory_views,
    arun_scenario,
    build,
    history_views,
    human,
    run_scenario,
)


@pytest.fixture(scope="module")
def stock_history() -> list[tuple]:
    graph = build(StockState, SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False)))
    run_scenario(graph)
    return history_views(graph)


@pytest.fixture
def pool(postgres_db):
    with ConnectionPool(postgres_db, kwargs=POSTGRES_CONNECTION, min_size=1, max_size=2) as pool:
        yield pool


def sync_saver(pool) -> WaypointPostgresSaver:
    saver = WaypointPostgresSaver(pool)
    saver.setup()
    return saver


def rows(pool, sql: str) -> list[dict]:
    with pool.connection() as conn:
        return conn.execute(sql).fetchall()


async def async_history(url: str, write: bool) -> list[tuple]:
    """The scenario's history through a fresh async saver; it runs the scenario first if `write`."""
    async with AsyncConnectionPool(url, kwargs=POSTGRES_CONNECTION, open=False) as pool:
        saver = AsyncWaypointPostgresSaver(pool)
        await saver.setup()
        graph = build(AgentState, saver)
        if write:
            await arun_scenario(graph)
        return await ahistory_views(graph)


def test_sync_saver_history_equals_stock_and_reads_fresh(pool, stock_history):
    graph = build(AgentState, sync_saver(pool))
    run_scenario(graph)  # forks: int versions would make two branches share one blob row
    assert history_views(graph) == stock_history
    assert history_views(build(AgentState, sync_saver(pool))) == stock_history  # cold cache


def test_async_and_sync_savers_share_rows(postgres_db, pool, stock_history):
    assert asyncio.run(async_history(postgres_db, write=True)) == stock_history
    assert history_views(build(AgentState, sync_saver(pool))) == stock_history


def test_async_saver_reads_what_the_sync_saver_wrote(postgres_db, pool, stock_history):
    run_scenario(build(AgentState, sync_saver(pool)))
    assert asyncio.run(async_history(postgres_db, write=False)) == stock_history


def test_the_stock_postgres_saver_reads_waypoint_rows(postgres_db, pool, stock_history):
    """Same schema: a stock saver with the compressed serializer rebuilds the same history."""
    run_scenario(build(AgentState, sync_saver(pool)))
    with psycopg.connect(postgres_db, autocommit=True, row_factory=dict_row) as conn:
        stock = PostgresSaver(conn, serde=CompressedSerializer())
        assert history_views(build(AgentState, stock)) == stock_history


def test_chain_walk_gives_the_stock_delta_history_at_every_checkpoint(pool):
    saver = sync_saver(pool)
    run_scenario(build(AgentState, saver))
    stock = PostgresSaver(pool, serde=CompressedSerializer())
    fresh = sync_saver(pool)
    configs = [t.config for t in saver.list(THREAD)]
    assert len(configs) > 20
    for reader in (fresh, fresh):  # cold, then warm from its own cache
        for config in configs:
            expected = stock.get_delta_channel_history(config=config, channels=["messages"])
            assert reader.get_delta_channel_history(config=config, channels=["messages"]) == (
                expected
            ), config
            cold = WaypointPostgresSaver(pool)  # a thread its cache does not know
            assert cold.get_delta_channel_history(config=config, channels=["messages"]) == (
                expected
            ), config
    gone = {"configurable": {**THREAD["configurable"], "checkpoint_ns": "", "checkpoint_id": "x"}}
    assert fresh.get_delta_channel_history(config=gone, channels=["messages"]) == {
        "messages": {"writes": []}
    }


def test_levers_hold_in_the_rows(pool):
    run_scenario(build(AgentState, sync_saver(pool)))
    checkpoints = rows(pool, "SELECT checkpoint, metadata, stored_channels FROM checkpoints")
    versions = [
        version for row in checkpoints for version in row["checkpoint"]["channel_versions"].values()
    ]
    assert versions and all(re.fullmatch(r"[1-9]\d+\.[A-Za-z0-9_-]{8}", v) for v in versions)
    assert all(len(v) == int(v[0]) + 10 for v in versions)
    indexes = rows(
        pool,
        "SELECT c.relname AS name, c.reloptions AS options FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE t.relname IN ('checkpoints', 'checkpoint_blobs', 'checkpoint_writes')",
    )
    assert {row["name"]: row["options"] for row in indexes} == {
        name: ["fillfactor=100"]
        for name in ("checkpoints_pkey", "checkpoint_blobs_pkey", "checkpoint_writes_pkey")
    }
    assert all(row["stored_channels"] is not None for row in checkpoints)
    assert not any("counters_since_delta_snapshot" in row["metadata"] for row in checkpoints)
    blob_types = {row["type"] for row in rows(pool, "SELECT type FROM checkpoint_blobs")}
    write_types = {row["type"] for row in rows(pool, "SELECT type FROM checkpoint_writes")}
    assert CompressedSerializer.TYPE in blob_types and CompressedSerializer.TYPE in write_types
    # A delta channel is stored where correctness needs it, not in every checkpoint.
    messages_blobs = rows(pool, "SELECT 1 FROM checkpoint_blobs WHERE channel = 'messages'")
    assert 0 < len(messages_blobs) < len(checkpoints) / 3


def test_a_stock_database_is_read_and_continued(postgres_db, pool, stock_history):
    """Rows a stock saver wrote (no `stored_channels`, long versions) read back the same, and a
    thread continues from them with short versions, still in order."""
    with psycopg.connect(postgres_db, autocommit=True, row_factory=dict_row) as conn:
        stock = PostgresSaver(conn, serde=CompressedSerializer())
        stock.setup()
        run_scenario(build(AgentState, stock))
    assert not rows(pool, STORED_COLUMN_SQL)
    graph = build(AgentState, sync_saver(pool))
    assert rows(pool, STORED_COLUMN_SQL)
    assert {None} == {row["stored_channels"] for row in rows(pool, STORED_SQL)}
    assert history_views(graph) == stock_history
    before = graph.get_state(THREAD).values["messages"]
    graph.invoke(human("and now?", "h9"), THREAD)
    after = graph.get_state(THREAD).values["messages"]
    assert after[: len(before)] == before
    assert [m.type for m in after[len(before) :]] == ["human", "ai", "tool", "ai"]
    assert after[-1].content.startswith("answer") and after[len(before)].content == "and now?"


class EarlierVersionsSaver(WaypointPostgresSaver):
    """Waypoint's Postgres saver as it wrote versions before December 2026."""

    def get_next_version(self, current, channel):
        count = 0 if current is None else int(str(current).split(".")[0])
        return f"{count + 1:08}.{random.getrandbits(48):012x}"


def test_a_thread_with_the_earlier_short_versions_continues_in_order(pool, stock_history):
    earlier = EarlierVersionsSaver(pool)
    earlier.setup()
    run_scenario(build(AgentState, earlier))
    graph = build(AgentState, sync_saver(pool))
    assert history_views(graph) == stock_history
    before = graph.get_state(THREAD)
    graph.invoke(human("and now?", "h9"), THREAD)
    after = graph.get_state(THREAD)
    old, new = before.config["configurable"], after.config["configurable"]
    assert [m.type for m in after.values["messages"][len(before.values["messages"]) :]] == [
        "human",
        "ai",
        "tool",
        "ai",
    ]
    versions = [
        row["checkpoint"]["channel_versions"]
        for row in rows(pool, "SELECT checkpoint FROM checkpoints ORDER BY checkpoint_id")
    ]
    assert all(re.fullmatch(r"\d{8}\.[0-9a-f]{12}", v) for v in versions[0].values())
    assert re.fullmatch(r"[1-9]\d+\.[A-Za-z0-9_-]{8}", versions[-1]["messages"])
    assert old["checkpoint_id"] < new["checkpoint_id"]


@pytest.mark.parametrize("count", [0, 1, 9, 10, 4_999, 5_000, 99_999, 100_000, 999_999_997])
def test_short_versions_count_up_and_order_as_strings(count):
    saver = WaypointPostgresSaver.__new__(WaypointPostgresSaver)  # versions need no connection
    earlier = f"{count:08}.{0:012x}" if count else None
    stock = f"{count:032}.0.5" if count else None
    for current in (earlier, stock, count or None):
        version = saver.get_next_version(current, None)
        assert version_count(version) == count + 1
        assert not isinstance(current, str) or version > current
        following = saver.get_next_version(version, None)
        assert version_count(following) == count + 2 and following > version


STORED_SQL = "SELECT stored_channels FROM checkpoints"
STORED_COLUMN_SQL = (
    "SELECT 1 FROM information_schema.columns "
    "WHERE table_name = 'checkpoints' AND column_name = 'stored_channels'"
)


def test_deleting_a_thread_removes_all_its_rows_and_only_its_own(postgres_db, pool):
    saver = sync_saver(pool)
    graph = build(AgentState, saver)
    other = {"configurable": {"thread_id": "other"}}
    for config in (THREAD, other):
        graph.invoke(human("hello", "h1"), config)

    def counts(thread_id: str) -> list[int]:
        return [
            rows(pool, f"SELECT count(*) AS n FROM {table} WHERE thread_id = '{thread_id}'")[0]["n"]
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
        ]

    assert all(counts("t1")) and all(counts("other"))
    saver.delete_thread("t1")
    assert counts("t1") == [0, 0, 0] and all(counts("other"))

    async def delete_async() -> None:
        async with AsyncConnectionPool(postgres_db, kwargs=POSTGRES_CONNECTION, open=False) as p:
            await AsyncWaypointPostgresSaver(p).adelete_thread("other")

    asyncio.run(delete_async())
    assert counts("other") == [0, 0, 0]
