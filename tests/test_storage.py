"""Waypoint's storage keeps LangGraph's semantics and grows linearly.

One scripted scenario (turns, an interrupt and its resume, edits by id, a removal, a fork from a
past checkpoint, a replay, a clear) runs on the stock `add_messages` channel with the stock
`SqliteSaver` and on Waypoint's channel and savers; every checkpoint of the history must hold the
same messages. Then the same for the async saver, for each saver reading the other's file, and for
the delta history walk against LangGraph's own. Finally a small thread must grow linearly.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import uuid
from pathlib import Path
from typing import Annotated, TypedDict

import aiosqlite
import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph.message import REMOVE_ALL_MESSAGES, add_messages
from langgraph.types import Command, interrupt

from agent.state import AgentState
from agent.storage import (
    ZSTD_DICTIONARY,
    AsyncWaypointSqliteSaver,
    CompressedSerializer,
    WaypointSqliteSaver,
)
from bench import storage as bench

THREAD = {"configurable": {"thread_id": "t1"}}


class StockState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def build(state: type, saver) -> object:
    """llm calls `search` for each question, then answers; action asks a human for "ask" queries."""

    def llm(state: dict) -> dict:
        messages = state["messages"]
        last, n = messages[-1], len(messages)
        if isinstance(last, HumanMessage):
            call = {"id": f"call-{n}", "name": "search", "args": {"q": last.content}}
            return {"messages": [AIMessage("", id=f"ai-{n}", tool_calls=[call])]}
        return {"messages": [AIMessage(f"answer {n} from {last.content}", id=f"ai-{n}")]}

    def action(state: dict) -> dict:
        ai = next(m for m in reversed(state["messages"]) if isinstance(m, AIMessage))
        call = ai.tool_calls[0]
        result = f"found {call['args']['q']}"
        if call["args"]["q"].startswith("ask"):
            result = f"human said {interrupt({'call': call['id']})}"
        return {"messages": [ToolMessage(result, tool_call_id=call["id"], id=f"tool-{call['id']}")]}

    return bench.compile_loop(state, saver, llm, action)


def human(text: str, id: str) -> dict:
    return {"messages": [HumanMessage(text, id=id)]}


def end_of_turn_one(snapshot) -> bool:
    return snapshot.next == () and len(snapshot.values.get("messages", [])) == 4


def inside_turn_one(snapshot) -> bool:
    return snapshot.next == ("action",) and len(snapshot.values.get("messages", [])) == 2


# (operation, argument, where: None = the latest checkpoint, or the oldest one matching)
SCENARIO = [
    ("invoke", human("hello", "h1"), None),
    ("invoke", human("ask about cats", "h2"), None),  # halts inside action
    (
        "update",
        (
            {
                "messages": [
                    AIMessage(
                        "",
                        id="ai-5",
                        tool_calls=[
                            {"id": "call-5", "name": "search", "args": {"q": "ask about dogs"}}
                        ],
                    )
                ]
            },
            "llm",
        ),
        None,
    ),
    ("invoke", Command(resume="yes"), None),  # action runs the edited call with the answer
    ("update", ({"messages": [RemoveMessage(id="h1")]}, "llm"), None),
    ("update", (human("hello, edited", "h1"), "llm"), end_of_turn_one),  # a fork
    ("invoke", human("on the fork", "h3"), None),
    ("invoke", None, inside_turn_one),  # replay from inside turn one: a second branch
    (
        "update",
        (
            {
                "messages": [
                    RemoveMessage(id=REMOVE_ALL_MESSAGES),
                    HumanMessage("fresh start", id="h4"),
                ]
            },
            "llm",
        ),
        None,
    ),
    ("invoke", human("after the clear", "h5"), None),
]


def _target(history: list, where) -> dict:
    return THREAD if where is None else [s for s in history if where(s)][-1].config


def run_scenario(graph) -> None:
    for operation, argument, which in SCENARIO:
        config = _target(list(graph.get_state_history(THREAD)), which)
        if operation == "invoke":
            graph.invoke(argument, config)
        else:
            graph.update_state(config, argument[0], as_node=argument[1])


async def arun_scenario(graph) -> None:
    for operation, argument, which in SCENARIO:
        history = [s async for s in graph.aget_state_history(THREAD)]
        config = _target(history, which)
        if operation == "invoke":
            await graph.ainvoke(argument, config)
        else:
            await graph.aupdate_state(config, argument[0], as_node=argument[1])


def view(snapshot) -> tuple:
    """What a checkpoint means, without its ids and timestamps."""
    interrupts = tuple(i.value for task in snapshot.tasks for i in task.interrupts)
    results = tuple((task.name, task.result) for task in snapshot.tasks)  # from pending writes
    return (
        snapshot.values.get("messages"),
        snapshot.next,
        snapshot.metadata.get("source"),
        snapshot.metadata.get("step"),
        interrupts,
        results,
    )


def history_views(graph, **kwargs) -> list[tuple]:
    return [view(s) for s in graph.get_state_history(THREAD, **kwargs)]


async def ahistory_views(graph, **kwargs) -> list[tuple]:
    return [view(s) async for s in graph.aget_state_history(THREAD, **kwargs)]


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, check_same_thread=False)


@pytest.fixture(scope="module")
def stock_history(tmp_path_factory) -> list[tuple]:
    graph = build(StockState, SqliteSaver(connect(tmp_path_factory.mktemp("stock") / "db")))
    run_scenario(graph)
    return history_views(graph)


WRITERS_VIEWS: dict[str, list[tuple]] = {}  # the history as the saver that wrote it reads it


@pytest.fixture(scope="module")
def sync_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("waypoint") / "db"
    graph = build(AgentState, WaypointSqliteSaver(connect(path)))
    run_scenario(graph)
    WRITERS_VIEWS["sync"] = history_views(graph)
    return path


@pytest.fixture(scope="module")
def async_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("waypoint_async") / "db"

    async def write() -> None:
        async with aiosqlite.connect(path) as conn:
            graph = build(AgentState, AsyncWaypointSqliteSaver(conn))
            await arun_scenario(graph)
            WRITERS_VIEWS["async"] = await ahistory_views(graph)

    asyncio.run(write())
    return path


def read_async(path: Path, **kwargs) -> list[tuple]:
    async def read() -> list[tuple]:
        async with aiosqlite.connect(path) as conn:
            return await ahistory_views(build(AgentState, AsyncWaypointSqliteSaver(conn)), **kwargs)

    return asyncio.run(read())


# --- same meaning as the stock channel and saver --------------------------------------------------


def test_scenario_exercises_forks_interrupts_and_removals(stock_history):
    sources = [view[2] for view in stock_history]
    assert sources.count("update") == 4 and sources.count("fork") >= 1
    assert any(view[4] for view in stock_history)  # interrupts
    assert any(result for view in stock_history for _, result in view[5])  # pending writes
    assert len(stock_history) > 20


def test_every_checkpoint_matches_stock(stock_history, sync_file):
    ours = build(AgentState, WaypointSqliteSaver(connect(sync_file)))
    assert history_views(ours) == stock_history  # read cold by a new saver
    assert WRITERS_VIEWS["sync"] == stock_history  # and from the writer's cache


def test_async_saver_matches_stock(stock_history, async_file):
    assert read_async(async_file) == stock_history
    assert WRITERS_VIEWS["async"] == stock_history


def test_each_saver_reads_the_other_s_file(stock_history, sync_file, async_file):
    assert read_async(sync_file) == stock_history
    sync_reader = build(AgentState, WaypointSqliteSaver(connect(async_file)))
    assert history_views(sync_reader) == stock_history


def test_history_paging_and_filters_match_stock(tmp_path, sync_file):
    stock = build(StockState, SqliteSaver(connect(tmp_path / "stock")))
    run_scenario(stock)
    ours = build(AgentState, WaypointSqliteSaver(connect(sync_file)))
    before = list(stock.get_state_history(THREAD))[7]
    our_before = list(ours.get_state_history(THREAD))[7]
    assert history_views(ours, before=our_before.config, limit=5) == history_views(
        stock, before=before.config, limit=5
    )
    assert history_views(ours, filter={"source": "update"}) == history_views(
        stock, filter={"source": "update"}
    )


def test_delta_history_matches_langgraphs_own_walk(sync_file, async_file):
    """The fast walk (cold and cached) returns what the stock saver's walk returns."""
    saver = WaypointSqliteSaver(connect(sync_file))
    configs = [t.config for t in saver.list(THREAD)]
    for config in [*configs, *configs]:  # the second pass reads from the cache
        expected = SqliteSaver.get_delta_channel_history(
            saver, config=config, channels=["messages"]
        )
        assert saver.get_delta_channel_history(config=config, channels=["messages"]) == expected
        cold = WaypointSqliteSaver(connect(sync_file))
        assert cold.get_delta_channel_history(config=config, channels=["messages"]) == expected

    async def compare() -> None:
        async with aiosqlite.connect(async_file) as conn:
            asaver = AsyncWaypointSqliteSaver(conn)
            aconfigs = [t.config async for t in asaver.alist(THREAD)]
            for config in [*aconfigs, *aconfigs]:
                expected = await AsyncSqliteSaver.aget_delta_channel_history(
                    asaver, config=config, channels=["messages"]
                )
                got = await asaver.aget_delta_channel_history(config=config, channels=["messages"])
                assert got == expected
                cold = AsyncWaypointSqliteSaver(conn)  # a thread its cache does not know
                assert (
                    await cold.aget_delta_channel_history(config=config, channels=["messages"])
                    == expected
                )

    asyncio.run(compare())


