"""The engine with the real ChatOpenAI client against the fake OpenAI server, on both engines.

Provider faults must end a run with an error event that says what to do, leave a thread whose
history a real server accepts on the next message, and never write the API key to disk.
"""

from __future__ import annotations

import asyncio
import traceback

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.choices import AgentChoices, ApprovalPolicy, RunOptions
from agent.events import Done, Error, Halted, Token
from agent.graph import RunContext, build_graph
from agent.models import make_chat_model
from agent.protocol import LOCAL_USER
from agent.provider_errors import ProviderFailure
from agent.settings import Settings
from agent.transfer import export_thread
from tests.engine_fixtures import engine_run, make_harness
from tests.fake_openai import FakeOpenAI, empty, error, text, tool_calls
from tests.page_helpers import backend
from tests.test_inspector_page import open_inspector

SECRET = "sk-waypoint-test-SECRET-4242"
# A wrong key the server quotes back in full. It looks like no known key format, so only knowing
# the key (not guessing its shape) can keep it out of what is shown and stored.
ECHOED = "waypoint-wrong-key-5bd1e07a93"


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
    thread = h.backend.create_thread(LOCAL_USER)
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
    thread = h.backend.create_thread(LOCAL_USER)
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
    thread = h.backend.create_thread(LOCAL_USER)
    server.script(reply)
    problem = only_error(h.send(thread.id, "hi"))
    assert words in problem.message.lower()
    assert SECRET not in problem.message
    assert [type(m) for m in messages(h, thread.id)] == [HumanMessage]
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "error"
    server.script(text("Back again."))
    assert h.send(thread.id, "retry")[-1] == Done("done")
    assert messages(h, thread.id)[-1].content == "Back again."


def test_a_bad_key_says_to_check_the_key(data_dir, server):
    model = make_chat_model(
        "openai", Settings(), api_key="sk-wrong", base_url=server.url, timeout=1.0, max_retries=0
    )
    h = make_harness(data_dir, "sync", model=model)
    try:
        thread = h.backend.create_thread(LOCAL_USER)
        problem = only_error(h.send(thread.id, "hi"))
        assert "key" in problem.message.lower() and "sk-wrong" not in problem.message
    finally:
        h.backend.close()


def test_a_stream_cut_midway_keeps_no_half_answer(h, server):
    thread = h.backend.create_thread(LOCAL_USER)
    server.script(text("one two three four five six seven", cut_after=3))
    events = h.send(thread.id, "count")
    assert any(isinstance(e, Token) for e in events), "some tokens arrived before the cut"
    problem = only_error(events)
    assert "connection" in problem.message.lower() or "stream" in problem.message.lower()
    assert [type(m) for m in messages(h, thread.id)] == [HumanMessage]


def test_a_cut_tool_call_stream_leaves_no_orphaned_call(h, server):
    thread = h.backend.create_thread(LOCAL_USER)
    server.script(
        tool_calls(("web_search", {"query": "weather in a long place name"}), cut_after=3)
    )
    only_error(h.send(thread.id, "weather?"))
    assert not any(isinstance(m, AIMessage) for m in messages(h, thread.id))
    server.script(text("ok"))
    assert h.send(thread.id, "again")[-1] == Done("done")


def test_the_api_key_is_never_written_to_disk(h, server, data_dir):
    h.choices = h.choices.__class__(approval=ApprovalPolicy("never"))
    thread = h.backend.create_thread(LOCAL_USER)
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


# --- a key the server echoes ---------------------------------------------------------------------


@pytest.fixture
def echoing():
    with FakeOpenAI(api_key=SECRET, echo_key=True, max_wait=5) as fake:
        yield fake


@pytest.fixture(params=["sync", "async"])
def wrong_key(request, data_dir, echoing):
    model = make_chat_model(
        "openai", Settings(), api_key=ECHOED, base_url=echoing.url, timeout=1.0, max_retries=0
    )
    harness = make_harness(data_dir, request.param, model=model)
    yield harness
    harness.backend.close()


def stored_writes(h, thread_id) -> list[tuple[str, object]]:
    config = {"configurable": {"thread_id": thread_id}}
    return [
        (channel, value)
        for t in h.backend.graph.checkpointer.list(config)
        for _, channel, value in t.pending_writes or []
    ]


def test_a_key_echoed_in_a_401_is_shown_and_stored_nowhere(wrong_key, data_dir):
    h = wrong_key
    thread = h.backend.create_thread(LOCAL_USER)
    problem = only_error(h.send(thread.id, "hi"))
    assert problem.error_type == "auth" and "key" in problem.message.lower()
    assert ECHOED not in problem.message
    assert ECHOED not in (h.backend.thread_view(LOCAL_USER, thread.id).last_error or "")
    writes = stored_writes(h, thread.id)
    errors = [value for channel, value in writes if channel == "__error__"]
    assert errors, "LangGraph stored the failure as a pending write"
    assert "401" in repr(errors) and ECHOED not in repr(writes)
    exported = "".join(export_thread(h.backend, LOCAL_USER, thread.id))
    assert "__error__" in exported and ECHOED not in exported
    live = {path.name: path.read_bytes() for path in data_dir.iterdir()}
    assert "waypoint.sqlite-wal" in live, "read while the write-ahead log still holds the writes"
    h.backend.close()
    closed = {path.name: path.read_bytes() for path in data_dir.iterdir()}
    for name, data in (*live.items(), *closed.items()):
        assert ECHOED.encode() not in data, name


