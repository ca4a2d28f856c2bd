"""The engine with the real ChatOpenAI client against the fake OpenAI server, on both engines.

Provider faults must end a run with an error event that says what to do, leave a thread whose
history a real server accepts on the next message, and never write the API key to disk.
"""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.approval import ApprovalPolicy
from agent.events import Done, Error, Halted, Token
from agent.models import make_chat_model
from agent.settings import Settings
from tests.engine_fixtures import make_harness
from tests.fake_openai import FakeOpenAI, error, text, tool_calls

SECRET = "sk-waypoint-test-SECRET-4242"


@pytest.fixture
def server():
    with FakeOpenAI(api_key=SECRET, max_wait=5) as fake:
        yield fake


@pytest.fixture(params=["sync", "async"])
def h(request, data_dir, server):
    model = make_chat_model(
        "openai", Settings(), api_key=SECRET, base_url=server.url, timeout=1.0, max_retries=0
    )
    harness = make_harness(data_dir, request.param, model=model)
    yield harness
    harness.backend.close()


def messages(h, thread_id):
    return h.backend.graph.get_state({"configurable": {"thread_id": thread_id}}).values["messages"]


def only_error(events) -> Error:
    errors = [e for e in events if isinstance(e, Error)]
    assert len(errors) == 1, events
    assert events[-1] == Done("error")
    return errors[0]


def test_a_tool_round_trip_sends_a_history_the_server_accepts(h, server):
    thread = h.backend.create_thread()
    server.script(
        tool_calls(
            ("web_search", {"query": "weather in SF"}), ("web_search", {"query": "weather in LA"})
        ),
        text("Sunny in both [1][2]."),
    )
    halted = h.send(thread.id, "Weather in SF and LA?")
    calls = next(e for e in halted if isinstance(e, Halted)).calls
    assert [c.args["query"] for c in calls] == ["weather in SF", "weather in LA"]
    events = h.decide(thread.id, {c.call_id: {"action": "approve"} for c in calls})
    assert events[-1] == Done("done")
    sent = server.chat_requests[-1].messages
    assert [m["role"] for m in sent[-3:]] == ["assistant", "tool", "tool"]
    assert messages(h, thread.id)[-1].content == "Sunny in both [1][2]."


def test_a_new_message_while_halted_sends_a_valid_history(h, server):
    thread = h.backend.create_thread()
    server.script(tool_calls(("web_search", {"query": "x"})), text("Fine, something else then."))
    h.send(thread.id, "search x")
    events = h.send(thread.id, "never mind")
    assert events[-1] == Done("done"), events
    roles = [m["role"] for m in server.chat_requests[-1].messages]
    assert roles[-3:] == ["assistant", "tool", "user"]


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (error(429, "Rate limit reached"), "rate"),
        (error(500), "server"),
        (error(404, "The model does not exist", code="model_not_found"), "model"),
    ],
)
def test_http_faults_become_an_error_event_and_the_state_stays_valid(h, server, reply, words):
    thread = h.backend.create_thread()
    server.script(reply)
    problem = only_error(h.send(thread.id, "hi"))
    assert words in problem.message.lower()
    assert SECRET not in problem.message
    assert [type(m) for m in messages(h, thread.id)] == [HumanMessage]
    assert h.backend.get_thread(thread.id).status == "error"
    server.script(text("Back again."))
    assert h.send(thread.id, "retry")[-1] == Done("done")
    assert messages(h, thread.id)[-1].content == "Back again."


def test_a_bad_key_says_to_check_the_key(data_dir, server):
    model = make_chat_model(
        "openai", Settings(), api_key="sk-wrong", base_url=server.url, timeout=1.0, max_retries=0
    )
    h = make_harness(data_dir, "sync", model=model)
    try:
        thread = h.backend.create_thread()
        problem = only_error(h.send(thread.id, "hi"))
        assert "key" in problem.message.lower() and "sk-wrong" not in problem.message
    finally:
        h.backend.close()


def test_a_stream_cut_midway_keeps_no_half_answer(h, server):
    thread = h.backend.create_thread()
    server.script(text("one two three four five six seven", cut_after=3))
    events = h.send(thread.id, "count")
    assert any(isinstance(e, Token) for e in events), "some tokens arrived before the cut"
    problem = only_error(events)
    assert "connection" in problem.message.lower() or "stream" in problem.message.lower()
    assert [type(m) for m in messages(h, thread.id)] == [HumanMessage]


def test_a_cut_tool_call_stream_leaves_no_orphaned_call(h, server):
    thread = h.backend.create_thread()
    server.script(
        tool_calls(("web_search", {"query": "weather in a long place name"}), cut_after=3)
    )
    only_error(h.send(thread.id, "weather?"))
    assert not any(isinstance(m, AIMessage) for m in messages(h, thread.id))
    server.script(text("ok"))
    assert h.send(thread.id, "again")[-1] == Done("done")


def test_the_api_key_is_never_written_to_disk(h, server, data_dir):
    h.choices = h.choices.__class__(approval=ApprovalPolicy("never"))
    thread = h.backend.create_thread()
    server.script(tool_calls(("web_search", {"query": "q"})), text("done"))
    h.send(thread.id, "q")
    assert isinstance(messages(h, thread.id)[-2], ToolMessage)
    config = {"configurable": {"thread_id": thread.id}}
    decoded = [
        repr((t.checkpoint, t.metadata, t.config, t.pending_writes))
        for t in h.backend.graph.checkpointer.list(config)
    ]
    assert decoded and not any(SECRET in text for text in decoded)
    h.backend.close()
    for path in data_dir.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name
