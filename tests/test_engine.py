"""The engine end to end, on both engines: threads, checkpoints, approval, cancel, busy, errors.

Each scenario runs the real graph, checkpointer and background runs against a scripted model,
then asserts on the events a UI would see and on the checkpointed state.
"""

from __future__ import annotations

import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.choices import ApprovalPolicy
from agent.errors import DecisionError, InputError, ThreadBusy
from agent.events import Done, Error, Halted, Step, Token, ToolCall, ToolResult
from agent.protocol import LOCAL_USER
from tests.engine_fixtures import ON_BOTH_DATABASES, engine_run, harness_for, make_harness
from tests.scripted_model import TokenGate, reply


@pytest.fixture(**ON_BOTH_DATABASES)
def h(request, data_dir):
    harness = harness_for(request, data_dir)
    yield harness
    harness.backend.close()


def wait_for_events(log, count: int, timeout: float = 10.0) -> bool:
    """Block on the log's own condition until it holds `count` events."""
    deadline = time.monotonic() + timeout
    while len(log) < count and time.monotonic() < deadline:
        log.read(len(log), timeout=deadline - time.monotonic())
    return len(log) >= count


def state_messages(h, thread_id):
    return h.backend.graph.get_state({"configurable": {"thread_id": thread_id}}).values["messages"]


def assert_history_valid(messages):
    """Every tool call is answered by exactly one ToolMessage, after it."""
    open_calls: dict[str, str] = {}
    for message in messages:
        if isinstance(message, AIMessage):
            assert not open_calls, f"unanswered tool calls before an AI message: {open_calls}"
            open_calls = {c["id"]: c["name"] for c in message.tool_calls}
        elif isinstance(message, ToolMessage):
            assert open_calls.pop(message.tool_call_id, None), "tool result without its call"
        elif isinstance(message, HumanMessage):
            assert not open_calls, "a human message arrived while tool calls were open"