def test_reads_and_continues_threads_written_by_the_stock_saver(tmp_path):
    """Rows without `stored_channels`, with string versions and plain msgpack, read the same."""
    path = tmp_path / "db"
    stock_written = build(AgentState, SqliteSaver(connect(path)))
    stock_written.invoke(human("hello", "h1"), THREAD)
    stock_written.invoke(human("again", "h2"), THREAD)
    ours = build(AgentState, WaypointSqliteSaver(connect(path)))
    assert history_views(ours) == history_views(stock_written)
    ours.invoke(human("third", "h3"), THREAD)
    stock_reader = build(AgentState, SqliteSaver(connect(path), serde=CompressedSerializer()))
    assert history_views(ours) == history_views(stock_reader)
    latest = ours.get_state(THREAD)
    assert [m.id for m in latest.values["messages"]][::4] == ["h1", "h2", "h3"]
    assert all(
        isinstance(v, str)
        for v in ours.checkpointer.get_tuple(THREAD).checkpoint["channel_versions"].values()
    )


@pytest.mark.parametrize("durability", ["sync", "exit"])
def test_durability_modes_match_stock(tmp_path, durability):
    """Exit mode stores a run's delta writes at its end, under synthetic task ids."""

    def run(graph) -> list[tuple]:
        graph.invoke(human("hello", "h1"), THREAD, durability=durability)
        graph.invoke(human("ask twice", "h2"), THREAD, durability=durability)
        graph.invoke(Command(resume="sure"), THREAD, durability=durability)
        graph.invoke(human("bye", "h3"), THREAD, durability=durability)
        return history_views(graph)

    ours = run(build(AgentState, WaypointSqliteSaver(connect(tmp_path / "ours"))))
    assert ours == run(build(AgentState, SqliteSaver(connect(tmp_path / "delta"))))
    # A delta channel in exit mode anchors a new thread's writes on an empty checkpoint of its own.
    anchor = ([], (), None, -2, (), ())
    stock = run(build(StockState, SqliteSaver(connect(tmp_path / "stock"))))
    assert [view for view in ours if view != anchor] == stock


