"""Time travel on both engines: timeline, checkpoint detail, edit-as-fork, fork to a new thread,
replay, branch heads, sibling versions, regenerate, edit and resend.

Each scenario runs the real graph, savers and background runs against a scripted model, then
checks what the inspector and the chat would be given, and what was (or was not) written.
"""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

from agent.choices import ApprovalPolicy
from agent.errors import DecisionError, InputError, ThreadBusy
from agent.events import Done, Halted, ToolResult
from agent.protocol import LOCAL_USER
from agent.timeline import Skeleton, bisect_path
from tests.engine_fixtures import ON_BOTH_DATABASES, engine_run, harness_for, make_harness
from tests.scripted_model import TokenGate, reply
from tests.test_engine import assert_history_valid, state_messages


@pytest.fixture(**ON_BOTH_DATABASES)
def h(request, data_dir):
    harness = harness_for(request, data_dir)
    yield harness
    harness.backend.close()


def all_rows(h, thread_id):
    return h.backend.timeline(LOCAL_USER, thread_id, limit=10_000).rows


def count(h, thread_id) -> int:
    return h.backend.timeline(LOCAL_USER, thread_id, limit=1).total


def texts(messages) -> list[str]:
    return [m.text for m in messages]


def conversation(seen) -> list[str]:
    """What the model was shown, without the system prompt."""
    return [m.text for m in seen if not isinstance(m, SystemMessage)]


def halted_then_answered(h, question="weather in LA?", query="weather in LA"):
    """A thread that halted on one web_search call, was approved, and answered."""
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Searching.", ("web_search", {"query": query}))]
    h.send(thread.id, question)
    pending = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    h.model.script = [reply("It is sunny today [1].")]
    h.decide(thread.id, {pending[0].id: {"action": "approve"}})
    return thread, pending[0]


def row_where(rows, **wanted):
    matches = [r for r in rows if all(getattr(r, k) == v for k, v in wanted.items())]
    assert len(matches) == 1, (wanted, [(r.source, r.step, r.label) for r in rows])
    return matches[0]


def ask_and_answer(h, thread_id, question, answer):
    h.model.script = [reply(answer)]
    return h.send(thread_id, question)


# --- timeline ------------------------------------------------------------------------------------


def test_timeline_labels_sources_writers_and_runs(h):
    thread, call = halted_then_answered(h)
    page = h.backend.timeline(LOCAL_USER, thread.id)
    described = [(r.source, r.step, r.written_by, r.next_nodes, r.label) for r in page.rows]
    assert described == [
        ("loop", 3, ("llm",), (), "llm answered (5 words)"),
        ("loop", 2, ("action",), ("llm",), "you approved 1 call; action returned 1 result"),
        (
            "loop",
            1,
            ("llm",),
            ("action",),
            "llm asked web_search('weather in LA') (asked for approval)",
        ),
        ("loop", 0, ("__start__",), ("llm",), "your message was added"),
        ("input", -1, ("__input__",), ("__start__",), "you asked “weather in LA?”"),
    ]
    assert page.total == 5 and page.branches == 1 and not page.has_more
    assert [r.run_number for r in page.rows] == [2, 2, 1, 1, 1]
    runs = {r.run_id for r in page.rows}
    assert len(runs) == 2 and None not in runs  # waypoint_run is in every run checkpoint's metadata
    assert page.rows[2].halted and not page.rows[1].halted
    assert page.rows[0].is_latest and page.rows[0].is_head and page.head_id == page.latest_id
    assert all(r.on_shown_branch and r.branch == 0 and r.children <= 1 for r in page.rows)
    assert [r.parent_id for r in page.rows[:-1]] == [r.checkpoint_id for r in page.rows[1:]]
    assert page.rows[-1].parent_id is None
    assert all(r.created_at > 0 for r in page.rows)
    assert sorted(r.checkpoint_id for r in page.rows) == [r.checkpoint_id for r in page.rows][::-1]


