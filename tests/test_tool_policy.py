"""Per-tool approval on both engines and databases: ask, allow, deny, and "always allow in this
thread" given from an approval card, recorded in the timeline and honoured on the next call."""

from __future__ import annotations

import threading

import pytest
from langchain_core.messages import ToolMessage

from agent.choices import ApprovalPolicy
from agent.errors import InputError, UnknownThread
from agent.events import Halted, ToolResult
from agent.protocol import LOCAL_USER, User
from agent.runs import ThreadBusy
from tests.engine_fixtures import ON_BOTH_DATABASES, harness_for
from tests.scripted_model import reply
from tests.test_engine import assert_history_valid, halt_with, state_messages

SEARCH = ("web_search", {"query": "LA weather"})
DENY_SEARCH = ApprovalPolicy("auto", denied_tools=frozenset({"web_search"}))


@pytest.fixture(**ON_BOTH_DATABASES)
def h(request, data_dir):
    harness = harness_for(request, data_dir)
    yield harness
    harness.backend.close()


def test_rules_per_tool():
    policy = ApprovalPolicy("auto", frozenset({"a"}), frozenset({"d"}), frozenset({"t"}))
    assert [policy.rule(name) for name in ("a", "d", "t", "other")] == [
        "allow",
        "deny",
        "allow",
        "ask",
    ]
    assert ApprovalPolicy("ask").rule("a") == "ask"
    assert ApprovalPolicy("ask").allowing({"a"}).rule("a") == "allow"
    assert ApprovalPolicy("never").rule("a") == "allow"
    # A denial is the narrower, current choice: it wins over an allow of any kind.
    assert (
        ApprovalPolicy("never", denied_tools=frozenset({"a"})).allowing({"a"}).rule("a") == "deny"
    )


