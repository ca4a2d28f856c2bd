"""What a person writes into a thread is capped like a tool's result, and refused with a sentence.

"Answer instead", a rejection's reason and edited arguments in the approval panel, and a tool
result rewritten in the Inspector, may hold at most MAX_TOOL_RESULT_CHARS characters (what a tool
itself may return); a message's text MAX_MESSAGE_CHARS. Over that the engine refuses, saying the
limit, and writes nothing. Both engines.
"""

from __future__ import annotations

import pytest

from agent.errors import DecisionError, InputError
from agent.limits import MAX_MESSAGE_CHARS, MAX_TOOL_RESULT_CHARS
from agent.protocol import LOCAL_USER
from tests.engine_fixtures import make_harness
from tests.scripted_model import reply

OVER = "x" * (MAX_TOOL_RESULT_CHARS + 1)


@pytest.fixture(params=["sync", "async"])
def h(request, data_dir):
    harness = make_harness(data_dir, request.param)
    yield harness
    harness.backend.close()


def halted(h):
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("Searching.", ("web_search", {"query": "weather in LA"}))]
    h.send(thread.id, "weather in LA?")
    (call,) = h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    return thread, call


@pytest.mark.parametrize(
    "decision, what",
    [
        ({"action": "mock", "content": OVER}, "The answer"),
        ({"action": "reject", "reason": OVER}, "The reason"),
        ({"action": "edit", "args": {"query": OVER}}, "The arguments"),
        ({"action": "edit", "args": f'{{"query": "{OVER}"}}'}, "The arguments"),
    ],
)
def test_a_decision_over_the_limit_is_refused_before_anything_runs(h, decision, what):
    thread, call = halted(h)
    before = h.backend.timeline(LOCAL_USER, thread.id).total
    problem = h.backend.decision_problem(call, decision, h.choices)
    assert problem is not None and problem.startswith(what)
    assert f"the limit is {MAX_TOOL_RESULT_CHARS:,}" in problem
    with pytest.raises(DecisionError, match="the limit is"):
        h.backend.decide(LOCAL_USER, thread.id, {call.id: decision}, h.choices, h.options)
    assert h.backend.timeline(LOCAL_USER, thread.id).total == before
    assert h.search.queries == []


def test_a_decision_at_the_limit_goes_through(h):
    thread, call = halted(h)
    h.model.script = [reply("Thanks.")]
    exact = "y" * MAX_TOOL_RESULT_CHARS
    h.decide(thread.id, {call.id: {"action": "mock", "content": exact}})
    assert any(m.text == exact for m in h.backend.thread_view(LOCAL_USER, thread.id).messages)


def test_an_edited_tool_result_over_the_limit_is_refused(h):
    thread, call = halted(h)
    h.model.script = [reply("Done.")]
    h.decide(thread.id, {call.id: {"action": "approve"}})
    page = h.backend.timeline(LOCAL_USER, thread.id)
    latest = page.rows[0].checkpoint_id
    result = next(
        m
        for m in h.backend.checkpoint_detail(LOCAL_USER, thread.id, latest).messages
        if m.role == "tool"
    )
    with pytest.raises(InputError, match=f"the limit is {MAX_TOOL_RESULT_CHARS:,}"):
        h.backend.edit_message(LOCAL_USER, thread.id, latest, result.id, tool_result=OVER)
    with pytest.raises(InputError, match=f"the limit is {MAX_MESSAGE_CHARS:,}"):
        human = h.backend.checkpoint_detail(LOCAL_USER, thread.id, latest).messages[0]
        h.backend.edit_message(
            LOCAL_USER, thread.id, latest, human.id, text="z" * (MAX_MESSAGE_CHARS + 1)
        )
    assert h.backend.timeline(LOCAL_USER, thread.id).total == page.total
