"""Your graph's HITL tools under per-tool rules, and its interrupts asked again on replay and fork."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.backend import LocalBackend
from agent.choices import AgentChoices, ApprovalPolicy
from agent.errors import DecisionError
from agent.graph_kit import kit_for
from agent.graph_source import graph_sources, load_graph
from agent.hitl_policy import verdicts
from agent.protocol import LOCAL_USER
from agent.settings import Settings
from tests.test_own_graph import finished, own, wait_for

__all__ = ["own"]  # the fixture, shared with tests/test_own_graph.py

ROOT = Path(__file__).resolve().parent.parent
AUTO = AgentChoices(approval=ApprovalPolicy("auto", frozenset({"web_search"})))
DENY = AgentChoices(approval=ApprovalPolicy("auto", denied_tools=frozenset({"web_search"})))

# Two guarded calls in one request: web_search allows every decision, fetch only approve.
MIXED = """
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from examples.hitl_agent import HumanInTheLoop, after_review

CALLS = [
    {"id": "c1", "name": "web_search", "args": {"query": "rome"}},
    {"id": "c2", "name": "fetch", "args": {"url": "https://example.org"}},
]


def model(state):
    if any(isinstance(m, ToolMessage) for m in state["messages"]):
        return {"messages": [AIMessage("done")]}
    return {"messages": [AIMessage("", tool_calls=CALLS)]}


def tools(state):
    ai = state["messages"][-1]
    answered = {m.tool_call_id for m in state["messages"] if isinstance(m, ToolMessage)}
    return {"messages": [
        ToolMessage(f"ran {c['name']}", tool_call_id=c["id"], name=c["name"])
        for c in ai.tool_calls if c["id"] not in answered
    ]}


