"""The timeline's algorithms on plain data: no graph, no saver, no database.

tests/test_timeline.py checks them through real runs; these pin each rule on hand-made rows, so a
store for another database only has to deliver the same rows.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.types import Interrupt

import agent  # noqa: F401  (strict msgpack before LangGraph loads)
from agent.timeline.diff import changed_channels, message_diff
from agent.timeline.keys import INPUT, NULL_TASK_ID, RUN
from agent.timeline.labels import update_label, what_happened
from agent.timeline.nodes import GraphShape
from agent.timeline.rows import checkpoint_row
from agent.timeline.text import call_text, decisions_text, summarise_write
from agent.timeline.tree import Skeleton, TreeLayout
from agent.timeline.versions import divergence, same_version, sibling_versions

SHAPE = GraphShape(
    {
        "__start__": ("__start__",),
        "llm": ("branch:to:llm",),
        "action": ("branch:to:action",),
    }
)


def stored(values=(), versions=None, seen=None):
    return {
        "channel_values": dict.fromkeys(values),
        "channel_versions": versions or {},
        "versions_seen": seen or {},
    }


# --- next nodes and writers -----------------------------------------------------------------------


def test_a_node_is_next_when_a_trigger_has_a_value_newer_than_it_saw():
    waiting = stored(["branch:to:llm"], {"branch:to:llm": 3}, {"llm": {"branch:to:llm": 2}})
    assert SHAPE.next_nodes(waiting) == ("llm",)
    ran = stored(["branch:to:llm"], {"branch:to:llm": 3}, {"llm": {"branch:to:llm": 3}})
    assert SHAPE.next_nodes(ran) == ()
    assert SHAPE.next_nodes(stored([], {"branch:to:llm": 3})) == ()  # no value: not triggered
    mixed = stored(["branch:to:action"], {"branch:to:action": "2.0"}, {"action": {"x": 1}})
    assert SHAPE.next_nodes(mixed) == ("action",)


def test_the_writers_of_a_step_are_the_nodes_whose_seen_versions_moved_in_graph_order():
    parent = stored(seen={"llm": {"branch:to:llm": 1}, "action": {"branch:to:action": 1}})
    child = stored(
        seen={
            "action": {"branch:to:action": 2},
            "llm": {"branch:to:llm": 2},
            "__input__": {"x": 1},
        }
    )
    assert SHAPE.ran_between(parent, child) == ("llm", "action")
    assert SHAPE.ran_between(None, stored(seen={"__start__": {"__start__": 1}})) == ("__start__",)


# --- labels ---------------------------------------------------------------------------------------


def test_labels_say_what_each_kind_of_row_did():
    question = {"channel_values": {"__start__": {"messages": [HumanMessage("weather in LA?")]}}}
    assert what_happened(
        {"source": "input"}, question, ran=(), parent_writes=[], parent_metadata=None
    ) == ((INPUT,), "you asked “weather in LA?”")
    asked = AIMessage("", tool_calls=[{"name": "web_search", "args": {"query": "LA"}, "id": "c1"}])
    writes = [("t1", "messages", [asked])]
    assert what_happened(
        {"source": "loop"}, {}, ran=("llm",), parent_writes=writes, parent_metadata={}
    ) == (("llm",), "llm asked web_search('LA')")
    result = ToolMessage("sunny", tool_call_id="c1")
    decided = [
        ("t2", "messages", [result]),
        (NULL_TASK_ID, "__resume__", {"c1": {"action": "approve"}}),
    ]
    assert what_happened(
        {"source": "loop"}, {}, ran=("action",), parent_writes=decided, parent_metadata={}
    ) == (("action",), "you approved 1 call; action returned 1 result")
    assert what_happened(
        {"source": "fork"}, {}, ran=(), parent_writes=[], parent_metadata={"step": 4}
    ) == ((), "replay from step 4")
    assert what_happened({}, {}, ran=(), parent_writes=[], parent_metadata=None)[1].endswith(
        "(durability exit)"
    )


def test_update_labels_come_from_waypoints_own_metadata():
    edit = {"waypoint_op": "edit", "waypoint_as_node": "llm", "waypoint_position": 3}
    assert update_label(edit) == (("llm",), "you edited message 3")
    args = {**edit, "waypoint_part": "tool_args", "waypoint_tool": "web_search"}
    assert update_label(args)[1] == "you changed the arguments of web_search (message 3)"
    cancel = {"waypoint_op": "cancel_calls", "waypoint_count": 2}
    assert update_label(cancel) == ((), "you wrote instead of deciding: 2 calls cancelled")
    assert update_label({}) == ((), "state updated")


def test_calls_decisions_and_writes_in_a_few_words():
    assert call_text("web_search", {"query": "weather in LA"}) == "web_search('weather in LA')"
    assert call_text("f", {"a": 1, "b": 2}) == 'f({"a": 1, "b": 2})'
    two = {"c1": {"action": "approve"}, "c2": {"action": "reject"}}
    assert decisions_text(two) == "you approved 1, rejected 1 of 2 calls"
    assert summarise_write("branch:to:action", None) == "action runs next"
    interrupt = Interrupt({"calls": [{"name": "web_search", "args": {"query": "x"}}]}, "i1")
    assert summarise_write("__interrupt__", [interrupt]) == "asked for approval of web_search('x')"


# --- rows -----------------------------------------------------------------------------------------


def tuple_of(checkpoint_id, parent_id, metadata, checkpoint, writes=()):
    def config(cid):
        return {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": cid}}

    return CheckpointTuple(
        config(checkpoint_id),
        {"ts": "2026-01-01T00:00:00+00:00", **checkpoint},
        metadata,
        config(parent_id) if parent_id else None,
        list(writes),
    )


def test_a_row_carries_its_branch_run_label_and_halt():
    skeleton = Skeleton.from_rows(
        [
            ("b", "a", {"source": "loop", "step": 1, RUN: "r1"}),
            ("a", None, {"source": "input", "step": -1, RUN: "r1"}),
        ]
    )
    layout = TreeLayout.of(skeleton, "b")
    asked = AIMessage("", tool_calls=[{"name": "web_search", "args": {"query": "LA"}, "id": "c1"}])
    parent = tuple_of(
        "a",
        None,
        skeleton.metadata["a"],
        stored(seen={}),
        [("t1", "messages", [asked])],
    )
    found = tuple_of(
        "b",
        "a",
        skeleton.metadata["b"],
        stored(
            ["branch:to:action"],
            {"branch:to:action": 2},
            {"llm": {"branch:to:llm": 1}},
        ),
        [("t2", "__interrupt__", [Interrupt({"calls": []}, "i1")])],
    )
    row = checkpoint_row(layout, SHAPE, found, parent)
    assert row.label == "llm asked web_search('LA') (asked for approval)" and row.halted
    assert row.written_by == ("llm",) and row.next_nodes == ("action",)
    assert row.run_number == 1 and row.is_head and row.is_latest and row.on_shown_branch
    assert row.parent_id == "a" and row.branch == 0 and row.created_at > 0


def test_a_stop_is_not_an_error():
    skeleton = Skeleton.from_rows([("a", None, {"source": "loop", "step": 0})])
    stopped = tuple_of(
        "a", None, skeleton.metadata["a"], stored(), [("t", "__error__", "RunCancelled('x')")]
    )
    row = checkpoint_row(TreeLayout.of(skeleton, None), SHAPE, stopped, None)
    assert row.stopped and row.error is None and row.label.endswith("(you stopped the next step)")


# --- versions and diffs ---------------------------------------------------------------------------


def test_an_edited_message_keeps_its_id_and_is_another_version():
    original, edited = HumanMessage("LA?", id="h1"), HumanMessage("NY?", id="h1")
    assert not same_version(original, edited) and same_version(original, original.model_copy())
    assert divergence([original], [edited]) == 0
    assert divergence([original], [original, AIMessage("a")]) is None  # an extension
    diff = message_diff([original], [edited, AIMessage("sunny", id="a1")])
    assert [c.after.text for c in diff.changed] == ["NY?"] and len(diff.added) == 1


def test_changed_channels_leave_messages_out():
    assert changed_channels({"messages": 2, "x": 2, "y": 1}, {"messages": 1, "y": 1, "z": 1}) == (
        "x",
        "z",
    )


def test_sibling_versions_are_numbered_by_when_they_appeared():
    question = HumanMessage("LA?", id="h1")
    first, second = AIMessage("sunny", id="a1"), AIMessage("warm", id="a2")
    states = {"q": [question], "one": [question, first], "two": [question, second]}
    skeleton = Skeleton.from_rows([("two", "q", {}), ("one", "q", {}), ("q", None, {})])
    for head, index in (("one", 0), ("two", 1)):
        (found,) = sibling_versions(skeleton, head, states.__getitem__)
        assert found.position == 1 and found.index == index
        assert [v.checkpoint_id for v in found.versions] == ["one", "two"]
        assert [v.preview for v in found.versions] == ["sunny", "warm"]


def test_a_future_or_an_extension_is_no_sibling():
    question = HumanMessage("LA?", id="h1")
    answer = AIMessage("sunny", id="a1")
    states = {"q": [question], "a": [question, answer], "more": [question, answer, question]}
    skeleton = Skeleton.from_rows([("more", "a", {}), ("a", "q", {}), ("q", None, {})])
    assert sibling_versions(skeleton, "q", states.__getitem__) == ()
    assert sibling_versions(skeleton, "more", states.__getitem__) == ()