def test_the_inspector_writes_tab_never_shows_an_echoed_key(app, echoing):
    app.run()
    choices = AgentChoices(provider="openai", api_key=ECHOED, base_url=echoing.url)
    thread = backend().create_thread(LOCAL_USER)
    run = engine_run(
        backend(), backend().send_message(LOCAL_USER, thread.id, "hi", choices, RunOptions())
    )
    assert run.log.wait_closed(20) and run.status == "error"
    open_inspector(app, thread.id)
    shown = [e.value for e in (*app.markdown, *app.caption, *app.error, *app.warning, *app.json)]
    page = "\n".join(str(value) for value in shown)
    assert "`__error__` · failed:" in page and "401" in page, page
    assert ECHOED not in page


# --- replies that cannot be kept ----------------------------------------------------------------


def assert_retry_answers(h, thread_id):
    """The failed `llm` step is still next; Retry runs it again, and the server accepts the
    history it is sent."""
    view = h.backend.thread_view(LOCAL_USER, thread_id)
    assert view.next_nodes == ("llm",) and view.last_error
    run = engine_run(h.backend, h.backend.resume(LOCAL_USER, thread_id, h.choices, h.options))
    assert h.finish(run)[-1] == Done("done")
    assert [type(m) for m in messages(h, thread_id)] == [HumanMessage, AIMessage]
    assert messages(h, thread_id)[-1].content == "Back again."


@pytest.mark.parametrize("args", ['{"query": weather in SF}', "query=weather", '{"query": }'])
def test_tool_call_arguments_that_are_not_json_end_the_run_and_keep_the_thread_usable(
    h, server, args
):
    thread = h.backend.create_thread(LOCAL_USER)
    server.script(tool_calls(("web_search", args)), text("Back again."))
    problem = only_error(h.send(thread.id, "weather?"))
    assert problem.error_type == "bad_tool_call" and problem.retryable
    assert "web_search" in problem.message and "JSON" in problem.message
    assert [type(m) for m in messages(h, thread.id)] == [HumanMessage]
    assert h.backend.get_thread(LOCAL_USER, thread.id).status == "error"
    assert_retry_answers(h, thread.id)


def test_one_broken_call_among_good_ones_keeps_none_of_them(h, server):
    thread = h.backend.create_thread(LOCAL_USER)
    server.script(
        tool_calls(("web_search", {"query": "fine"}), ("web_search", "query: two")),
        text("Back again."),
    )
    problem = only_error(h.send(thread.id, "two searches"))
    assert problem.error_type == "bad_tool_call"
    assert h.search.queries == [] and not h.backend.thread_view(LOCAL_USER, thread.id).pending_calls
    assert_retry_answers(h, thread.id)


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (text("one two three four five six", end_after=3), "stream_cut"),
        (tool_calls(("web_search", {"query": "a long query here"}), end_after=3), "stream_cut"),
        (empty(), "empty_reply"),
    ],
)
def test_a_reply_that_never_finished_is_an_error_with_retry(h, server, reply, kind):
    thread = h.backend.create_thread(LOCAL_USER)
    server.script(reply, text("Back again."))
    problem = only_error(h.send(thread.id, "count"))
    assert problem.error_type == kind and problem.retryable
    assert "Retry" in problem.message
    assert [type(m) for m in messages(h, thread.id)] == [HumanMessage]
    assert_retry_answers(h, thread.id)


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_the_failure_langgraph_sees_carries_no_cause_context_or_key(echoing, engine):
    model = make_chat_model(
        "openai", Settings(), api_key=ECHOED, base_url=echoing.url, timeout=1.0, max_retries=0
    )
    graph = build_graph()
    payload, context = {"messages": [HumanMessage("hi")]}, RunContext(model=model)
    with pytest.raises(ProviderFailure) as caught:
        if engine == "sync":
            graph.invoke(payload, context=context)
        else:
            asyncio.run(graph.ainvoke(payload, context=context))
    failure = caught.value
    assert failure.__cause__ is None and failure.__context__ is None
    assert failure.problem.error_type == "auth"
    assert ECHOED not in "".join(traceback.format_exception(failure))


def test_a_thread_already_holding_a_broken_call_is_sent_without_it(h, server):
    thread = h.backend.create_thread(LOCAL_USER)
    broken = AIMessage(
        "",
        invalid_tool_calls=[
            {"type": "invalid_tool_call", "id": "call_old", "name": "web_search", "args": "q=x"}
        ],
    )
    config = {"configurable": {"thread_id": thread.id}}
    h.backend.graph.update_state(config, {"messages": [HumanMessage("old"), broken]}, as_node="llm")
    server.script(text("Back again."))
    assert h.send(thread.id, "still there?")[-1] == Done("done")
    sent = server.chat_requests[-1].messages
    assert not any(m.get("tool_calls") for m in sent)
    assert messages(h, thread.id)[1].invalid_tool_calls, "what is stored stays as it was"