def test_reads_a_read_only_stock_file(tmp_path):
    """No column can be added to a read-only file: reads fall back to LangGraph's walk."""
    path = tmp_path / "db"
    written = build(AgentState, SqliteSaver(connect(path)))
    written.invoke(human("hello", "h1"), THREAD)
    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    assert history_views(build(AgentState, WaypointSqliteSaver(read_only))) == history_views(
        written
    )


def test_delete_thread_removes_only_that_thread(tmp_path):
    saver = WaypointSqliteSaver(connect(tmp_path / "db"))
    graph = build(AgentState, saver)
    other = {"configurable": {"thread_id": "t2"}}
    graph.invoke(human("hello", "h1"), THREAD)
    graph.invoke(human("hi", "h9"), other)
    saver.delete_thread("t1")
    assert graph.get_state(THREAD).values == {}
    assert len(graph.get_state(other).values["messages"]) == 4


def test_messages_written_without_ids_keep_their_ids_across_reads(tmp_path):
    path = tmp_path / "db"
    graph = build(AgentState, WaypointSqliteSaver(connect(path)))
    graph.invoke({"messages": [("user", "a tuple")]}, THREAD)
    graph.invoke({"messages": "a bare string"}, THREAD)
    first = [m.id for m in graph.get_state(THREAD).values["messages"]]
    fresh = build(AgentState, WaypointSqliteSaver(connect(path)))
    assert [m.id for m in fresh.get_state(THREAD).values["messages"]] == first
    assert None not in first


# --- what is stored -------------------------------------------------------------------------------


