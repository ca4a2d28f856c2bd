"""The run record: every run leaves a report (steps, times, tokens, decisions, the LangGraph calls
it made), kept in the database, placed under the turn it answered, read back after a restart and
by another engine on the same database. Both engines, both databases."""

from __future__ import annotations

from dataclasses import replace

import pytest
from langchain_core.messages import AIMessage

from agent import run_store
from agent.backend import LocalBackend
from agent.choices import ApprovalPolicy
from agent.demo_model import DemoChatModel
from agent.protocol import LOCAL_USER
from agent.run_record import thread_report
from agent.stream_events import StreamTranslator
from agent.views import MessageView, RunReport, ToolCallView
from tests.engine_fixtures import ON_BOTH_DATABASES, engine_run, harness_for, make_harness
from tests.scripted_model import TokenGate, reply


@pytest.fixture(**ON_BOTH_DATABASES)
def h(request, data_dir):
    harness = harness_for(request, data_dir)
    yield harness
    harness.backend.close()


def report_of(h, thread_id):
    return h.backend.thread_view(LOCAL_USER, thread_id).report


def test_a_run_leaves_its_report_under_the_answer(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Hello there."), reply("Again.")]
    h.send(thread.id, "hi")
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    answer = view.messages[-1]
    [turn] = view.report.turns
    assert turn.message_id == answer.id
    [run] = turn.runs
    assert run.status == "done" and run.engine == h.options.engine
    assert [s.node for s in run.steps] == ["llm"]
    assert run.first_token_seconds is not None and 0 < run.first_token_seconds <= run.seconds
    assert run.usage == "none" and run.tokens_in is None  # the scripted model reports none
    method = "graph.astream(" if h.options.engine == "async" else "graph.stream("
    [call] = run.calls
    assert method in call and 'HumanMessage("hi"' in call
    assert 'stream_mode=["messages", "updates"]' in call and 'durability="sync"' in call
    assert f'"thread_id": "{thread.id}"' in call and "a new thread" in call
    assert run.from_checkpoint is None
    latest = view.checkpoint_id
    h.send(thread.id, "and again")
    second = report_of(h, thread.id)
    assert len(second.turns) == 2 and second.turns[0] == turn
    assert second.turns[1].runs[0].from_checkpoint == latest
    assert f"continues from the latest, {latest}" in second.turns[1].runs[0].calls[0]
    assert len(second.runs) == 2
    assert second.totals.seconds == pytest.approx(sum(r.seconds for r in second.runs))


def test_each_kind_of_decision_is_recorded_with_its_call(h):
    thread = h.backend.create_thread(LOCAL_USER)
    queries = ["LA weather", "SF weather", "NY weather", "Rome weather"]
    h.model.script = [reply("Searching.", *[("web_search", {"query": q}) for q in queries])]
    h.send(thread.id, "weather?")
    pending = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    h.model.script = [reply("Here it is.")]
    h.decide(
        thread.id,
        {
            pending[0].id: {"action": "approve"},
            pending[1].id: {"action": "edit", "args": {"query": "New York"}},
            pending[2].id: {"action": "mock", "content": "Rain all day"},
            pending[3].id: {"action": "reject", "reason": "not needed"},
        },
    )
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    [turn] = view.report.turns
    assert turn.message_id == view.messages[-1].id
    halted, decided = turn.runs
    assert halted.status == "halted" and decided.status == "done"
    assert [(d.action, d.text, d.call_id) for d in decided.decisions] == [
        ("approve", "approved", pending[0].id),
        ("edit", "edited by you: query New York", pending[1].id),
        ("mock", "answered by you", pending[2].id),
        ("reject", "rejected: not needed", pending[3].id),
    ]
    assert [s.node for s in decided.steps] == ["action", "llm"]
    [call] = decided.calls
    assert "Command(resume={" in call and f'"{pending[1].id}": {{"action": "edit"' in call
    assert decided.from_checkpoint is not None and decided.from_checkpoint in call
    answered = next(m for m in view.messages if m.tool_call_id == pending[2].id)
    assert answered.by_human and answered.search is None and answered.text == "Rain all day"
    searched = next(m for m in view.messages if m.tool_call_id == pending[0].id)
    assert not searched.by_human and searched.search is not None


def test_a_stop_and_a_message_sent_instead_of_deciding_are_recorded(h):
    gate = TokenGate()
    h.model.gate = gate
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("alpha beta gamma")]
    run = engine_run(
        h.backend, h.backend.send_message(LOCAL_USER, thread.id, "go", h.choices, h.options)
    )
    gate.release(1)
    assert gate.wait_held_after(1)
    assert h.backend.cancel_run(LOCAL_USER, run.id)
    gate.open_fully()
    h.finish(run)
    h.model.gate = None
    [turn] = report_of(h, thread.id).turns  # placed by the message it sent: nothing answered it
    assert turn.runs[0].status == "cancelled"
    assert [d.text for d in turn.runs[0].decisions] == ["stopped by you"]
    h.model.script = [reply("Searching.", ("web_search", {"query": "LA"})), reply("A joke.")]
    h.send(thread.id, "weather")
    pending = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    h.send(thread.id, "never mind")
    last = report_of(h, thread.id).turns[-1].runs[-1]
    assert [(d.action, d.call_id) for d in last.decisions] == [("cancel", pending[0].id)]
    update, stream = last.calls
    assert 'graph.update_state(config, {"messages": [ToolMessage(' in update
    assert 'as_node="action"' in update and "Cancelled by the user" in update
    assert 'HumanMessage("never mind"' in stream