graph = StateGraph(MessagesState)
graph.add_node("model", model)
graph.add_node("review", HumanInTheLoop(
    {"web_search": ["approve", "edit", "reject"], "fetch": ["approve"]}
).after_model)
graph.add_node("tools", tools)
graph.add_edge(START, "model")
graph.add_edge("model", "review")
graph.add_conditional_edges("review", after_review, ["tools", "model", END])
graph.add_edge("tools", "model")
"""


@pytest.fixture
def mixed(tmp_path):
    (tmp_path / "mixed.py").write_text(MIXED)
    (source,) = graph_sources("mixed.py:graph", tmp_path)
    backend = LocalBackend(
        Settings(db_path=tmp_path / "mixed.sqlite"), kit=kit_for(load_graph(source))
    )
    yield backend
    backend.close()


def answered_by_rules(backend: LocalBackend, thread_id: str, asked_id: str):
    """The run Waypoint starts by itself after the run `asked_id` halted, once it has ended."""
    run = wait_for(lambda: (r := backend.runs.latest_run(thread_id)) and r.id != asked_id and r)
    assert run, "the rules answered the request"
    assert run.log.wait_closed(30)
    return run


def labels(backend: LocalBackend, thread_id: str) -> list[str]:
    return [row.label for row in backend.timeline(LOCAL_USER, thread_id).rows]


def test_the_settings_offer_the_tools_the_graphs_hitl_middleware_guards(own):
    info = own("hitl_agent").info()
    assert info.tool_names == ("web_search",) and info.known_tools == ("web_search",)
    assert own("essay_writer").info().tool_names == (), "no HITL middleware, no tool rules"


def test_tools_seen_in_requests_are_offered_though_the_graph_does_not_name_them(mixed):
    assert mixed.info().known_tools == ("web_search", "fetch")
    mixed.kit = mixed.kit.__class__(**{**mixed.kit.__dict__, "hitl_tools": ()})
    mixed._seen_tools.clear()  # as for a graph whose middleware Waypoint cannot see
    handle = mixed.start_thread(LOCAL_USER, "go", AgentChoices())
    finished(mixed, handle)
    assert set(mixed.info().tool_names) == {"web_search", "fetch"}
    assert mixed.info().known_tools == ()


def test_auto_approve_answers_the_request_with_approve_without_asking(own):
    backend = own("hitl_agent")
    handle = backend.start_thread(LOCAL_USER, "What is the weather in Rome?", AUTO)
    assert finished(backend, handle) == "halted", "the graph itself asks"
    run = answered_by_rules(backend, handle.thread_id, handle.id)
    view = backend.thread_view(LOCAL_USER, handle.thread_id)
    assert view.thread.status == "idle" and not view.pending_calls
    assert "weather in Rome" in view.messages[-1].text
    assert [(d.tool, d.text) for d in run.prelude.decisions] == [
        ("web_search", "auto-approved by your setting")
    ]
    assert any(
        label.startswith("web_search auto-approved by your setting; review asked")
        for label in labels(backend, handle.thread_id)
    )


def test_deny_answers_with_reject_and_says_the_setting_denied_it(own):
    backend = own("hitl_agent")
    handle = backend.start_thread(LOCAL_USER, "What is the weather in Rome?", DENY)
    finished(backend, handle)
    run = answered_by_rules(backend, handle.thread_id, handle.id)
    view = backend.thread_view(LOCAL_USER, handle.thread_id)
    result = next(m for m in view.messages if m.role == "tool")
    assert result.text.startswith("Denied: the user's approval settings do not allow web_search")
    assert [d.text for d in run.prelude.decisions] == ["denied by your setting"]
    assert any(
        label.startswith("web_search denied by your setting")
        and "web_search denied by your settings (not run)" in label
        for label in labels(backend, handle.thread_id)
    )


def test_ask_leaves_the_request_to_you_and_your_decisions_are_labelled(own):
    backend = own("hitl_agent")
    handle = backend.start_thread(LOCAL_USER, "What is the weather in Rome?", AgentChoices())
    finished(backend, handle)
    (call,) = backend.thread_view(LOCAL_USER, handle.thread_id).pending_calls
    assert verdicts([call], AgentChoices().approval)[0].decision is None
    edit = {"action": "edit", "args": '{"query": "weather in Oslo"}'}
    run = backend.decide(LOCAL_USER, handle.thread_id, {call.id: edit}, AgentChoices())
    finished(backend, run)
    assert backend.runs.latest_run(handle.thread_id).id == run.id, "nothing answered for you"
    record = backend.runs.get(run.id).prelude.decisions[0]
    assert record.text == "edited by you: query weather in Oslo"
    assert any(label.startswith("you edited 1 call") for label in labels(backend, handle.thread_id))


def test_a_mixed_request_waits_for_your_call_and_goes_in_one_resume(mixed):
    handle = mixed.start_thread(LOCAL_USER, "go", AUTO)
    assert finished(mixed, handle) == "halted"
    view = mixed.thread_view(LOCAL_USER, handle.thread_id)
    search, fetch = view.pending_calls
    found = verdicts(view.pending_calls, AUTO.approval)
    assert [v.decision for v in found] == [{"action": "approve"}, None]
    assert mixed.runs.latest_run(handle.thread_id).id == handle.id, "fetch is still asked"
    with pytest.raises(DecisionError, match="Decide fetch too|every call needs a decision"):
        mixed.decide(LOCAL_USER, handle.thread_id, {}, AUTO)
    run = mixed.decide(LOCAL_USER, handle.thread_id, {fetch.id: {"action": "approve"}}, AUTO)
    assert finished(mixed, run) == "done"
    done = mixed.thread_view(LOCAL_USER, handle.thread_id)
    assert [m.text for m in done.messages if m.role == "tool"] == ["ran web_search", "ran fetch"]
    decided = mixed.runs.get(run.id).prelude.decisions
    assert {(d.tool, d.text) for d in decided} == {
        ("fetch", "approved"),
        ("web_search", "auto-approved by your setting"),
    }
    assert any(
        label.startswith("you approved 1 call; web_search auto-approved by your setting")
        for label in labels(mixed, handle.thread_id)
    )


def test_a_rule_the_request_does_not_allow_is_not_applied_and_says_why(mixed):
    deny_fetch = AgentChoices(
        approval=ApprovalPolicy(
            "auto", frozenset({"web_search"}), denied_tools=frozenset({"fetch"})
        )
    )
    handle = mixed.start_thread(LOCAL_USER, "go", deny_fetch)
    finished(mixed, handle)
    pending = mixed.thread_view(LOCAL_USER, handle.thread_id).pending_calls
    search, fetch = verdicts(pending, deny_fetch.approval)
    assert search.decision == {"action": "approve"}
    assert fetch.decision is None and "does not let it be rejected here" in fetch.problem
    assert mixed.runs.latest_run(handle.thread_id).id == handle.id, "you are asked about fetch"
    approve = {fetch.call.id: {"action": "approve"}}
    assert finished(mixed, mixed.decide(LOCAL_USER, handle.thread_id, approve, deny_fetch)) == (
        "done"
    )


def test_always_allowed_and_rules_together_answer_every_call(mixed):
    thread = mixed.create_thread(LOCAL_USER)
    mixed.allow_tool(LOCAL_USER, thread.id, "fetch", True)
    handle = mixed.send_message(LOCAL_USER, thread.id, "go", AgentChoices())
    finished(mixed, handle)
    assert mixed.runs.latest_run(handle.thread_id).id == handle.id, "web_search is asked"
    search, fetch = mixed.thread_view(LOCAL_USER, handle.thread_id).pending_calls
    decided = mixed.decide(LOCAL_USER, handle.thread_id, {search.id: {"action": "approve"}}, AUTO)
    finished(mixed, decided)
    assert {(d.tool, d.text) for d in mixed.runs.get(decided.id).prelude.decisions} == {
        ("web_search", "approved"),
        ("fetch", "approved: always allowed in this thread"),
    }


@pytest.mark.parametrize("example", ["hitl_agent", "essay_writer"])
def test_an_interrupt_is_asked_again_on_a_replay_and_a_fork_and_takes_the_new_answer(own, example):
    backend = own(example)
    first, approve, other = {
        "hitl_agent": (
            "What is the weather in Rome?",
            {"action": "approve"},
            {"action": "edit", "args": '{"query": "weather in Oslo"}'},
        ),
        "essay_writer": ('{"task": "x"}', '{"plan": ["First"]}', '{"plan": ["Second"]}'),
    }[example]

    def answer(thread_id: str, how):
        view = backend.thread_view(LOCAL_USER, thread_id)
        if example == "hitl_agent":
            (call,) = view.pending_calls
            return backend.decide(LOCAL_USER, thread_id, {call.id: how}, AgentChoices())
        (question,) = view.questions
        return backend.answer(LOCAL_USER, thread_id, {question.id: how})

    def outcome(thread_id: str) -> str:
        view = backend.thread_view(LOCAL_USER, thread_id)
        return view.messages[-1].text if example == "hitl_agent" else view.values["draft"]

    handle = backend.start_thread(LOCAL_USER, first, AgentChoices())
    thread_id = handle.thread_id
    finished(backend, handle)
    finished(backend, answer(thread_id, approve))
    rows = backend.timeline(LOCAL_USER, thread_id).rows
    halt = next(row for row in rows if row.halted)
    before = rows[rows.index(halt) + 1]
    for start in (halt, before):  # the halt itself, and the checkpoint before it
        replay = backend.resume(
            LOCAL_USER, thread_id, AgentChoices(), checkpoint_id=start.checkpoint_id
        )
        assert finished(backend, replay) == "halted", "asked again, not answered as before"
        assert finished(backend, answer(thread_id, other)) == "done"
        assert ("Oslo" if example == "hitl_agent" else "Second.") in outcome(thread_id)
    fork = backend.fork_thread(LOCAL_USER, thread_id, halt.checkpoint_id)
    view = backend.thread_view(LOCAL_USER, fork.id)
    assert view.next_nodes == halt.next_nodes and not view.pending_calls and not view.questions
    assert finished(backend, backend.resume(LOCAL_USER, fork.id, AgentChoices())) == "halted"
    assert finished(backend, answer(fork.id, other)) == "done"
    assert ("Oslo" if example == "hitl_agent" else "Second.") in outcome(fork.id)
