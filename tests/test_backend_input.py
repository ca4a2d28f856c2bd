"""Wrongly typed input through the backend API: a ValueError with a sentence, and nothing written.

Pages pass what a widget returned, a future HTTP API will pass what a client sent: a number where
text belongs, a list where a mapping belongs. Every public `LocalBackend` method that takes such
input must refuse it with `InputError` (or `DecisionError` for decisions) saying which value was
wrong and what to give instead, before it writes anything or starts a run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from agent.backend import LocalBackend
from agent.errors import DecisionError, InputError
from agent.protocol import LOCAL_USER
from agent.views import ToolCallView
from tests.engine_fixtures import make_harness
from tests.scripted_model import reply


@pytest.fixture(scope="module")
def halted(tmp_path_factory):
    """A thread waiting for approval of one search (human message, AI message with a call)."""
    h = make_harness(tmp_path_factory.mktemp("input"), "sync")
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Searching.", ("web_search", {"query": "SF"}))]
    h.send(thread.id, "weather in SF?")
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    assert view.waiting_for_approval
    yield h, view
    h.backend.close()


def _stored(backend: LocalBackend) -> list:
    """Everything a call could write: the index rows and every checkpoint and write."""
    conn = sqlite3.connect(backend.settings.db_path)
    try:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()
            for table in ("waypoint_threads", "checkpoints", "writes")
        ]
    finally:
        conn.close()


Call = Callable[
    [Any, Any], Any
]  # (harness, the thread's view) -> the backend call: wrong types on purpose


def _edit(**changes) -> Call:
    def call(h, v):
        args = {
            "thread_id": v.thread.id,
            "checkpoint_id": v.checkpoint_id,
            "message_id": v.messages[0].id,
            "text": "new text",
        }
        args.update(changes)
        return h.backend.edit_message(LOCAL_USER, **args)

    return call


def _decide(decisions: Any) -> Call:
    return lambda h, v: h.backend.decide(LOCAL_USER, v.thread.id, decisions, h.choices, h.options)


def _call_id(v) -> str:
    return v.pending_calls[0].id


CASES: dict[str, Call] = {
    "create_thread title": lambda h, v: h.backend.create_thread(LOCAL_USER, 5),
    "list_threads search": lambda h, v: h.backend.list_threads(LOCAL_USER, search=5),
    "list_threads limit": lambda h, v: h.backend.list_threads(LOCAL_USER, limit="10"),
    "list_threads offset": lambda h, v: h.backend.list_threads(LOCAL_USER, offset=None),
    "list_threads limit bool": lambda h, v: h.backend.list_threads(LOCAL_USER, limit=True),
    "count_threads search": lambda h, v: h.backend.count_threads(LOCAL_USER, search=[1]),
    "get_thread id": lambda h, v: h.backend.get_thread(LOCAL_USER, 5),
    "find_thread id": lambda h, v: h.backend.find_thread(LOCAL_USER, [v.thread.id]),
    "rename_thread title": lambda h, v: h.backend.rename_thread(LOCAL_USER, v.thread.id, 5),
    "rename_thread id": lambda h, v: h.backend.rename_thread(LOCAL_USER, {}, "new"),
    "delete_thread id": lambda h, v: h.backend.delete_thread(LOCAL_USER, [v.thread.id]),
    "delete_thread timeout": lambda h, v: h.backend.delete_thread(
        LOCAL_USER, v.thread.id, timeout="10"
    ),
    "thread_view id": lambda h, v: h.backend.thread_view(LOCAL_USER, None),
    "send_message text": lambda h, v: h.backend.send_message(
        LOCAL_USER, v.thread.id, 5, h.choices, h.options
    ),
    "send_message text list": lambda h, v: h.backend.send_message(
        LOCAL_USER, v.thread.id, ["hi"], h.choices, h.options
    ),
    "send_message id": lambda h, v: h.backend.send_message(
        LOCAL_USER, 5, "hi", h.choices, h.options
    ),
    "send_message choices": lambda h, v: h.backend.send_message(
        LOCAL_USER, v.thread.id, "hi", {"provider": "demo"}, h.options
    ),
    "send_message options": lambda h, v: h.backend.send_message(
        LOCAL_USER, v.thread.id, "hi", h.choices, "sync"
    ),
    "decide not a mapping": _decide([{"action": "approve"}]),
    "decide decision is text": lambda h, v: _decide({_call_id(v): "approve"})(h, v),
    "decide unknown text": _decide({"x": "approve"}),
    "decide key not text": lambda h, v: _decide({5: {"action": "approve"}, _call_id(v): {}})(h, v),
    "decide action not text": lambda h, v: _decide({_call_id(v): {"action": ["approve"]}})(h, v),
    "decide mock content": lambda h, v: _decide(
        {_call_id(v): {"action": "mock", "content": {"a": 1}}}
    )(h, v),
    "decide reject reason": lambda h, v: _decide({_call_id(v): {"action": "reject", "reason": 5}})(
        h, v
    ),
    "decide edit args": lambda h, v: _decide({_call_id(v): {"action": "edit", "args": [1]}})(h, v),
    "decide id": lambda h, v: h.backend.decide(LOCAL_USER, 5, {}, h.choices, h.options),
    "decision_problem call": lambda h, v: h.backend.decision_problem(
        {"id": "c"}, {"action": "approve"}, h.choices
    ),
    "resume checkpoint": lambda h, v: h.backend.resume(
        LOCAL_USER, v.thread.id, h.choices, h.options, checkpoint_id=5
    ),
    "resume choices": lambda h, v: h.backend.resume(LOCAL_USER, v.thread.id, None, h.options),
    "any_run_active user": lambda h, v: h.backend.any_run_active("local"),
    "cancel_run id": lambda h, v: h.backend.cancel_run(LOCAL_USER, 5),
    "read_events id": lambda h, v: h.backend.read_events(LOCAL_USER, [1]),
    "read_events offset": lambda h, v: h.backend.read_events(LOCAL_USER, "run", offset="0"),
    "read_events timeout": lambda h, v: h.backend.read_events(LOCAL_USER, "run", timeout=[1]),
    "run_status id": lambda h, v: h.backend.run_status(LOCAL_USER, {}),
    "timeline limit": lambda h, v: h.backend.timeline(LOCAL_USER, v.thread.id, limit="50"),
    "timeline offset": lambda h, v: h.backend.timeline(LOCAL_USER, v.thread.id, offset=1.5),
    "checkpoint_detail id": lambda h, v: h.backend.checkpoint_detail(LOCAL_USER, v.thread.id, 5),
    "checkpoint_detail none": lambda h, v: h.backend.checkpoint_detail(
        LOCAL_USER, v.thread.id, None
    ),
    "edit_message text": _edit(text=5),
    "edit_message text list": _edit(text=["x"]),
    "edit_message tool_args list": _edit(text=None, tool_args=[1]),
    "edit_message tool_args number": _edit(text=None, tool_args=5),
    "edit_message tool_result dict": _edit(text=None, tool_result={}),
    "edit_message tool_result number": _edit(text=None, tool_result=5),
    "edit_message tool_call_id": _edit(text=None, tool_args={"query": "x"}, tool_call_id=5),
    "edit_message message id": _edit(message_id=None),
    "edit_message checkpoint": _edit(checkpoint_id=["x"]),
    "edit_message choices": _edit(choices="demo"),
    "fork_thread checkpoint": lambda h, v: h.backend.fork_thread(LOCAL_USER, v.thread.id, None),
    "fork_thread title": lambda h, v: h.backend.fork_thread(
        LOCAL_USER, v.thread.id, v.checkpoint_id, 5
    ),
    "show_branch checkpoint": lambda h, v: h.backend.show_branch(LOCAL_USER, v.thread.id, 5),
    "message_versions id": lambda h, v: h.backend.message_versions(LOCAL_USER, 5),
    "switch_branch message": lambda h, v: h.backend.switch_branch(LOCAL_USER, v.thread.id, 5, 0),
    "switch_branch index": lambda h, v: h.backend.switch_branch(
        LOCAL_USER, v.thread.id, v.messages[1].id, "1"
    ),
    "switch_branch index float": lambda h, v: h.backend.switch_branch(
        LOCAL_USER, v.thread.id, v.messages[1].id, 1.0
    ),
    "regenerate message": lambda h, v: h.backend.regenerate(
        LOCAL_USER, v.thread.id, {"id": v.messages[1].id}, h.choices, h.options
    ),
    "edit_and_resend text": lambda h, v: h.backend.edit_and_resend(
        LOCAL_USER, v.thread.id, v.messages[0].id, 5, h.choices, h.options
    ),
    "edit_and_resend message": lambda h, v: h.backend.edit_and_resend(
        LOCAL_USER, v.thread.id, None, "again", h.choices, h.options
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_wrongly_typed_input_is_refused_with_a_sentence_and_writes_nothing(halted, case):
    h, view = halted
    before = _stored(h.backend)
    with pytest.raises(ValueError) as caught:
        CASES[case](h, view)
    assert isinstance(caught.value, (InputError, DecisionError)), repr(caught.value)
    message = str(caught.value)
    assert message[0].isupper() and message.endswith("."), message
    assert "Traceback" not in message and len(message) < 300, message
    assert _stored(h.backend) == before
    assert h.backend.runs.active_run(view.thread.id) is None
    assert h.backend.thread_view(LOCAL_USER, view.thread.id).waiting_for_approval


@pytest.mark.parametrize(
    "decision",
    ["approve", None, 5, {"action": "mock", "content": ["x"]}, {"action": {"approve": 1}}],
    ids=["text", "none", "number", "mock list", "action dict"],
)
def test_a_wrongly_typed_decision_is_a_problem_to_show_not_an_error(halted, decision):
    h, view = halted
    problem = h.backend.decision_problem(view.pending_calls[0], decision, h.choices)
    assert isinstance(problem, str) and problem.endswith("."), problem


def test_the_right_types_still_work(halted):
    """The checks refuse only wrong types: a call id given as a ToolCallView still decides."""
    h, view = halted
    call = view.pending_calls[0]
    assert isinstance(call, ToolCallView)
    assert h.backend.decision_problem(call, {"action": "approve"}, h.choices) is None
    assert h.backend.list_threads(LOCAL_USER, search="", limit=5, offset=0)
    assert h.backend.timeline(LOCAL_USER, view.thread.id, limit=5, offset=0).total > 0