def test_a_replay_records_the_checkpoint_it_ran_from(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("First answer."), reply("Second answer.")]
    h.send(thread.id, "hi")
    answer = h.backend.thread_view(LOCAL_USER, thread.id).messages[-1]
    h.finish(h.backend.regenerate(LOCAL_USER, thread.id, answer.id, h.choices, h.options))
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    [turn] = view.report.turns  # the first answer's run is on the branch not shown
    [run] = turn.runs
    assert turn.message_id == view.messages[-1].id != answer.id
    assert run.from_checkpoint and f'"checkpoint_id": "{run.from_checkpoint}"' in run.calls[-1]
    assert "graph." in run.calls[-1] and "\n    None,\n" in run.calls[-1]


def test_user_text_is_shortened_and_keys_never_shown(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Noted.")]
    secret = "sk-proj-" + "A1b2C3d4" * 6
    h.send(thread.id, f"my key is {secret} " + "and a very long story " * 20)
    [call] = report_of(h, thread.id).runs[0].calls
    assert secret not in call and "sk-proj-A1b2" not in call
    message_line = next(line for line in call.splitlines() if "HumanMessage(" in line)
    assert "…" in message_line and len(message_line) < 160


def test_the_record_survives_a_restart_and_shows_in_another_engine(data_dir, monkeypatch):
    first = make_harness(data_dir, "sync")
    thread = first.backend.create_thread(LOCAL_USER)
    first.model.script = [reply("Kept.")]
    first.send(thread.id, "remember this run")
    kept = report_of(first, thread.id)
    other = LocalBackend(first.backend.settings)  # a second app server on the same database
    assert other.thread_view(LOCAL_USER, thread.id).report == kept
    other.close()
    first.backend.close()
    # Minutes later the run's events are dropped as a new run begins; its report stays.
    monkeypatch.setattr(run_store, "KEEP_ENDED_SECONDS", -1.0)
    again = make_harness(data_dir, "async")
    old_run = kept.runs[0].id
    again.model.script = [reply("Still here.")]
    again.send(thread.id, "after a restart")
    assert again.backend.persistence.runs.events(old_run) == []
    turns = report_of(again, thread.id).turns
    assert turns[0] == kept.turns[0] and [r.engine for t in turns for r in t.runs] == [
        "sync",
        "async",
    ]
    again.backend.close()


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_the_demo_model_reports_an_estimate_and_says_so(data_dir, engine):
    h = make_harness(data_dir, engine, DemoChatModel(token_delay=0))
    h.choices = replace(h.choices, approval=ApprovalPolicy("never"))
    thread = h.backend.create_thread(LOCAL_USER)
    h.send(thread.id, "What is LangGraph?")
    report = report_of(h, thread.id)
    llm_steps = [s for run in report.runs for s in run.steps if s.node == "llm"]
    assert report.totals.usage == "estimated" and len(llm_steps) == 2
    assert all(s.tokens_in and s.tokens_out for s in llm_steps)
    assert report.totals.tokens_in == sum(s.tokens_in for s in llm_steps)
    # The second call read the first call's results: it was sent more.
    assert llm_steps[1].tokens_in > llm_steps[0].tokens_in
    h.backend.close()


def test_a_providers_usage_is_reported_as_it_came():
    translator = StreamTranslator()
    message = AIMessage(
        "hi",
        id="ai-1",
        usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
    )
    [step] = list(translator.feed("updates", {"llm": {"messages": [message]}}))
    assert (step.tokens_in, step.tokens_out, step.estimated) == (12, 3, False)
    assert step.message_ids == ("ai-1",)
    edited = list(translator.feed("updates", {"action": {"messages": [message]}}))
    assert edited[-1].tokens_in is None  # an edited call's copy is not counted twice


def _report(run_id: str, *, message_ids=(), call_ids=()) -> RunReport:
    return RunReport(
        run_id, "sync", "done", 0.0, 1.0, None, message_ids=message_ids, call_ids=call_ids
    )


def test_reports_are_grouped_by_the_turn_they_wrote_into():
    call = ToolCallView("c1", "web_search", {"query": "x"})
    messages = (
        MessageView("h1", "human", "q1"),
        MessageView("a1", "ai", "", tool_calls=(call,)),
        MessageView("t1", "tool", "r", tool_call_id="c1"),
        MessageView("a2", "ai", "answer"),
        MessageView("h2", "human", "q2"),
    )
    reports = [
        _report("halted", message_ids=("a1",)),
        _report("decided", call_ids=("c1",), message_ids=("a2",)),
        replace(_report("stopped"), sent="h2"),
        replace(_report("elsewhere", message_ids=("other-branch",)), sent="h1"),
    ]
    grouped = thread_report(messages, reports)
    assert [(t.message_id, [r.id for r in t.runs]) for t in grouped.turns] == [
        ("a2", ["halted", "decided"]),
        ("h2", ["stopped"]),
    ]
    assert grouped.totals.seconds == 3.0