def test_compression_dictionary_is_frozen():
    """Stored "mpz1" blobs need exactly these bytes: a new dictionary needs a new type tag."""
    assert hashlib.sha256(ZSTD_DICTIONARY).hexdigest() == (
        "99550c32901a8a89e80546e6e6baa2886dd3aebd0921a1470eb2453fac821165"
    )


def test_serializer_round_trips_and_keeps_the_allowlist():
    serde = CompressedSerializer()
    message = AIMessage("word " * 100, id="a")
    type_, blob = serde.dumps_typed([message])
    assert type_ == CompressedSerializer.TYPE and len(blob) < 100
    assert serde.loads_typed((type_, blob)) == [message]
    assert serde.dumps_typed(None) == ("null", b"")
    extended = serde.with_msgpack_allowlist([("uuid", "UUID"), ("my.module", "Thing")])
    assert isinstance(extended, CompressedSerializer)
    assert extended.loads_typed(extended.dumps_typed({"id": uuid.UUID(int=1)})) == {
        "id": uuid.UUID(int=1)
    }


def test_messages_read_back_exactly_as_the_stock_serializer_reads_them():
    """Stored messages skip validation on the way back (the cost of a first read): the result
    must still be what validating gives, down to the fields set, and other models still validate."""
    call = {"name": "web_search", "args": {"query": "q"}, "id": "call_1", "type": "tool_call"}
    written = [
        HumanMessage("question " * 20, id="h"),
        SystemMessage("be brief", id="s"),
        AIMessage(
            "",
            id="a",
            tool_calls=[call],
            usage_metadata={"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
            response_metadata={"finish_reason": "tool_calls"},
        ),
        AIMessage([{"type": "text", "text": "answer " * 30}], id="b", name="bot"),
        ToolMessage("result " * 40, tool_call_id="call_1", name="web_search", id="t"),
        RemoveMessage(id="h"),
        AIMessageChunk(content="chunk", id="c"),
    ]
    serde, stock = CompressedSerializer(), JsonPlusSerializer()
    read = serde.loads_typed(serde.dumps_typed(written))
    expected = stock.loads_typed(stock.dumps_typed(written))
    assert read == expected == written
    for ours, theirs in zip(read, expected, strict=True):
        assert type(ours) is type(theirs)
        assert ours.model_fields_set == theirs.model_fields_set
        assert ours.model_dump() == theirs.model_dump()
    assert isinstance(read[-1], AIMessageChunk)  # not one of the fast-path classes: the stock hook


def test_checkpoints_store_compact_versions_and_no_snapshot_counters(sync_file):
    saver = WaypointSqliteSaver(connect(sync_file))
    latest = saver.get_tuple(THREAD)
    assert all(isinstance(v, int) for v in latest.checkpoint["channel_versions"].values())
    assert all("counters_since_delta_snapshot" not in t.metadata for t in saver.list(THREAD))


def test_storage_grows_linearly(tmp_path):
    """150 realistic turns: at most 3x the raw message bytes, and no growth in bytes per turn."""
    turns, window = 150, bench.WINDOW
    path = tmp_path / "db"
    conn = bench.open_connection(path)
    graph = bench.build_graph(AgentState, WaypointSqliteSaver(conn), bench.Prose(seed=1))
    prose, sizes = bench.Prose(seed=2), {}
    for turn in range(1, turns + 1):
        graph.invoke({"messages": [HumanMessage(prose.text(200))]}, THREAD)
        if turn in (50 - window, 50, turns - window, turns):
            sizes[turn] = bench.delta_bytes(conn, path)
    raw = bench.raw_message_bytes(graph.get_state(THREAD).values["messages"])
    early = (sizes[50] - sizes[50 - window]) / window
    late = (sizes[turns] - sizes[turns - window]) / window
    total, kept = bench.file_bytes(conn, path), bench.kept_bytes(conn)
    assert total <= 3 * raw, f"{total / raw:.2f}x the raw message bytes"
    # The kept history is one copy of the messages, compressed as one blob.
    assert 0 < kept <= raw / 2, f"kept histories: {kept / raw:.2f}x the raw message bytes"
    # The goal bench/storage.py states for per-turn bytes, late against early (page reuse
    # in the SQLite file varies by a few percent between runs).
    assert late <= bench.FLATNESS_GOAL * early, (
        f"bytes per turn grew from {early:.0f} to {late:.0f}"
    )
    snapshots = conn.execute(
        "SELECT COUNT(*) FROM checkpoints WHERE stored_channels LIKE '%\"messages\"%'"
    ).fetchone()
    assert snapshots == (0,), "no turn should copy the whole conversation"
