"""The `CheckpointStore` contract (`agent.checkpoint_store`), on SQLite and Postgres, by hand.

Each test writes a small thread through `insert_thread` and reads it back through the other
methods, so another database's store can run the same tests against its own fixture.
"""

from __future__ import annotations

from typing import cast

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import CheckpointMetadata
from psycopg_pool import ConnectionPool

import agent  # noqa: F401  (strict msgpack before LangGraph loads)
from agent.checkpoint_store import (
    NewCheckpoint,
    SqliteCheckpointStore,
    StoredWrite,
    is_snapshot,
    make_snapshot,
    snapshot_value,
)
from agent.checkpoint_store_postgres import PostgresCheckpointStore
from agent.persistence import POSTGRES_CONNECTION, open_connection
from agent.storage import WaypointSqliteSaver
from agent.storage_postgres import WaypointPostgresSaver


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_db")
        with ConnectionPool(url, kwargs=POSTGRES_CONNECTION, min_size=1, max_size=2) as pool:
            saver = WaypointPostgresSaver(pool)
            saver.setup()
            yield PostgresCheckpointStore(saver)
        return
    conn = open_connection(tmp_path / "store.sqlite")
    sqlite_saver = WaypointSqliteSaver(conn)
    sqlite_saver.setup()
    yield SqliteCheckpointStore(sqlite_saver)
    conn.close()


def checkpoint(checkpoint_id, parent_id=None, writes=(), **metadata):
    return NewCheckpoint(
        checkpoint_ns="",
        parent_id=parent_id,
        checkpoint={
            "v": 4,
            "id": checkpoint_id,
            "ts": "2026-01-01T00:00:00+00:00",
            "channel_values": {},
            "channel_versions": {},
            "versions_seen": {},
            "updated_channels": None,
        },
        metadata=cast(CheckpointMetadata, {"source": "loop", "step": 0, **metadata}),
        new_versions={},
        writes=list(writes),
    )


def test_an_unknown_thread_has_nothing(store):
    assert store.skeleton_rows("none") == []
    assert store.latest_id("none") is None
    assert not store.exists("none", "c1")
    assert store.newest_of_run("none", "r1") is None
    assert store.thread_writes("none") == {}


def test_skeleton_rows_are_newest_first_with_their_metadata(store):
    store.insert_thread(
        "t",
        [
            checkpoint("c1"),
            checkpoint("c2", "c1", waypoint_run="r1"),
            checkpoint("c3", "c1", waypoint_run="r2"),
        ],
    )
    rows = store.skeleton_rows("t")
    assert [(r.checkpoint_id, r.parent_id) for r in rows] == [
        ("c3", "c1"),
        ("c2", "c1"),
        ("c1", None),
    ]
    assert rows[0].metadata["waypoint_run"] == "r2" and rows[2].metadata["source"] == "loop"
    assert store.latest_id("t") == "c3"
    assert store.exists("t", "c2") and not store.exists("t", "c9")
    assert not store.exists("other", "c2")
    assert store.newest_of_run("t", "r1") == "c2" and store.newest_of_run("t", "r9") is None


def test_the_stamp_changes_when_a_checkpoint_is_added(store):
    store.insert_thread("t", [checkpoint("c1")])
    before = store.stamp("t")
    assert store.stamp("t") == before
    store.insert_thread("t", [checkpoint("c2", "c1")])
    assert store.stamp("t") != before


def test_writes_come_back_decoded_in_replay_order_with_task_paths(store):
    asked = AIMessage("", id="a1")
    store.insert_thread(
        "t",
        [
            checkpoint(
                "c1",
                writes=[
                    ("task-b", "~__pregel_pull, llm", [("messages", [asked])]),
                    (
                        "task-a",
                        "~__pregel_pull, action",
                        [("messages", []), ("branch:to:llm", None)],
                    ),
                    ("task-a", "~__pregel_pull, action", [("__interrupt__", "why")]),
                ],
            )
        ],
    )
    writes = store.thread_writes("t")[("", "c1")]
    assert [(w.task_path, w.channel) for w in writes] == [
        ("~__pregel_pull, action", "__interrupt__"),  # special channels sort first (negative idx)
        ("~__pregel_pull, action", "messages"),
        ("~__pregel_pull, action", "branch:to:llm"),
        ("~__pregel_pull, llm", "messages"),
    ]
    assert writes[-1] == StoredWrite("task-b", "~__pregel_pull, llm", "messages", [asked])


def test_insert_thread_stores_all_or_nothing(store, monkeypatch):
    real = store.saver.serde.dumps_typed
    boom = [HumanMessage("boom", id="h2")]

    def failing(value):  # c2's write: c1 and its write were written before it
        if value == boom:
            raise OSError("disk full")
        return real(value)

    monkeypatch.setattr(store.saver.serde, "dumps_typed", failing)
    thread = [
        checkpoint("c1", writes=[("task", "", [("messages", [HumanMessage("hi", id="h1")])])]),
        checkpoint("c2", "c1", writes=[("task", "", [("messages", boom)])]),
    ]
    with pytest.raises(OSError, match="disk full"):
        store.insert_thread("t", thread)
    assert store.skeleton_rows("t") == [] and store.thread_writes("t") == {}
    monkeypatch.undo()
    store.insert_thread("t", thread)
    assert [r.checkpoint_id for r in store.skeleton_rows("t")] == ["c2", "c1"]


def test_a_snapshot_is_told_apart_from_a_list():
    messages = [HumanMessage("hi", id="h1")]
    snapshot = make_snapshot(messages)
    assert is_snapshot(snapshot) and snapshot_value(snapshot) == messages
    assert not is_snapshot(messages) and not is_snapshot(tuple(messages))