def test_answer_without_tools_streams_tokens_and_steps(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Hello there, how can I help?")]
    events = h.send(thread.id, "hi")
    tokens = [e for e in events if isinstance(e, Token)]
    assert len(tokens) == 6 and "".join(t.text for t in tokens) == "Hello there, how can I help?"
    assert [e.node for e in events if isinstance(e, Step)] == ["llm"]
    assert events[-1] == Done("done")
    info = h.backend.get_thread(LOCAL_USER, thread.id)
    assert (info.title, info.status, info.message_count) == ("hi", "idle", 2)


def test_new_thread_remembers_nothing(h):
    first, second = h.backend.create_thread(LOCAL_USER), h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Noted: your name is Ada."), reply("I don't know your name.")]
    h.send(first.id, "My name is Ada.")
    h.send(second.id, "What is my name?")
    shown = h.model.seen[-1]
    assert [m.content for m in shown if isinstance(m, HumanMessage)] == ["What is my name?"]
    assert len(state_messages(h, second.id)) == 2


def test_a_checkpoint_after_every_node(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": "LA weather"})), reply("Sunny [1].")]
    h.choices = h.choices.__class__(approval=ApprovalPolicy("never"))
    h.send(thread.id, "weather in LA?")
    history = list(h.backend.graph.get_state_history({"configurable": {"thread_id": thread.id}}))
    written_by = [next(iter(s.metadata.get("writes") or {}), None) for s in history]
    steps = [(s.metadata["source"], s.metadata["step"], s.next) for s in reversed(history)]
    assert steps == [
        ("input", -1, ("__start__",)),
        ("loop", 0, ("llm",)),
        ("loop", 1, ("action",)),
        ("loop", 2, ("llm",)),
        ("loop", 3, ()),
    ], written_by


def test_halts_before_action_and_runs_no_tool(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Let me search.", ("web_search", {"query": "LA weather"}))]
    events = h.send(thread.id, "weather in LA?")
    halted = [e for e in events if isinstance(e, Halted)]
    assert len(halted) == 1 and [c.args for c in halted[0].calls] == [{"query": "LA weather"}]
    assert events[-1] == Done("halted")
    assert h.search.queries == []
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.waiting_for_approval and view.next_nodes == ("action",)
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "waiting"


def halt_with(h, *calls):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Searching.", *calls)]
    h.send(thread.id, "question")
    return thread, h.backend.thread_view(LOCAL_USER, thread.id).pending_calls


def test_approve_runs_the_tool_then_the_model_answers(h):
    thread, pending = halt_with(h, ("web_search", {"query": "LA weather"}))
    h.model.script = [reply("It is sunny [1].")]
    events = h.decide(thread.id, {pending[0].id: {"action": "approve"}})
    assert h.search.queries == ["LA weather"]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert results[0].call_id == pending[0].id and not results[0].is_error
    assert events[-1] == Done("done")
    messages = state_messages(h, thread.id)
    assert messages[-1].content == "It is sunny [1]."
    assert_history_valid(messages)
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "idle"


def test_edit_replaces_the_call_keeping_its_id_and_runs_the_edit(h):
    thread, pending = halt_with(h, ("web_search", {"query": "LA weather"}))
    original_ai = state_messages(h, thread.id)[-1]
    h.model.script = [reply("Rainy in Seattle [1].")]
    h.decide(thread.id, {pending[0].id: {"action": "edit", "args": {"query": "Seattle weather"}}})
    assert h.search.queries == ["Seattle weather"]
    messages = state_messages(h, thread.id)
    edited = [m for m in messages if m.id == original_ai.id]
    assert len(edited) == 1 and edited[0].tool_calls[0]["args"] == {"query": "Seattle weather"}
    assert_history_valid(messages)


def test_mock_answers_in_the_tools_place_and_the_model_goes_next(h):
    thread, pending = halt_with(h, ("web_search", {"query": "LA weather"}))
    h.model.script = [reply("You say it is 30 degrees.")]
    h.decide(thread.id, {pending[0].id: {"action": "mock", "content": "30 degrees and clear"}})
    assert h.search.queries == []
    tool_message = [m for m in state_messages(h, thread.id) if isinstance(m, ToolMessage)][0]
    assert tool_message.content == "30 degrees and clear" and tool_message.status == "success"
    assert isinstance(h.model.seen[-1][-1], ToolMessage)


def test_reject_tells_the_model_why(h):
    thread, pending = halt_with(h, ("web_search", {"query": "LA weather"}))
    h.model.script = [reply("Understood, no search.")]
    events = h.decide(thread.id, {pending[0].id: {"action": "reject", "reason": "not now"}})
    assert h.search.queries == []
    shown = h.model.seen[-1][-1]
    assert isinstance(shown, ToolMessage) and shown.status == "error"
    assert "not now" in shown.content
    assert [e for e in events if isinstance(e, ToolResult)][0].is_error


def test_stop_leaves_the_thread_waiting(h):
    thread, pending = halt_with(h, ("web_search", {"query": "LA weather"}))
    before = state_messages(h, thread.id)
    view = h.backend.thread_view(LOCAL_USER, thread.id)  # "Stop" is simply not deciding
    assert view.waiting_for_approval and state_messages(h, thread.id) == before
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "waiting"


def test_parallel_calls_with_mixed_decisions(h):
    thread, pending = halt_with(
        h, ("web_search", {"query": "SF weather"}), ("web_search", {"query": "LA weather"})
    )
    assert len(pending) == 2
    h.model.script = [reply("SF is foggy [1].")]
    events = h.decide(
        thread.id,
        {
            pending[0].id: {"action": "approve"},
            pending[1].id: {"action": "reject", "reason": "skip"},
        },
    )
    assert h.search.queries == ["SF weather"]
    results = {e.call_id: e.is_error for e in events if isinstance(e, ToolResult)}
    assert results == {pending[0].id: False, pending[1].id: True}
    assert_history_valid(state_messages(h, thread.id))


def test_parallel_calls_run_concurrently_when_approved(h):
    h.choices = h.choices.__class__(approval=ApprovalPolicy("never"))
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [
        reply("", ("web_search", {"query": "a"}), ("web_search", {"query": "b"})),
        reply("Both found."),
    ]
    events = h.send(thread.id, "a and b")
    assert sorted(h.search.queries) == ["a", "b"]
    assert len([e for e in events if isinstance(e, ToolResult)]) == 2
    assert_history_valid(state_messages(h, thread.id))


def test_a_new_message_while_halted_cancels_the_pending_calls(h):
    thread, pending = halt_with(h, ("web_search", {"query": "LA weather"}))
    h.model.script = [reply("Sure, something else.")]
    h.send(thread.id, "never mind, tell me a joke")
    messages = state_messages(h, thread.id)
    assert_history_valid(messages)
    cancelled = [m for m in messages if isinstance(m, ToolMessage)]
    assert len(cancelled) == 1 and "Cancelled by the user" in cancelled[0].content
    assert h.search.queries == []
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "idle"


def test_resuming_from_a_past_halt_asks_again(h):
    thread, pending = halt_with(h, ("web_search", {"query": "LA weather"}))
    h.model.script = [reply("Sunny [1].")]
    h.decide(thread.id, {pending[0].id: {"action": "approve"}})
    assert h.search.queries == ["LA weather"]
    history = list(h.backend.graph.get_state_history({"configurable": {"thread_id": thread.id}}))
    past_halt = next(s for s in history if s.next == ("action",))
    run = engine_run(
        h.backend,
        h.backend.resume(
            LOCAL_USER,
            thread.id,
            h.choices,
            h.options,
            checkpoint_id=past_halt.config["configurable"]["checkpoint_id"],
        ),
    )
    events = h.finish(run)
    assert any(isinstance(e, Halted) for e in events) and events[-1] == Done("halted")
    assert h.search.queries == ["LA weather"], "a tool ran from the past without asking"


def test_policy_never_runs_tools_without_asking_and_auto_asks_only_for_others(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": "x"})), reply("Done.")]
    events = h.send(thread.id, "q", approval=ApprovalPolicy("never"))
    assert not any(isinstance(e, Halted) for e in events) and h.search.queries == ["x"]
    h.model.script = [reply("", ("web_search", {"query": "y"})), reply("Done again.")]
    events = h.send(thread.id, "q2", approval=ApprovalPolicy("auto", frozenset({"web_search"})))
    assert not any(isinstance(e, Halted) for e in events) and h.search.queries == ["x", "y"]
    h.model.script = [reply("", ("web_search", {"query": "z"}))]
    events = h.send(thread.id, "q3", approval=ApprovalPolicy("auto", frozenset({"other_tool"})))
    assert any(isinstance(e, Halted) for e in events)


def test_invalid_decisions_write_nothing(h):
    thread, pending = halt_with(h, ("web_search", {"query": "LA weather"}))
    config = {"configurable": {"thread_id": thread.id}}
    before = len(list(h.backend.graph.get_state_history(config)))
    bad = [
        {pending[0].id: {"action": "edit", "args": "{not json"}},
        {pending[0].id: {"action": "edit", "args": {"q": "wrong field"}}},
        {pending[0].id: {"action": "mock", "content": "  "}},
        {pending[0].id: {"action": "explode"}},
        {},
        {"nope": {"action": "approve"}},
    ]
    for decisions in bad:
        with pytest.raises(DecisionError):
            h.backend.decide(LOCAL_USER, thread.id, decisions, h.choices, h.options)
    assert len(list(h.backend.graph.get_state_history(config))) == before
    assert h.backend.thread_view(LOCAL_USER, thread.id).waiting_for_approval


def test_a_failing_tool_becomes_an_error_result(h):
    h.search.fail_with = "search service unavailable"
    thread, pending = halt_with(h, ("web_search", {"query": "x"}))
    h.model.script = [reply("The search failed, sorry.")]
    events = h.decide(thread.id, {pending[0].id: {"action": "approve"}})
    result = [e for e in events if isinstance(e, ToolResult)][0]
    assert result.is_error and "search service unavailable" in result.content
    assert events[-1] == Done("done")


def test_busy_thread_refuses_a_second_run(h):
    gate = TokenGate()
    h.model.gate = gate
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("one two three")]
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "first", h.choices, h.options)
    )
    assert gate.wait_held_after(0)
    with pytest.raises(ThreadBusy, match="busy"):
        h.backend.send_message(LOCAL_USER, thread.id, "second", h.choices, h.options)
    gate.open_fully()
    h.finish(run)
    assert [m.content for m in state_messages(h, thread.id)] == ["first", "one two three"]


def test_cancel_mid_stream_keeps_a_valid_state(h):
    gate = TokenGate()
    h.model.gate = gate
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("alpha beta gamma delta")]
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "go", h.choices, h.options)
    )
    gate.release(2)
    assert gate.wait_held_after(2)
    assert wait_for_events(run.log, 2) and len(run.log) == 2
    assert [e.text for e in run.log.read(0) if isinstance(e, Token)] == ["alpha ", "beta "]
    assert h.backend.cancel_run(LOCAL_USER, run.id)
    gate.open_fully()
    events = h.finish(run)
    assert events[-1] == Done("cancelled")
    messages = state_messages(h, thread.id)
    assert [m.content for m in messages] == ["go"]
    assert h.backend.runs.active_run(thread.id) is None
    h.model.gate = None
    h.model.script = [reply("fresh answer")]
    h.send(thread.id, "again")
    assert state_messages(h, thread.id)[-1].content == "fresh answer"