def test_labels_for_decisions_errors_and_cancelled_calls(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": "a"}), ("web_search", {"query": "b"}))]
    h.send(thread.id, "a and b")
    pending = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    h.model.script = [RuntimeError("provider down")]
    h.decide(
        thread.id,
        {pending[0].id: {"action": "approve"}, pending[1].id: {"action": "reject", "reason": "no"}},
    )
    rows = all_rows(h, thread.id)
    assert rows[0].label == (
        "you approved 1, rejected 1 of 2 calls; action returned 1 result, web_search rejected "
        "by you (not run)"
    )
    assert rows[0].error and "provider down" in rows[0].error  # llm failed in the step after it
    h.model.script = [reply("", ("web_search", {"query": "c"}))]
    h.send(thread.id, "c then")
    h.model.script = [reply("ok")]
    h.send(thread.id, "never mind")
    labels = [r.label for r in all_rows(h, thread.id)]
    assert "you wrote instead of deciding: 1 call cancelled" in labels
    assert "you asked “never mind”" in labels


def test_next_nodes_parents_and_steps_match_stock_history_on_every_checkpoint(h):
    thread, call = halted_then_answered(h)
    rows = all_rows(h, thread.id)
    halt = row_where(rows, step=1, source="loop")
    start = row_where(rows, step=0, source="loop")
    messages = h.backend.checkpoint_detail(LOCAL_USER, thread.id, start.checkpoint_id).messages
    h.backend.edit_message(
        LOCAL_USER, thread.id, start.checkpoint_id, messages[0].id, text="weather in SF?"
    )
    h.model.script = [reply("Searching again.", ("web_search", {"query": "SF"}))]
    h.finish(h.backend.resume(LOCAL_USER, thread.id, h.choices, h.options))  # replays into a halt
    h.finish(
        h.backend.resume(
            LOCAL_USER, thread.id, h.choices, h.options, checkpoint_id=halt.checkpoint_id
        )
    )
    h.backend.show_branch(LOCAL_USER, thread.id, rows[0].checkpoint_id)
    ask_and_answer(h, thread.id, "and tomorrow?", "Sunny too.")
    config = {"configurable": {"thread_id": thread.id}}
    history = h.backend.graph.get_state_history(config)
    stock = {s.config["configurable"]["checkpoint_id"]: s for s in history}
    rows = all_rows(h, thread.id)
    assert {r.checkpoint_id for r in rows} == set(stock) and len(rows) == len(stock)
    assert {r.source for r in rows} == {"input", "loop", "update", "fork"}
    for row in rows:
        snapshot = stock[row.checkpoint_id]
        parent = (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        assert row.next_nodes == tuple(snapshot.next), row.label
        assert (row.parent_id, row.step, row.source) == (
            parent,
            snapshot.metadata["step"],
            snapshot.metadata["source"],
        )


def test_paging_newest_first_with_a_total(h):
    thread, _ = halted_then_answered(h)
    ask_and_answer(h, thread.id, "thanks", "You are welcome.")
    everything = all_rows(h, thread.id)
    assert len(everything) == 8  # 5 for the turn with a tool, 3 for the plain one
    pages = [
        h.backend.timeline(LOCAL_USER, thread.id, limit=3, offset=offset) for offset in (0, 3, 6)
    ]
    assert [len(p.rows) for p in pages] == [3, 3, 2]
    assert [p.has_more for p in pages] == [True, True, False]
    assert all(p.total == 8 for p in pages)
    assert [r for p in pages for r in p.rows] == list(everything)
    assert h.backend.timeline(LOCAL_USER, thread.id, limit=3, offset=8).rows == ()
    assert h.backend.timeline(LOCAL_USER, h.backend.create_thread(LOCAL_USER).id).total == 0


def test_the_timeline_filtered_by_a_node_lists_only_what_it_wrote_paged(h, monkeypatch):
    thread, _ = halted_then_answered(h)
    ask_and_answer(h, thread.id, "thanks", "You are welcome.")
    everything = all_rows(h, thread.id)
    monkeypatch.setattr(h.backend.history, "FILTER_CHUNK", 3)  # several chunks for 8 rows
    llm = h.backend.timeline(LOCAL_USER, thread.id, limit=10, written_by="llm")
    assert llm.written_by == "llm" and llm.total == 3
    assert list(llm.rows) == [r for r in everything if "llm" in r.written_by]
    pages = [
        h.backend.timeline(LOCAL_USER, thread.id, limit=2, offset=o, written_by="llm")
        for o in (0, 2)
    ]
    assert [len(p.rows) for p in pages] == [2, 1] and pages[0].has_more
    assert [r for p in pages for r in p.rows] == list(llm.rows)
    start = h.backend.timeline(LOCAL_USER, thread.id, written_by="__start__").rows
    assert {r.written_by for r in start} == {("__start__",), ("__input__",)}, "input rows too"
    assert len(start) == 4  # each turn's input and the step that applied it
    assert h.backend.timeline(LOCAL_USER, thread.id, written_by="__end__").total == 0
    with pytest.raises(InputError, match="written_by"):
        h.backend.timeline(LOCAL_USER, thread.id, written_by=3)


def test_the_diff_of_an_edited_call_says_which_words_of_its_arguments_changed(h):
    thread, _ = halted_then_answered(h, query="weather in LA today")
    halt = row_where(all_rows(h, thread.id), step=1, source="loop")
    ai = h.backend.checkpoint_detail(LOCAL_USER, thread.id, halt.checkpoint_id).messages[-1]
    new_id = h.backend.edit_message(
        LOCAL_USER,
        thread.id,
        halt.checkpoint_id,
        ai.id,
        tool_args='{"query": "weather in NY today"}',
    )
    diff = h.backend.checkpoint_detail(LOCAL_USER, thread.id, new_id).diff
    (change,) = diff.changed
    assert change.before.tool_calls[0].args == {"query": "weather in LA today"}
    assert change.after.tool_calls[0].args == {"query": "weather in NY today"}
    (field,) = change.fields
    assert field.label == "web_search · query"
    assert [(w.kind, w.text) for w in field.words] == [
        ("same", "weather in "),
        ("removed", "LA"),
        ("added", "NY"),
        ("same", " today"),
    ]


def test_tree_markers_show_where_history_forks(h):
    thread, _ = halted_then_answered(h)
    rows = all_rows(h, thread.id)
    start = row_where(rows, step=0, source="loop")
    human = h.backend.checkpoint_detail(LOCAL_USER, thread.id, start.checkpoint_id).messages[0]
    edited = h.backend.edit_message(
        LOCAL_USER, thread.id, start.checkpoint_id, human.id, text="weather in SF?"
    )
    page = h.backend.timeline(LOCAL_USER, thread.id)
    by_id = {r.checkpoint_id: r for r in page.rows}
    assert page.branches == 2 and page.head_id == edited == page.latest_id
    assert by_id[start.checkpoint_id].children == 2 and by_id[start.checkpoint_id].is_fork_point
    assert by_id[edited].parent_id == start.checkpoint_id and by_id[edited].branch == 0
    assert by_id[edited].label == "you edited message 1"
    assert by_id[edited].written_by == ("__start__",)
    old_tip = rows[0].checkpoint_id
    assert by_id[old_tip].branch == 1 and not by_id[old_tip].on_shown_branch
    assert by_id[rows[1].checkpoint_id].branch_tip == old_tip
    assert by_id[start.checkpoint_id].branch == 0 and by_id[start.checkpoint_id].on_shown_branch
    h.backend.show_branch(LOCAL_USER, thread.id, old_tip)
    page = h.backend.timeline(LOCAL_USER, thread.id)
    by_id = {r.checkpoint_id: r for r in page.rows}
    assert page.head_id == old_tip and by_id[old_tip].is_head and by_id[old_tip].branch == 0
    assert by_id[edited].branch == 1 and not by_id[edited].on_shown_branch


def test_skeleton_branches_and_bisection():
    rows = [("c5", "c4", {}), ("b2", "a", {}), ("c4", "a", {}), ("a", None, {})]
    skeleton = Skeleton.from_rows(rows)
    assert skeleton.tips() == ["c5", "b2"] and skeleton.forked()
    assert skeleton.path("c5") == ["a", "c4", "c5"]
    lanes, tips = skeleton.branches("b2")
    assert tips == ["b2", "c5"] and lanes == {"b2": 0, "a": 0, "c5": 1, "c4": 1}
    assert bisect_path(list("abcdefg"), lambda c: c >= "e") == "e"
    assert bisect_path(list("abc"), lambda c: False) is None


# --- detail --------------------------------------------------------------------------------------


def test_checkpoint_detail_state_writes_interrupts_and_diff(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Searching.", ("web_search", {"query": "weather in LA"}))]
    h.send(thread.id, "weather in LA?")
    halt = all_rows(h, thread.id)[0]
    detail = h.backend.checkpoint_detail(LOCAL_USER, thread.id, halt.checkpoint_id)
    assert detail.checkpoint_id == halt.checkpoint_id and detail.next_nodes == ("action",)
    assert [m.role for m in detail.messages] == ["human", "ai"]
    assert [m["type"] for m in detail.raw_messages] == ["human", "ai"]
    json.dumps(
        [detail.raw_messages, detail.values, detail.metadata, [i.value for i in detail.interrupts]]
    )
    assert detail.metadata["source"] == "loop" and detail.metadata["waypoint_run"] == halt.run_id
    asked = [("web_search", {"query": "weather in LA"})]
    assert [(c.name, c.args) for c in detail.pending_calls] == asked
    assert [(c.name, c.args) for i in detail.interrupts for c in i.calls] == [
        ("web_search", {"query": "weather in LA"})
    ]
    interrupt_writes = [w for w in detail.pending_writes if w.channel == "__interrupt__"]
    assert interrupt_writes and "web_search('weather in LA')" in interrupt_writes[0].summary
    assert [m.role for m in detail.diff.added] == ["ai"] and not detail.diff.changed
    assert "branch:to:action" in detail.diff.channels and detail.row.label.startswith("llm asked")

    pending = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    h.model.script = [reply("Sunny [1].")]
    h.decide(thread.id, {pending[0].id: {"action": "edit", "args": {"query": "LA forecast"}}})
    halt_again = h.backend.checkpoint_detail(LOCAL_USER, thread.id, halt.checkpoint_id)
    written = {w.channel: w.summary for w in halt_again.pending_writes}
    assert written["__resume__"] == "you edited 1 call" and "tool:" in written["messages"]
    after_action = row_where(all_rows(h, thread.id), step=2)
    diff = h.backend.checkpoint_detail(LOCAL_USER, thread.id, after_action.checkpoint_id).diff
    assert [m.role for m in diff.added] == ["tool"]
    assert [(c.before.tool_calls[0].args, c.after.tool_calls[0].args) for c in diff.changed] == [
        ({"query": "weather in LA"}, {"query": "LA forecast"})
    ]
    root = h.backend.checkpoint_detail(
        LOCAL_USER, thread.id, all_rows(h, thread.id)[-1].checkpoint_id
    )
    assert root.parent_id is None and root.messages == () and root.diff.channels == ("__start__",)
    with pytest.raises(InputError, match="no checkpoint"):
        h.backend.checkpoint_detail(LOCAL_USER, thread.id, "not-a-checkpoint")


# --- edits ---------------------------------------------------------------------------------------


def test_bad_edits_write_nothing(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [
        reply("Searching.", ("web_search", {"query": "a"}), ("web_search", {"query": "b"}))
    ]
    h.send(thread.id, "a and b?")
    pending = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    h.model.script = [reply("Found both.")]
    h.decide(thread.id, {c.id: {"action": "approve"} for c in pending})
    rows = all_rows(h, thread.id)
    final = rows[0].checkpoint_id
    human, ai, tool, _, answer = h.backend.checkpoint_detail(LOCAL_USER, thread.id, final).messages
    one_call = pending[0].id
    edit = h.backend.edit_message
    bad = [
        (InputError, dict(message_id=human.id, text="   ")),
        (InputError, dict(message_id=human.id, text="x" * 20_001)),
        (InputError, dict(message_id=human.id, text="a and b?")),  # no change
        (InputError, dict(message_id=human.id)),
        (InputError, dict(message_id=human.id, text="new", tool_result="r")),
        (InputError, dict(message_id="nope", text="new")),
        (InputError, dict(message_id=tool.id, text="new")),
        (InputError, dict(message_id=human.id, tool_args={"query": "x"})),
        (InputError, dict(message_id=ai.id, tool_args={"query": "x"})),  # two calls: which?
        (InputError, dict(message_id=ai.id, tool_args={"query": "x"}, tool_call_id="nope")),
        (InputError, dict(message_id=ai.id, tool_args={"query": "a"}, tool_call_id=one_call)),
        (DecisionError, dict(message_id=ai.id, tool_args="{not json", tool_call_id=one_call)),
        (DecisionError, dict(message_id=ai.id, tool_args={"q": "x"}, tool_call_id=one_call)),
        (DecisionError, dict(message_id=ai.id, tool_args=["x"], tool_call_id=one_call)),
        (DecisionError, dict(message_id=tool.id, tool_result="  ")),
        (InputError, dict(message_id=answer.id, tool_result="r")),
    ]
    for error, kwargs in bad:
        with pytest.raises(error):
            edit(LOCAL_USER, thread.id, final, **kwargs)
    with pytest.raises(InputError, match="no checkpoint"):
        edit(LOCAL_USER, thread.id, "missing", human.id, text="new")
    with pytest.raises(InputError, match="not joined the conversation yet"):
        edit(LOCAL_USER, thread.id, rows[-1].checkpoint_id, human.id, text="new")
    assert all_rows(h, thread.id) == rows
    assert h.backend.get_thread(LOCAL_USER, thread.id).branch_head is None


def test_editing_a_past_human_message_forks_and_the_model_answers_the_edit(h):
    thread = h.backend.create_thread(LOCAL_USER)
    ask_and_answer(h, thread.id, "weather in LA?", "Sunny.")
    rows = all_rows(h, thread.id)
    start = row_where(rows, step=0, source="loop")
    human = h.backend.checkpoint_detail(LOCAL_USER, thread.id, start.checkpoint_id).messages[0]
    new_id = h.backend.edit_message(
        LOCAL_USER, thread.id, start.checkpoint_id, human.id, text=" weather in SF? "
    )
    detail = h.backend.checkpoint_detail(LOCAL_USER, thread.id, new_id)
    assert detail.next_nodes == ("llm",) and detail.parent_id == start.checkpoint_id
    assert detail.messages[0].id == human.id and detail.messages[0].text == "weather in SF?"
    assert texts(
        h.backend.checkpoint_detail(LOCAL_USER, thread.id, rows[0].checkpoint_id).messages
    ) == [
        "weather in LA?",
        "Sunny.",
    ], "the original checkpoint changed"
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.checkpoint_id == new_id and texts(view.messages) == ["weather in SF?"]
    h.model.script = [reply("Foggy.")]
    h.finish(h.backend.resume(LOCAL_USER, thread.id, h.choices, h.options, checkpoint_id=new_id))
    assert conversation(h.model.seen[-1]) == ["weather in SF?"]
    assert texts(h.backend.thread_view(LOCAL_USER, thread.id).messages) == [
        "weather in SF?",
        "Foggy.",
    ]


def test_a_human_edit_runs_the_model_next_unless_tool_calls_are_open(h):
    thread, call = halted_then_answered(h)
    rows = all_rows(h, thread.id)
    human = h.backend.thread_view(LOCAL_USER, thread.id).messages[0]
    at_end = h.backend.edit_message(
        LOCAL_USER, thread.id, rows[0].checkpoint_id, human.id, text="LA, really?"
    )
    assert h.backend.checkpoint_detail(LOCAL_USER, thread.id, at_end).next_nodes == ("llm",)
    halt = row_where(rows, step=1, source="loop")
    at_halt = h.backend.edit_message(
        LOCAL_USER, thread.id, halt.checkpoint_id, human.id, text="LA, really?"
    )
    assert h.backend.checkpoint_detail(LOCAL_USER, thread.id, at_halt).next_nodes == ("action",)
    assert h.backend.thread_view(LOCAL_USER, thread.id).pending_calls[0].id == call.id


def test_edited_args_at_a_past_halt_then_approve_runs_the_edited_call(h):
    thread, call = halted_then_answered(h)
    halt = row_where(all_rows(h, thread.id), step=1, source="loop")
    ai = h.backend.checkpoint_detail(LOCAL_USER, thread.id, halt.checkpoint_id).messages[-1]
    new_id = h.backend.edit_message(
        LOCAL_USER, thread.id, halt.checkpoint_id, ai.id, tool_args='{"query": "weather in NY"}'
    )
    new = row_where(all_rows(h, thread.id), checkpoint_id=new_id)
    assert new.next_nodes == ("action",) and new.written_by == ("llm",)
    assert new.label == "you changed the arguments of web_search (message 2)"
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.waiting_for_approval and view.checkpoint_id == new_id
    assert [(c.id, c.args) for c in view.pending_calls] == [(call.id, {"query": "weather in NY"})]
    assert h.search.queries == ["weather in LA"], "a tool ran before approval"
    h.model.script = [reply("Cold in NY [1].")]
    h.decide(thread.id, {call.id: {"action": "approve"}})
    assert h.search.queries == ["weather in LA", "weather in NY"]
    messages = state_messages(h, thread.id)
    assert messages[1].id == ai.id and messages[1].tool_calls[0]["args"] == {
        "query": "weather in NY"
    }
    assert messages[-1].content == "Cold in NY [1]." and "weather in NY" in messages[2].content
    assert_history_valid(messages)


def test_edited_tool_result_is_what_the_model_reads_on_replay(h):
    thread, call = halted_then_answered(h)
    after_action = row_where(all_rows(h, thread.id), step=2, source="loop")
    tool = h.backend.checkpoint_detail(LOCAL_USER, thread.id, after_action.checkpoint_id).messages[
        2
    ]
    new_id = h.backend.edit_message(
        LOCAL_USER,
        thread.id,
        after_action.checkpoint_id,
        tool.id,
        tool_result="30 degrees and clear",
    )
    assert row_where(all_rows(h, thread.id), checkpoint_id=new_id).next_nodes == ("llm",)
    h.model.script = [reply("30 degrees [1].")]
    h.finish(h.backend.resume(LOCAL_USER, thread.id, h.choices, h.options, checkpoint_id=new_id))
    shown = h.model.seen[-1][-1]
    assert isinstance(shown, ToolMessage) and shown.content == "30 degrees and clear"
    assert shown.id == tool.id and shown.status == "success"
    assert h.search.queries == ["weather in LA"]


def test_editing_answer_text_keeps_the_conversation_finished(h):
    thread = h.backend.create_thread(LOCAL_USER)
    ask_and_answer(h, thread.id, "hi", "Hello.")
    final = all_rows(h, thread.id)[0].checkpoint_id
    answer = h.backend.thread_view(LOCAL_USER, thread.id).messages[-1]
    new_id = h.backend.edit_message(LOCAL_USER, thread.id, final, answer.id, text="Hello there!")
    assert row_where(all_rows(h, thread.id), checkpoint_id=new_id).next_nodes == ()
    assert texts(h.backend.thread_view(LOCAL_USER, thread.id).messages) == ["hi", "Hello there!"]


# --- replay and forks ----------------------------------------------------------------------------


def test_replaying_into_a_halt_asks_and_runs_no_tool(h):
    thread, _ = halted_then_answered(h)
    start = row_where(all_rows(h, thread.id), step=0, source="loop")
    h.model.script = [reply("Searching again.", ("web_search", {"query": "LA again"}))]
    run = engine_run(
        h.backend,
        h.backend.resume(
            LOCAL_USER, thread.id, h.choices, h.options, checkpoint_id=start.checkpoint_id
        ),
    )
    events = h.finish(run)
    assert any(isinstance(e, Halted) for e in events) and events[-1] == Done("halted")
    assert not any(isinstance(e, ToolResult) for e in events)
    assert h.search.queries == ["weather in LA"], "a tool ran from a replay without asking"
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.waiting_for_approval and view.pending_calls[0].args == {"query": "LA again"}
    assert (
        h.backend.get_thread(LOCAL_USER, thread.id).branch_head is None
    )  # the replay is the latest now
    fork = row_where(all_rows(h, thread.id), source="fork")
    assert fork.parent_id == start.checkpoint_id and fork.label == "replay from step 0"


def test_fork_to_a_new_thread_keeps_the_path_to_the_fork_point_and_asks_again(h):
    thread, call = halted_then_answered(h)  # the halt was approved: its writes hold that approval
    original_rows = all_rows(h, thread.id)
    start = row_where(original_rows, step=0, source="loop")
    h.model.script = [reply("Let me look.", ("web_search", {"query": "LA again"}))]
    h.finish(  # a second branch, from step 0: not on the path to the halt
        h.backend.resume(
            LOCAL_USER, thread.id, h.choices, h.options, checkpoint_id=start.checkpoint_id
        )
    )
    original_rows = all_rows(h, thread.id)
    halt = row_where(
        original_rows, step=1, label="llm asked web_search('weather in LA') (asked for approval)"
    )
    at_halt = h.backend.checkpoint_detail(LOCAL_USER, thread.id, halt.checkpoint_id)
    fork = h.backend.fork_thread(LOCAL_USER, thread.id, halt.checkpoint_id)
    assert (fork.forked_from, fork.forked_at_checkpoint) == (thread.id, halt.checkpoint_id)
    assert fork.title == "Fork of weather in LA?" and fork.id != thread.id
    assert fork.status == "waiting" and fork.message_count == 2

    rows = all_rows(h, fork.id)
    path = [halt.checkpoint_id, start.checkpoint_id, original_rows[-1].checkpoint_id]
    assert [r.checkpoint_id for r in rows[1:]] == path, "the path to the fork point, ids kept"
    assert [r.label for r in rows] == [
        "forked from “weather in LA?”",
        "llm asked web_search('weather in LA')",  # the approval asked there stays behind
        "your message was added",
        "you asked “weather in LA?”",
    ]
    assert rows[0].parent_id == halt.checkpoint_id and rows[-1].parent_id is None
    assert all(r.children <= 1 for r in rows), "no later checkpoint nor other branch was copied"
    copied = h.backend.checkpoint_detail(LOCAL_USER, fork.id, halt.checkpoint_id)
    assert [(m.id, m.text) for m in copied.messages] == [(m.id, m.text) for m in at_halt.messages]
    forked = h.backend.thread_view(LOCAL_USER, fork.id)
    assert [(m.id, m.text) for m in forked.messages] == [(m.id, m.text) for m in at_halt.messages]
    assert forked.waiting_for_approval and [c.args for c in forked.pending_calls] == [
        {"query": "weather in LA"}
    ]

    h.backend.delete_thread(LOCAL_USER, thread.id)  # the copy has no path back to its source
    assert texts(h.backend.thread_view(LOCAL_USER, fork.id).messages) == texts(at_halt.messages)
    h.model.script = [reply("Sunny [1].")]
    h.decide(fork.id, {forked.pending_calls[0].id: {"action": "approve"}})
    assert h.search.queries == ["weather in LA", "weather in LA"], "the fork asked and ran again"
    messages = state_messages(h, fork.id)
    assert_history_valid(messages)
    assert [m.text for m in messages][-1] == "Sunny [1]." and len(messages) == 4
    named = h.backend.fork_thread(LOCAL_USER, fork.id, rows[0].checkpoint_id, title="  LA  two ")
    assert named.title == "LA two" and named.forked_from == fork.id
    with pytest.raises(InputError):
        h.backend.fork_thread(LOCAL_USER, fork.id, "missing")


def test_a_failed_fork_leaves_no_thread_behind(h, monkeypatch):
    thread, _call = halted_then_answered(h)
    at = all_rows(h, thread.id)[0].checkpoint_id
    before = {t.id for t in h.backend.list_threads(LOCAL_USER)}

    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(h.backend.graph, "update_state", broken)
    with pytest.raises(RuntimeError):
        h.backend.fork_thread(LOCAL_USER, thread.id, at)
    assert {t.id for t in h.backend.list_threads(LOCAL_USER)} == before
    stored = {t.config["configurable"]["thread_id"] for t in h.backend.persistence.saver.list(None)}
    assert stored == {thread.id}, "the copied checkpoints were deleted with the new thread"


def test_replay_from_a_fork_asks_and_leaves_the_original(h):
    thread, _ = halted_then_answered(h)
    original_rows = all_rows(h, thread.id)
    start = row_where(original_rows, step=0, source="loop")
    fork = h.backend.fork_thread(LOCAL_USER, thread.id, start.checkpoint_id)
    assert row_where(all_rows(h, fork.id), step=0).next_nodes == ("llm",)
    seed = all_rows(h, fork.id)[0].checkpoint_id
    h.model.script = [reply("Let me look.", ("web_search", {"query": "LA again"}))]
    events = h.finish(
        h.backend.resume(LOCAL_USER, fork.id, h.choices, h.options, checkpoint_id=seed)
    )
    assert events[-1] == Done("halted") and h.search.queries == ["weather in LA"]
    assert conversation(h.model.seen[-1]) == ["weather in LA?"]
    assert all_rows(h, thread.id) == original_rows


def test_fork_of_an_input_checkpoint_brings_the_arriving_message(h):
    thread = h.backend.create_thread(LOCAL_USER)
    ask_and_answer(h, thread.id, "hi", "Hello.")
    ask_and_answer(h, thread.id, "and now?", "Still here.")
    second_input = [r for r in all_rows(h, thread.id) if r.source == "input"][0]
    fork = h.backend.fork_thread(LOCAL_USER, thread.id, second_input.checkpoint_id)
    assert texts(h.backend.thread_view(LOCAL_USER, fork.id).messages) == [
        "hi",
        "Hello.",
        "and now?",
    ]
    assert h.backend.thread_view(LOCAL_USER, fork.id).next_nodes == ("llm",)
    rows = all_rows(h, fork.id)
    assert [r.label for r in rows][:2] == ["forked from “hi”", "you asked “and now?”"]
    assert rows[1].checkpoint_id == second_input.checkpoint_id and len(rows) == 5  # turn 1: 3
    h.model.script = [reply("Forked and here.")]
    h.finish(h.backend.resume(LOCAL_USER, fork.id, h.choices, h.options))
    assert conversation(h.model.seen[-1]) == ["hi", "Hello.", "and now?"]
    assert texts(h.backend.thread_view(LOCAL_USER, fork.id).messages)[-1] == "Forked and here."


# --- branch head ---------------------------------------------------------------------------------


def edited_thread(h):
    """q1 -> a1, then q1 edited and resent -> a1': two branches, the edit is the latest."""
    thread = h.backend.create_thread(LOCAL_USER)
    ask_and_answer(h, thread.id, "weather in LA?", "Sunny in LA.")
    first_tip = all_rows(h, thread.id)[0].checkpoint_id
    human = h.backend.thread_view(LOCAL_USER, thread.id).messages[0]
    h.model.script = [reply("Foggy in SF.")]
    h.finish(
        h.backend.edit_and_resend(
            LOCAL_USER, thread.id, human.id, "weather in SF?", h.choices, h.options
        )
    )
    return thread, first_tip, human


def test_show_branch_is_what_the_chat_shows_and_runs_continue_from_it(h):
    thread, first_tip, human = edited_thread(h)
    assert texts(h.backend.thread_view(LOCAL_USER, thread.id).messages) == [
        "weather in SF?",
        "Foggy in SF.",
    ]
    info = h.backend.show_branch(LOCAL_USER, thread.id, first_tip)
    assert info.branch_head == first_tip
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.checkpoint_id == first_tip
    assert texts(view.messages) == ["weather in LA?", "Sunny in LA."]
    h.model.script = [reply("Sunny tomorrow too.")]
    run = engine_run(
        h.backend,
        h.backend.send_message(LOCAL_USER, thread.id, "and tomorrow?", h.choices, h.options),
    )
    h.finish(run)
    assert conversation(h.model.seen[-1]) == ["weather in LA?", "Sunny in LA.", "and tomorrow?"]
    info = h.backend.get_thread(LOCAL_USER, thread.id)
    assert info.branch_head is None  # the run's newest checkpoint is the latest
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert texts(view.messages) == [
        "weather in LA?",
        "Sunny in LA.",
        "and tomorrow?",
        "Sunny tomorrow too.",
    ]
    rows = {r.checkpoint_id: r for r in all_rows(h, thread.id)}
    assert rows[first_tip].on_shown_branch and rows[first_tip].children == 1
    assert all(r.run_id == run.id for r in all_rows(h, thread.id)[:3])
    assert h.backend.show_branch(LOCAL_USER, thread.id, view.checkpoint_id).branch_head is None
    with pytest.raises(InputError):
        h.backend.show_branch(LOCAL_USER, thread.id, "missing")


def test_decide_on_a_branch_head_applies_the_new_decision(h):
    thread, call = halted_then_answered(h)
    halt = row_where(all_rows(h, thread.id), step=1, source="loop")
    h.backend.show_branch(LOCAL_USER, thread.id, halt.checkpoint_id)
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.checkpoint_id == halt.checkpoint_id and view.waiting_for_approval
    h.model.script = [reply("Foggy in SF [1].")]
    h.decide(thread.id, {call.id: {"action": "edit", "args": {"query": "weather in SF"}}})
    assert h.search.queries == ["weather in LA", "weather in SF"], "the old decision was replayed"
    assert h.backend.get_thread(LOCAL_USER, thread.id).branch_head is None
    messages = state_messages(h, thread.id)
    assert messages[-1].content == "Foggy in SF [1]." and "weather in SF" in messages[2].content
    assert_history_valid(messages)
    labels = [r.label for r in all_rows(h, thread.id)]
    assert "you continued from this point" in labels
    assert "you edited 1 call; action returned 1 result" in labels


def test_a_new_message_on_a_halted_branch_head_cancels_its_calls(h):
    thread, call = halted_then_answered(h)
    halt = row_where(all_rows(h, thread.id), step=1, source="loop")
    h.backend.show_branch(LOCAL_USER, thread.id, halt.checkpoint_id)
    h.model.script = [reply("Sure, a joke.")]
    h.send(thread.id, "tell me a joke instead")
    messages = state_messages(h, thread.id)
    shown = texts(h.backend.thread_view(LOCAL_USER, thread.id).messages)
    assert shown[-2:] == ["tell me a joke instead", "Sure, a joke."]
    assert "Cancelled by the user" in messages[2].content and len(messages) == 5
    assert_history_valid(messages)
    assert (
        h.search.queries == ["weather in LA"]
        and h.backend.get_thread(LOCAL_USER, thread.id).branch_head is None
    )


def test_the_head_moves_to_the_runs_newest_checkpoint_when_that_is_not_the_latest(h):
    thread, first_tip, human = edited_thread(h)
    h.backend.show_branch(LOCAL_USER, thread.id, first_tip)
    gate = TokenGate()
    h.model.gate = gate
    h.model.script = [reply("one two three")]
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "go on", h.choices, h.options)
    )
    assert gate.wait_held_after(0)  # the run's step 0 is saved; the model is writing
    with pytest.raises(ThreadBusy):
        h.backend.show_branch(LOCAL_USER, thread.id, None)
    with pytest.raises(ThreadBusy):
        h.backend.edit_message(LOCAL_USER, thread.id, first_tip, human.id, text="other")
    # Something else writes a newer checkpoint on another branch meanwhile.
    other = {"configurable": {"thread_id": thread.id, "checkpoint_id": first_tip}}
    h.backend.graph.update_state(
        other, {"messages": [HumanMessage("side note")]}, as_node="__start__"
    )
    h.backend.cancel_run(LOCAL_USER, run.id)
    gate.open_fully()
    h.finish(run)
    rows = all_rows(h, thread.id)
    newest_of_run = next(r for r in rows if r.run_id == run.id)
    assert newest_of_run.label.startswith("your message was added")
    assert newest_of_run.error is None
    # Your Stop leaves its mark right after the run's newest checkpoint; the chat shows it.
    stop = next(r for r in rows if r.parent_id == newest_of_run.checkpoint_id)
    assert stop.stopped and stop.label.startswith("you stopped the run here")
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.checkpoint_id == stop.checkpoint_id
    assert texts(view.messages)[-1] == "go on"


# --- sibling versions ----------------------------------------------------------------------------


def test_edit_and_resend_makes_sibling_versions_and_switching_shows_them(h):
    thread, first_tip, human = edited_thread(h)
    assert conversation(h.model.seen[-1]) == ["weather in SF?"]
    (versions,) = h.backend.message_versions(LOCAL_USER, thread.id)
    assert (versions.message_id, versions.position, versions.label) == (human.id, 0, "2 / 2")
    assert [v.preview for v in versions.versions] == ["weather in LA?", "weather in SF?"]
    assert versions.versions[0].checkpoint_id == first_tip
    start = row_where(all_rows(h, thread.id), step=0, source="loop")
    assert start.children == 2  # the resend forked where the message had just been added
    h.backend.switch_branch(LOCAL_USER, thread.id, human.id, 0)
    assert texts(h.backend.thread_view(LOCAL_USER, thread.id).messages) == [
        "weather in LA?",
        "Sunny in LA.",
    ]
    assert h.backend.message_versions(LOCAL_USER, thread.id)[0].label == "1 / 2"
    h.backend.switch_branch(LOCAL_USER, thread.id, human.id, 1)
    assert h.backend.get_thread(LOCAL_USER, thread.id).branch_head is None
    assert texts(h.backend.thread_view(LOCAL_USER, thread.id).messages) == [
        "weather in SF?",
        "Foggy in SF.",
    ]
    with pytest.raises(InputError):
        h.backend.switch_branch(LOCAL_USER, thread.id, human.id, 2)
    answer = h.backend.thread_view(LOCAL_USER, thread.id).messages[1]
    with pytest.raises(InputError):
        h.backend.switch_branch(LOCAL_USER, thread.id, answer.id, 0)


def test_version_numbers_do_not_depend_on_the_branch_shown(h):
    thread, first_tip, human = edited_thread(h)
    h.model.script = [reply("Rainy in Seattle.")]
    run = engine_run(
        h.backend,
        h.backend.edit_and_resend(
            LOCAL_USER, thread.id, human.id, "weather in Seattle?", h.choices, h.options
        ),
    )
    h.finish(run)
    order = ["weather in LA?", "weather in SF?", "weather in Seattle?"]
    for index in range(3):
        h.backend.switch_branch(LOCAL_USER, thread.id, human.id, index)
        (versions,) = h.backend.message_versions(LOCAL_USER, thread.id)
        assert [v.preview for v in versions.versions] == order and versions.index == index
        assert h.backend.thread_view(LOCAL_USER, thread.id).messages[0].text == order[index]
    for index in (0, 1):  # each older version's branch goes on, so its tip is now the newest
        h.backend.switch_branch(LOCAL_USER, thread.id, human.id, index)
        ask_and_answer(h, thread.id, "and tomorrow?", "Sunny.")
        (versions,) = h.backend.message_versions(LOCAL_USER, thread.id)
        assert [v.preview for v in versions.versions] == order
        assert versions.label == f"{index + 1} / 3"


def test_the_shown_checkpoints_own_future_is_not_a_sibling(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Searching.", ("web_search", {"query": "LA"}))]
    h.send(thread.id, "weather in LA?")
    halt = all_rows(h, thread.id)[0].checkpoint_id
    pending = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    h.model.script = [reply("Sunny [1].")]
    h.decide(thread.id, {pending[0].id: {"action": "edit", "args": {"query": "LA weather"}}})
    h.model.script = [reply("Short answer.")]
    h.finish(
        h.backend.regenerate(
            LOCAL_USER,
            thread.id,
            h.backend.thread_view(LOCAL_USER, thread.id).messages[-1].id,
            h.choices,
            h.options,
        )
    )
    assert len(h.backend.message_versions(LOCAL_USER, thread.id)) == 1  # the two answers
    # At the halt, the call's args were later edited in place on both branches that follow it:
    # that is the halt's own future, not another version of its message.
    h.backend.show_branch(LOCAL_USER, thread.id, halt)
    assert h.backend.thread_view(LOCAL_USER, thread.id).messages[1].tool_calls[0].args == {
        "query": "LA"
    }
    assert h.backend.message_versions(LOCAL_USER, thread.id) == ()


def test_a_deeper_message_resent_keeps_the_earlier_turns(h):
    thread = h.backend.create_thread(LOCAL_USER)
    ask_and_answer(h, thread.id, "q1", "a1")
    ask_and_answer(h, thread.id, "q2", "a2")
    q2 = h.backend.thread_view(LOCAL_USER, thread.id).messages[2]
    h.model.script = [reply("a2 prime")]
    h.finish(
        h.backend.edit_and_resend(LOCAL_USER, thread.id, q2.id, "q2 prime", h.choices, h.options)
    )
    assert conversation(h.model.seen[-1]) == ["q1", "a1", "q2 prime"]
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert texts(view.messages) == ["q1", "a1", "q2 prime", "a2 prime"]
    assert [m.id for m in view.messages[:3]] == [m.id for m in state_messages(h, thread.id)[:3]]
    (versions,) = h.backend.message_versions(LOCAL_USER, thread.id)
    assert (versions.position, versions.message_id, versions.label) == (2, q2.id, "2 / 2")


def test_regenerate_makes_a_sibling_answer(h):
    thread = h.backend.create_thread(LOCAL_USER)
    ask_and_answer(h, thread.id, "tell me a joke", "Joke one.")
    old = h.backend.thread_view(LOCAL_USER, thread.id).messages[1]
    h.model.script = [reply("Joke two.")]
    h.finish(h.backend.regenerate(LOCAL_USER, thread.id, old.id, h.choices, h.options))
    assert conversation(h.model.seen[-1]) == ["tell me a joke"]
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert texts(view.messages) == ["tell me a joke", "Joke two."] and view.messages[1].id != old.id
    (versions,) = h.backend.message_versions(LOCAL_USER, thread.id)
    assert (versions.position, versions.label) == (1, "2 / 2")
    assert [v.preview for v in versions.versions] == ["Joke one.", "Joke two."]
    fork = row_where(all_rows(h, thread.id), source="fork")
    assert (
        fork.label == "replay from step 0"
        and h.backend.get_thread(LOCAL_USER, thread.id).branch_head is None
    )
    h.backend.switch_branch(LOCAL_USER, thread.id, view.messages[1].id, 0)
    assert texts(h.backend.thread_view(LOCAL_USER, thread.id).messages) == [
        "tell me a joke",
        "Joke one.",
    ]


def test_regenerate_asks_before_any_tool_runs(h):
    thread, call = halted_then_answered(h)
    answer = h.backend.thread_view(LOCAL_USER, thread.id).messages[-1]
    h.model.script = [reply("Let me check again.", ("web_search", {"query": "LA now"}))]
    events = h.finish(h.backend.regenerate(LOCAL_USER, thread.id, answer.id, h.choices, h.options))
    assert events[-1] == Done("halted") and h.search.queries == ["weather in LA"]
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.waiting_for_approval and view.pending_calls[0].args == {"query": "LA now"}
    assert texts(view.messages)[:3] == texts(
        h.backend.checkpoint_detail(
            LOCAL_USER,
            thread.id,
            row_where(all_rows(h, thread.id), step=2, source="loop").checkpoint_id,
        ).messages
    )


def test_regenerate_after_an_earlier_edit_in_place_forks_from_the_shown_state(h):
    thread = h.backend.create_thread(LOCAL_USER)
    ask_and_answer(h, thread.id, "q1", "a1")
    final = all_rows(h, thread.id)[0].checkpoint_id
    q1, a1 = h.backend.thread_view(LOCAL_USER, thread.id).messages
    # Rewrite the question in place at the end (the answer stays): the state before a1 differs.
    edited = h.backend.edit_message(LOCAL_USER, thread.id, final, q1.id, text="q1 edited")
    assert row_where(all_rows(h, thread.id), checkpoint_id=edited).next_nodes == ("llm",)
    h.backend.show_branch(LOCAL_USER, thread.id, edited)
    h.model.script = [reply("a1 again")]
    h.finish(h.backend.regenerate(LOCAL_USER, thread.id, a1.id, h.choices, h.options))
    assert conversation(h.model.seen[-1]) == ["q1 edited"]
    assert texts(h.backend.thread_view(LOCAL_USER, thread.id).messages) == ["q1 edited", "a1 again"]
    labels = [r.label for r in all_rows(h, thread.id)]
    assert "you asked for a new answer (message 2 on removed)" in labels


def test_bad_regenerate_and_resend_requests_write_nothing(h):
    thread = h.backend.create_thread(LOCAL_USER)
    ask_and_answer(h, thread.id, "q1", "a1")
    rows = all_rows(h, thread.id)
    q1, a1 = h.backend.thread_view(LOCAL_USER, thread.id).messages
    with pytest.raises(InputError):
        h.backend.regenerate(LOCAL_USER, thread.id, q1.id, h.choices, h.options)
    with pytest.raises(InputError):
        h.backend.regenerate(LOCAL_USER, thread.id, "missing", h.choices, h.options)
    with pytest.raises(InputError):
        h.backend.edit_and_resend(LOCAL_USER, thread.id, a1.id, "text", h.choices, h.options)
    with pytest.raises(InputError, match="cannot be empty"):
        h.backend.edit_and_resend(LOCAL_USER, thread.id, q1.id, "  ", h.choices, h.options)
    assert all_rows(h, thread.id) == rows
    assert h.backend.message_versions(LOCAL_USER, thread.id) == ()


def test_durability_exit_rows_say_what_a_whole_run_did(data_dir):
    h = make_harness(data_dir, "sync", durability="exit")
    try:
        thread = h.backend.create_thread(LOCAL_USER)
        h.model.script = [reply("", ("web_search", {"query": "x"})), reply("Done.")]
        h.send(thread.id, "q", approval=ApprovalPolicy("never"))
        final, bookkeeping = all_rows(h, thread.id)
        assert final.written_by == ("__start__", "llm", "action")
        assert final.label == (
            "your message was added; llm asked web_search('x'); llm answered (1 word); "
            "action returned 1 result"
        )
        assert bookkeeping.source == "" and "durability exit" in bookkeeping.label
    finally:
        h.backend.close()


def test_what_langgraph_did_names_the_reads_and_the_edit_that_wrote_a_checkpoint(h):
    thread, _ = halted_then_answered(h, query="weather in LA today")
    halt = row_where(all_rows(h, thread.id), step=1, source="loop")
    plain_calls = h.backend.checkpoint_detail(LOCAL_USER, thread.id, halt.checkpoint_id).calls
    assert f'"checkpoint_id": "{halt.checkpoint_id}"' in plain_calls
    assert "graph.get_state(config)" in plain_calls
    assert "graph.get_state_history(" in plain_calls
    assert "update_state" not in plain_calls  # a run wrote it
    ai = h.backend.checkpoint_detail(LOCAL_USER, thread.id, halt.checkpoint_id).messages[-1]
    new_id = h.backend.edit_message(
        LOCAL_USER, thread.id, halt.checkpoint_id, ai.id, tool_args='{"query": "weather in NY"}'
    )
    edit_calls = h.backend.checkpoint_detail(LOCAL_USER, thread.id, new_id).calls
    assert 'graph.update_state(config, {"messages": [AIMessage(' in edit_calls
    assert '"query": "weather in NY"' in edit_calls
    assert f'"checkpoint_id": "{halt.checkpoint_id}"' in edit_calls  # written after the halt
    assert 'as_node="llm"' in edit_calls
