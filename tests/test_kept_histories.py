"""Kept histories: one recent history per thread in one blob, where a new process starts its walk.

The scenario of `tests/test_storage.py` (tool calls, an interrupt, edits, a fork, a replay, a
clear) runs with a history kept after every write, so every kind of checkpoint sits next to a
kept one; then every checkpoint, read by a new saver, must give what LangGraph's own walk gives,
on SQLite (sync and async) and Postgres. A long thread shows what it buys (a cold read decodes the
kept blob and the few writes after it) and that it stays a cache: stale rows are ignored, a cold
read never writes, deleting and copying threads take the rows along, a read-only file still reads.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from agent.persistence import POSTGRES_CONNECTION
from agent.state import AgentState
from agent.storage import AsyncWaypointSqliteSaver, CompressedSerializer, WaypointSqliteSaver
from agent.storage_levers import KeptHistories
from agent.storage_postgres import AsyncWaypointPostgresSaver, WaypointPostgresSaver
from tests.test_storage import (
    THREAD,
    StockState,
    arun_scenario,
    build,
    connect,
    history_views,
    human,
    run_scenario,
)

CHANNELS = ["messages"]


@pytest.fixture
def keep_often(monkeypatch):
    """A history is kept again after every write (a warm read stores it)."""
    monkeypatch.setattr(KeptHistories, "every", 1)


def kept_rows(conn) -> list[tuple]:
    return conn.execute(
        "SELECT thread_id, checkpoint_id, parent_checkpoint_id FROM waypoint_histories"
    ).fetchall()


def configs_of(saver) -> list[dict]:
    return [t.config for t in saver.list(THREAD)]


def stock_scenario_history(tmp_path: Path) -> list[tuple]:
    graph = build(StockState, SqliteSaver(connect(tmp_path / "stock")))
    run_scenario(graph)
    return history_views(graph)


def test_every_checkpoint_read_cold_next_to_kept_histories_matches_langgraph(tmp_path, keep_often):
    path = tmp_path / "db"
    writer = WaypointSqliteSaver(connect(path))
    run_scenario(build(AgentState, writer))
    assert kept_rows(writer.conn), "the scenario's warm reads kept a history"
    expected = {
        config["configurable"]["checkpoint_id"]: SqliteSaver.get_delta_channel_history(
            writer, config=config, channels=CHANNELS
        )
        for config in configs_of(writer)
    }
    for config in configs_of(writer):
        cold = WaypointSqliteSaver(connect(path))  # a new process: nothing cached
        got = cold.get_delta_channel_history(config=config, channels=CHANNELS)
        assert got == expected[config["configurable"]["checkpoint_id"]], config
    fresh = build(AgentState, WaypointSqliteSaver(connect(path)))
    assert history_views(fresh) == stock_scenario_history(tmp_path)


def test_the_async_saver_keeps_and_reads_the_same_histories(tmp_path, keep_often):
    path = tmp_path / "db"

    async def write_then_read_cold() -> None:
        async with aiosqlite.connect(path) as conn:
            await arun_scenario(build(AgentState, AsyncWaypointSqliteSaver(conn)))
            configs = [t.config async for t in AsyncWaypointSqliteSaver(conn).alist(THREAD)]
            for config in configs:
                expected = await AsyncSqliteSaver.aget_delta_channel_history(
                    AsyncWaypointSqliteSaver(conn), config=config, channels=CHANNELS
                )
                cold = AsyncWaypointSqliteSaver(conn)
                assert (
                    await cold.aget_delta_channel_history(config=config, channels=CHANNELS)
                    == expected
                ), config

    asyncio.run(write_then_read_cold())
    assert kept_rows(connect(path))
    # The sync saver reads the async one's kept rows the same way.
    sync_reader = build(AgentState, WaypointSqliteSaver(connect(path)))
    assert history_views(sync_reader) == stock_scenario_history(tmp_path)


# --- a long thread --------------------------------------------------------------------------------

TURNS = 40  # 160 message writes: with a history kept every 32, a cold read decodes few of them


@pytest.fixture
def long_thread(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(KeptHistories, "every", 32)
    path = tmp_path / "db"
    graph = build(AgentState, WaypointSqliteSaver(connect(path)))
    for turn in range(TURNS):
        graph.invoke(human(f"question {turn}", f"h{turn}"), THREAD)
    return path


def cold_read(path: Path, config: dict = THREAD) -> tuple[list, int]:
    """The messages at `config` read by a new saver, and how many blobs it decoded (the graph's
    saver decodes with a copy of its serializer, made for LangGraph's allowlist: so the class is
    counted)."""
    decoded = []
    loads_many = CompressedSerializer.loads_many

    def counting(self, blobs):
        blobs = list(blobs)
        decoded.extend(blobs)
        return loads_many(self, blobs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CompressedSerializer, "loads_many", counting)
        graph = build(AgentState, WaypointSqliteSaver(connect(path)))
        messages = graph.get_state(config).values["messages"]
    return messages, len(decoded)


def test_a_cold_read_of_a_long_thread_decodes_the_kept_blob_and_the_writes_after_it(long_thread):
    messages, decoded = cold_read(long_thread)
    assert len(messages) == 4 * TURNS
    assert decoded <= 32 + 4 + 2, decoded  # a history behind by < 32 writes, a turn, 2 blobs
    # Without the kept row, the same read decodes every write.
    conn = connect(long_thread)
    conn.execute("DELETE FROM waypoint_histories")
    conn.commit()
    again, all_of_them = cold_read(long_thread)
    assert again == messages and all_of_them >= 4 * TURNS


def test_the_kept_blob_holds_the_histories_of_the_kept_checkpoints_ancestors(long_thread):
    writer = WaypointSqliteSaver(connect(long_thread))
    kept_at = kept_rows(writer.conn)[0][1]
    ids = [config["configurable"]["checkpoint_id"] for config in configs_of(writer)]
    older = [configs_of(writer)[i] for i in (ids.index(kept_at) + 1, len(ids) // 2, len(ids) - 2)]
    for old in older:  # read cold, each from the one blob
        expected = SqliteSaver.get_delta_channel_history(writer, config=old, channels=CHANNELS)
        cold = WaypointSqliteSaver(connect(long_thread))
        assert cold.get_delta_channel_history(config=old, channels=CHANNELS) == expected
        messages, decoded = cold_read(long_thread, old)
        assert decoded <= 4, decoded  # the kept blob, the checkpoint, its pending writes (<= 2)
    # And warm after the latest was read (the Inspector opening an older checkpoint).
    saver = WaypointSqliteSaver(connect(long_thread))
    build(AgentState, saver).get_state(THREAD)
    for old in older:
        expected = SqliteSaver.get_delta_channel_history(writer, config=old, channels=CHANNELS)
        assert saver.get_delta_channel_history(config=old, channels=CHANNELS) == expected


def test_a_kept_row_under_another_parent_is_ignored(long_thread):
    conn = connect(long_thread)
    conn.execute("UPDATE waypoint_histories SET parent_checkpoint_id = 'not-its-parent'")
    conn.commit()
    messages, decoded = cold_read(long_thread)
    assert len(messages) == 4 * TURNS and decoded >= 4 * TURNS  # the whole walk, still right


def test_a_cold_read_never_writes_and_a_warm_one_keeps_when_due(long_thread):
    conn = connect(long_thread)
    before = kept_rows(conn)
    graph = build(AgentState, WaypointSqliteSaver(connect(long_thread)))
    for turn in range(10):  # 40 more writes, past the kept history by more than 32
        graph.invoke(human(f"more {turn}", f"m{turn}"), THREAD)
    conn = connect(long_thread)
    assert kept_rows(conn) != before, "the run's warm reads kept a newer history"
    newer = kept_rows(conn)
    conn.execute("PRAGMA user_version = 1")  # unrelated write, so `conn` sees the latest file
    WaypointSqliteSaver(connect(long_thread)).get_delta_channel_history(
        config=THREAD, channels=CHANNELS
    )
    assert kept_rows(connect(long_thread)) == newer, "a cold read leaves the rows as they are"


def test_deleting_and_copying_threads_take_the_kept_rows_along(long_thread):
    saver = WaypointSqliteSaver(connect(long_thread))
    latest = saver.get_tuple(THREAD).config["configurable"]["checkpoint_id"]
    saver.copy_thread("t1", "whole")
    saver.copy_branch("t1", "branch", latest)
    old = configs_of(saver)[-10]["configurable"]["checkpoint_id"]
    saver.copy_branch("t1", "early", old)  # before the kept checkpoint: it stays behind
    threads = [row[0] for row in kept_rows(saver.conn)]
    assert sorted(threads) == ["branch", "t1", "whole"]
    for thread_id in ("whole", "branch"):
        messages, decoded = cold_read(long_thread, {"configurable": {"thread_id": thread_id}})
        assert len(messages) == 4 * TURNS and decoded < 4 * TURNS
    saver.delete_thread("t1")
    assert sorted(row[0] for row in kept_rows(saver.conn)) == ["branch", "whole"]


def test_a_read_only_file_reads_and_a_due_history_is_not_an_error(long_thread):
    expected, _ = cold_read(long_thread)
    read_only = sqlite3.connect(f"file:{long_thread}?mode=ro", uri=True, check_same_thread=False)
    saver = WaypointSqliteSaver(read_only)
    graph = build(AgentState, saver)
    assert graph.get_state(THREAD).values["messages"] == expected  # cold
    saver._kept.every = 0  # due on the warm read that follows: the write fails quietly
    assert graph.get_state(THREAD).values["messages"] == expected


# --- Postgres -------------------------------------------------------------------------------------


def test_postgres_keeps_histories_and_reads_them_as_langgraph_does(postgres_db, keep_often):
    with ConnectionPool(postgres_db, kwargs=POSTGRES_CONNECTION, min_size=1, max_size=2) as pool:
        writer = WaypointPostgresSaver(pool)
        writer.setup()
        run_scenario(build(AgentState, writer))
        with pool.connection() as conn:
            assert conn.execute("SELECT count(*) AS n FROM waypoint_histories").fetchone()["n"]
        stock = PostgresSaver(pool, serde=CompressedSerializer())
        for config in configs_of(writer):
            expected = stock.get_delta_channel_history(config=config, channels=CHANNELS)
            cold = WaypointPostgresSaver(pool)
            assert cold.get_delta_channel_history(config=config, channels=CHANNELS) == expected

        async def read_async_cold() -> None:
            async with AsyncConnectionPool(
                postgres_db, kwargs=POSTGRES_CONNECTION, open=False
            ) as apool:
                for config in configs_of(writer):
                    expected = stock.get_delta_channel_history(config=config, channels=CHANNELS)
                    cold = AsyncWaypointPostgresSaver(apool)
                    got = await cold.aget_delta_channel_history(config=config, channels=CHANNELS)
                    assert got == expected

        asyncio.run(read_async_cold())
        writer.copy_thread("t1", "copy")
        writer.delete_thread("t1")
        with pool.connection() as conn:
            left = conn.execute("SELECT DISTINCT thread_id FROM waypoint_histories").fetchall()
        assert [row["thread_id"] for row in left] == ["copy"]


def links_reads(statements: list[str]) -> tuple[int, int]:
    """How many of the traced statements read the thread's links: (from a kept one on, all)."""
    links = [s for s in statements if s.startswith("SELECT checkpoint_id, parent_checkpoint_id, ")]
    newer = [s for s in links if "checkpoint_id >=" in s]
    return len(newer), len(links) - len(newer)


def test_a_recent_target_reads_only_the_newer_links_and_an_older_one_completes_the_rest(
    long_thread,
):
    writer = WaypointSqliteSaver(connect(long_thread))
    older = configs_of(writer)[-20:-17]  # older than the kept checkpoint
    statements: list[str] = []
    conn = connect(long_thread)
    conn.set_trace_callback(statements.append)
    saver = WaypointSqliteSaver(conn)
    assert len(build(AgentState, saver).get_state(THREAD).values["messages"]) == 4 * TURNS
    assert links_reads(statements) == (1, 0), "the latest: only the links from the kept one on"
    for old in older:
        expected = SqliteSaver.get_delta_channel_history(writer, config=old, channels=CHANNELS)
        assert saver.get_delta_channel_history(config=old, channels=CHANNELS) == expected
        assert links_reads(statements) == (1, 1), "the whole links once, for the ancestors"
    # A new process reading an older checkpoint: the newer links do not reach it, so all of them.
    statements.clear()
    cold = WaypointSqliteSaver(conn)
    expected = SqliteSaver.get_delta_channel_history(writer, config=older[0], channels=CHANNELS)
    assert cold.get_delta_channel_history(config=older[0], channels=CHANNELS) == expected
    assert links_reads(statements) == (1, 1)