def test_a_denied_tool_never_runs_and_the_model_reads_why(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", SEARCH), reply("I could not search, but generally…")]
    events = h.send(thread.id, "weather in LA?", approval=DENY_SEARCH)
    assert not any(isinstance(e, Halted) for e in events)
    assert h.search.queries == []
    results = [e for e in events if isinstance(e, ToolResult)]
    assert len(results) == 1 and results[0].is_error
    messages = state_messages(h, thread.id)
    denied = [m for m in messages if isinstance(m, ToolMessage)]
    assert "do not allow web_search" in denied[0].content
    assert messages[-1].content == "I could not search, but generally…"
    assert_history_valid(messages)  # no orphaned tool call
    # The model was given the denial as the call's result before it answered.
    assert any(isinstance(m, ToolMessage) and "Denied" in m.content for m in h.model.seen[-1])
    # The timeline and the run record say it was denied, not that it failed.
    denied_row = "action ran no tool: web_search denied by your settings (not run)"
    assert denied_row in [r.label for r in h.backend.timeline(LOCAL_USER, thread.id).rows]
    (record,) = h.backend.thread_view(LOCAL_USER, thread.id).report.runs
    assert [s.summary for s in record.steps if s.node == "action"] == [
        "web_search denied by your settings (not run)"
    ]


def test_deny_applies_to_an_unasked_call_next_to_an_asked_one(h):
    """Two calls: one asked (another tool), one denied; the decision covers only the asked one."""
    thread = h.backend.create_thread(LOCAL_USER)
    policy = ApprovalPolicy("auto", denied_tools=frozenset({"web_search"}))
    h.model.script = [reply("", SEARCH, ("other_tool", {"x": 1}))]
    h.send(thread.id, "q", approval=policy)
    pending = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    assert [c.name for c in pending] == ["other_tool"]
    h.model.script = [reply("Done.")]
    h.decide(thread.id, {pending[0].id: {"action": "reject", "reason": "no"}}, approval=policy)
    messages = state_messages(h, thread.id)
    results = {m.name: m.content for m in messages if isinstance(m, ToolMessage)}
    assert "Denied" in results["web_search"] and "Rejected by the user: no" in results["other_tool"]
    assert h.search.queries == [] and h.backend.thread_view(LOCAL_USER, thread.id).messages
    assert_history_valid(messages)


def test_always_allow_is_recorded_and_honoured_on_the_next_call(h):
    thread, pending = halt_with(h, SEARCH)
    h.model.script = [reply("Sunny [1].")]
    h.decide(thread.id, {pending[0].id: {"action": "approve", "always_allow": True}})
    assert h.search.queries == ["LA weather"]
    assert h.backend.get_thread(LOCAL_USER, thread.id).allowed_tools == ("web_search",)
    rows = h.backend.timeline(LOCAL_USER, thread.id, limit=100).rows
    labels = [row.label for row in rows]
    assert any("always allow web_search in this thread" in label for label in labels), labels
    # The next call of that tool in this thread runs without asking, with "ask" in the settings.
    h.model.script = [reply("", ("web_search", {"query": "SF"})), reply("Foggy [1].")]
    events = h.send(thread.id, "and SF?")
    assert not any(isinstance(e, Halted) for e in events)
    assert h.search.queries == ["LA weather", "SF"]
    # Another thread still asks.
    other, _ = halt_with(h, ("web_search", {"query": "NY"}))
    assert h.backend.thread_view(LOCAL_USER, other.id).waiting_for_approval
    assert h.backend.get_thread(LOCAL_USER, other.id).allowed_tools == ()


def test_always_allow_holds_for_later_calls_of_the_same_run(h):
    thread, pending = halt_with(h, SEARCH)
    h.model.script = [reply("", ("web_search", {"query": "more"})), reply("Done.")]
    events = h.decide(thread.id, {pending[0].id: {"action": "approve", "always_allow": True}})
    assert not any(isinstance(e, Halted) for e in events)
    assert h.search.queries == ["LA weather", "more"]


def test_a_denial_in_the_settings_wins_over_the_threads_allow(h):
    thread, pending = halt_with(h, SEARCH)
    h.model.script = [reply("Sunny.")]
    h.decide(thread.id, {pending[0].id: {"action": "approve", "always_allow": True}})
    h.model.script = [reply("", ("web_search", {"query": "SF"})), reply("Without searching.")]
    h.send(thread.id, "and SF?", approval=DENY_SEARCH)
    assert h.search.queries == ["LA weather"]


def test_taking_the_allow_back_asks_again(h):
    thread, pending = halt_with(h, SEARCH)
    h.model.script = [reply("Sunny.")]
    h.decide(thread.id, {pending[0].id: {"action": "approve", "always_allow": True}})
    before = h.backend.thread_view(LOCAL_USER, thread.id)
    info = h.backend.allow_tool(LOCAL_USER, thread.id, "web_search", False)
    assert info.allowed_tools == ()
    # The timeline says so, in a row that changes nothing else of the conversation.
    newest = h.backend.timeline(LOCAL_USER, thread.id, limit=1).rows[0]
    assert newest.label == "you took back “always allow web_search”: its calls are asked again"
    after = h.backend.thread_view(LOCAL_USER, thread.id)
    assert after.messages == before.messages and after.next_nodes == before.next_nodes
    assert h.backend.allow_tool(LOCAL_USER, thread.id, "web_search", False) == info  # no row
    assert h.backend.timeline(LOCAL_USER, thread.id, limit=1).rows[0] == newest
    h.model.script = [reply("", ("web_search", {"query": "SF"}))]
    events = h.send(thread.id, "and SF?")
    assert any(isinstance(e, Halted) for e in events)


def test_an_allow_given_or_taken_back_at_a_halt_keeps_the_call_asked(h):
    thread, pending = halt_with(h, SEARCH)
    h.backend.allow_tool(LOCAL_USER, thread.id, "web_search", True)
    h.backend.allow_tool(LOCAL_USER, thread.id, "web_search", False)
    labels = [r.label for r in h.backend.timeline(LOCAL_USER, thread.id, limit=2).rows]
    assert labels == [
        "you took back “always allow web_search”: its calls are asked again",
        "you chose to always allow web_search in this thread",
    ]
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert [c.id for c in view.pending_calls] == [pending[0].id]
    h.model.script = [reply("Sunny.")]
    h.decide(thread.id, {pending[0].id: {"action": "approve"}})
    assert h.search.queries == ["LA weather"]


def test_the_allow_is_not_changed_under_a_running_run(h):
    thread, pending = halt_with(h, SEARCH)
    h.search.block = threading.Event()
    h.search.entered.clear()
    h.model.script = [reply("Sunny.")]
    run = h.backend.decide(
        LOCAL_USER,
        thread.id,
        {pending[0].id: {"action": "approve", "always_allow": True}},
        h.choices,
    )
    assert h.search.entered.wait(20), "the run never reached its tool"
    with pytest.raises(ThreadBusy):
        h.backend.allow_tool(LOCAL_USER, thread.id, "web_search", False)
    h.search.block.set()
    assert h.finish(run)[-1].status == "done"
    assert h.backend.get_thread(LOCAL_USER, thread.id).allowed_tools == ("web_search",)


def test_a_plain_approval_allows_nothing_more(h):
    thread, pending = halt_with(h, SEARCH)
    h.model.script = [reply("", ("web_search", {"query": "again"}))]
    events = h.decide(thread.id, {pending[0].id: {"action": "approve"}})
    assert any(isinstance(e, Halted) for e in events)
    assert h.backend.get_thread(LOCAL_USER, thread.id).allowed_tools == ()


def test_an_unknown_tool_is_never_stored_as_allowed(h):
    thread, pending = halt_with(h, ("made_up_tool", {}))
    h.model.script = [reply("Done.")]
    h.decide(thread.id, {pending[0].id: {"action": "approve", "always_allow": True}})
    assert h.backend.get_thread(LOCAL_USER, thread.id).allowed_tools == ()


def test_allow_tool_checks_the_owner_and_its_input(h):
    thread = h.backend.create_thread(LOCAL_USER)
    stranger = User(id="someone", name="Someone")
    with pytest.raises(UnknownThread):
        h.backend.allow_tool(stranger, thread.id, "web_search", True)
    with pytest.raises(InputError, match="tool"):
        h.backend.allow_tool(LOCAL_USER, thread.id, 3, True)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="allowed"):
        h.backend.allow_tool(LOCAL_USER, thread.id, "web_search", "yes")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no tool named 'rm_rf'"):
        h.backend.allow_tool(LOCAL_USER, thread.id, "rm_rf", True)
    assert h.backend.get_thread(LOCAL_USER, thread.id).allowed_tools == ()
    assert h.backend.allow_tool(LOCAL_USER, thread.id, "web_search", True).allowed_tools == (
        "web_search",
    )