def test_readers_at_any_offset_see_the_same_events(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("a b c d")]
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "hi", h.choices, h.options)
    )
    events = h.finish(run)
    assert h.backend.read_events(LOCAL_USER, run.id, 3) == events[3:]
    assert h.backend.read_events(LOCAL_USER, run.id, len(events), timeout=0.01) == []


def test_model_error_becomes_an_error_event_and_state_stays_valid(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [RuntimeError("boom")]
    events = h.send(thread.id, "hi")
    errors = [e for e in events if isinstance(e, Error)]
    assert len(errors) == 1 and errors[0].message
    assert events[-1] == Done("error")
    assert [m.content for m in state_messages(h, thread.id)] == ["hi"]
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "error"


def test_empty_and_oversized_messages_are_refused(h):
    thread = h.backend.create_thread(LOCAL_USER)
    with pytest.raises(InputError, match="Type a message"):
        h.backend.send_message(LOCAL_USER, thread.id, "   ", h.choices, h.options)
    with pytest.raises(InputError, match="limit"):
        h.backend.send_message(LOCAL_USER, thread.id, "x" * 20_001, h.choices, h.options)


def test_durability_exit_keeps_only_each_runs_last_checkpoint(data_dir):
    h = make_harness(data_dir, "sync", durability="exit")
    try:
        thread = h.backend.create_thread(LOCAL_USER)
        for question in ("q1", "q2"):
            h.model.script = [reply("", ("web_search", {"query": "x"})), reply("ok")]
            h.send(thread.id, question, approval=ApprovalPolicy("never"))
        config = {"configurable": {"thread_id": thread.id}}
        sizes = [
            len(s.values.get("messages", [])) for s in h.backend.graph.get_state_history(config)
        ]
        assert [n for n in sizes if n] == [8, 4], sizes
        assert state_messages(h, thread.id)[-1].content == "ok"
    finally:
        h.backend.close()


def test_tool_calls_and_results_are_announced(h):
    h.choices = h.choices.__class__(approval=ApprovalPolicy("never"))
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": "x"})), reply("ok")]
    events = h.send(thread.id, "q")
    calls = [e for e in events if isinstance(e, ToolCall)]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert len(calls) == 1 and calls[0].args == {"query": "x"}
    assert results[0].call_id == calls[0].call_id
