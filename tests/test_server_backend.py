"""`ServerBackend` against a real `langgraph dev` (tests/lg_server.py) serving the examples.

Each test has users of its own (the server is the session's), so their threads never meet.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from agent import open_backend
from agent.choices import AgentChoices
from agent.errors import BackendError, DecisionError, InputError, ThreadBusy, UnknownThread
from agent.events import Done, Error, Event, Step, Token
from agent.protocol import User
from agent.server_backend import ServerBackend
from agent.server_client import Answering, server_client
from agent.settings import Settings, load_settings
from tests.app_server import free_port

CHOICES = AgentChoices()
RUN_TIMEOUT = 60.0


@pytest.fixture
def server(lg_server):
    """A factory of ServerBackends on the session's server, one per graph asked; closed after."""
    made: list[ServerBackend] = []

    def backend_for(graph: str) -> ServerBackend:
        backend = ServerBackend(Settings(server_url=lg_server.url, server_graph=graph))
        made.append(backend)
        return backend

    yield backend_for
    for backend in made:
        backend.close()


@pytest.fixture
def user() -> User:
    return User(id=f"test-{uuid.uuid4().hex}", name="Tester")


def events_until_done(backend: ServerBackend, user: User, run_id: str) -> list[Event]:
    """Every event of the run, read as a page reads them, up to its Done."""
    events: list[Event] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while not (events and isinstance(events[-1], Done)):
        assert time.monotonic() < deadline, f"the run did not end in time: {events[-3:]}"
        events += backend.read_events(user, run_id, len(events), timeout=1.0)
    return events


def untimed(events: list[Event]) -> list[Event]:
    """Events without the steps' times (a replayed stream arrives all at once)."""
    return [replace(e, seconds=0.0) if isinstance(e, Step) else e for e in events]


def finished(backend: ServerBackend, user: User, handle) -> str:
    done = events_until_done(backend, user, handle.id)[-1]
    assert isinstance(done, Done)
    return done.status


def test_the_hitl_agent_halts_an_edited_call_runs_and_the_answer_uses_the_edit(server, user):
    backend = server("hitl_agent")
    handle = backend.start_thread(user, "What is the weather in London?", CHOICES)
    events = events_until_done(backend, user, handle.id)
    assert any(isinstance(e, Token) for e in events), "tokens stream as the model writes"
    (step,) = [e for e in events if isinstance(e, Step)]
    assert step.node == "model" and step.summary == 'asked web_search("weather in London")'
    assert step.message_ids and step.tokens_in is None, "only Waypoint's own `llm` counts tokens"
    assert events[-1] == Done("halted")
    view = backend.thread_view(user, handle.thread_id)
    assert view.thread.status == "waiting" and view.thread.title == "What is the weather in London?"
    assert view.active_run_id is None and view.last_run_id == handle.id
    (call,) = view.pending_calls
    assert (call.name, call.args, call.allowed) == (
        "web_search",
        {"query": "weather in London"},
        ("approve", "edit", "reject"),
    )
    assert view.questions == ()
    with pytest.raises(DecisionError, match="allows only approve, edit, reject"):
        backend.decide(user, handle.thread_id, {call.id: {"action": "mock"}}, CHOICES)
    problem = backend.decision_problem(call, {"action": "edit", "args": "{nope"}, CHOICES)
    assert problem and "not valid JSON" in problem
    edit = {"action": "edit", "args": '{"query": "weather in Paris"}'}
    decided = backend.decide(user, handle.thread_id, {call.id: edit}, CHOICES)
    assert finished(backend, user, decided) == "done"
    view = backend.thread_view(user, handle.thread_id)
    assert view.thread.status == "idle" and not view.pending_calls
    assert view.messages[1].tool_calls[0].args == {"query": "weather in Paris"}
    assert view.messages[2].role == "tool" and view.messages[2].search is not None
    rows = backend.timeline(user, handle.thread_id).rows
    assert [r.written_by for r in rows[:3]] == [("review",), ("model",), ("tools",)]
    answer = backend.checkpoint_detail(user, handle.thread_id, rows[1].checkpoint_id).diff
    assert [m.role for m in answer.added] == ["ai"] and not answer.channels
    edited = backend.checkpoint_detail(user, handle.thread_id, rows[3].checkpoint_id).diff
    assert [c.after.tool_calls[0].args for c in edited.changed] == [{"query": "weather in Paris"}]
    assert "weather in Paris" in view.messages[-1].text


def test_a_rejected_call_does_not_run_and_the_model_is_told(server, user):
    backend = server("hitl_agent")
    handle = backend.start_thread(user, "What is the weather in Tokyo?", CHOICES)
    assert finished(backend, user, handle) == "halted"
    (call,) = backend.thread_view(user, handle.thread_id).pending_calls
    always = {"action": "approve", "always_allow": True}
    with pytest.raises(DecisionError, match="not available on an Agent Server"):
        backend.decide(user, handle.thread_id, {call.id: always}, CHOICES)
    reject = {"action": "reject", "reason": "no searching today"}
    decided = backend.decide(user, handle.thread_id, {call.id: reject}, CHOICES)
    assert finished(backend, user, decided) == "done"
    messages = backend.thread_view(user, handle.thread_id).messages
    (result,) = [m for m in messages if m.role == "tool"]
    assert "no searching today" in result.text and result.search is None


def test_the_essay_writer_takes_json_its_question_is_answered_and_its_state_shown(server, user):
    backend = server("essay_writer")
    assert backend.info(user).chat_messages is False
    with pytest.raises(InputError, match="send its input as a JSON object"):
        backend.start_thread(user, "write about checkpoints", CHOICES)
    assert backend.list_threads(user) == [], "a refused first message leaves no thread"
    handle = backend.start_thread(user, '{"task": "checkpoints"}', CHOICES)
    assert finished(backend, user, handle) == "halted"
    view = backend.thread_view(user, handle.thread_id)
    assert view.thread.title == "checkpoints" and view.thread.status == "waiting"
    assert not view.pending_calls and not view.messages
    (question,) = view.questions
    assert question.value["plan"][0] == "Checkpoints: why it matters"
    assert question.schema is not None and "approve" in question.schema["properties"]
    assert view.values["task"] == "checkpoints" and view.values["revision"] == 0
    with pytest.raises(InputError, match="is waiting for your answer above"):
        backend.send_message(user, handle.thread_id, '{"task": "y"}', CHOICES)
    with pytest.raises(DecisionError, match="some answers are for no question"):
        backend.answer(user, handle.thread_id, {"not-an-id": "yes"})
    answer = json.dumps({"plan": ["Only part"], "note": "short"})
    answered = backend.answer(user, handle.thread_id, {question.id: answer})
    assert finished(backend, user, answered) == "done"
    view = backend.thread_view(user, handle.thread_id)
    assert view.thread.status == "idle" and not view.questions
    assert view.values["draft"].startswith("Only part.") and view.values["revision"] == 2


def test_a_question_from_inside_the_subgraph_is_answered_by_its_id(server, user):
    backend = server("subgraph_research")
    handle = backend.start_thread(user, '{"topic": "LangGraph persistence"}', CHOICES)
    assert finished(backend, user, handle) == "halted"
    (question,) = backend.thread_view(user, handle.thread_id).questions
    first = question.value["sources"][0]
    assert question.schema is not None and question.schema["items"]["enum"][0] == first
    page = backend.timeline(user, handle.thread_id)
    assert page.total == 3, "the subgraph's checkpoints are its own, not the parent's rows"
    detail = backend.checkpoint_detail(user, handle.thread_id, page.rows[0].checkpoint_id)
    (sub,) = detail.subgraphs
    assert sub.node == "research" and sub.namespace.startswith("research:")
    assert sub.next_nodes == ("check",) and sub.interrupts[0].id == question.id
    assert [c.step for c in sub.checkpoints] == [1, 0, -1]
    assert len(sub.values["sources"]) == 3
    answered = backend.answer(user, handle.thread_id, {question.id: json.dumps([first])})
    assert finished(backend, user, answered) == "done"
    report = backend.thread_view(user, handle.thread_id).values["report"]
    assert report.splitlines()[0] == "Report on LangGraph persistence"
    assert report.splitlines()[1].startswith(f"- {first}:")
    assert "research:check" in backend.graph_view().nodes, "the subgraph is drawn inside (xray)"


def test_threads_are_private_listed_searched_renamed_and_deleted(server, user):
    backend = server("essay_writer")
    other = User(id=f"other-{uuid.uuid4().hex}", name="Other")
    mine = backend.create_thread(user, "Notes on rivers")
    backend.create_thread(user, "Shopping")
    theirs = backend.create_thread(other, "Their rivers")
    assert {t.title for t in backend.list_threads(user)} == {"Notes on rivers", "Shopping"}
    assert backend.count_threads(user) == 2 and backend.count_threads(other) == 1
    assert [t.title for t in backend.list_threads(user, search="RIVERS")] == ["Notes on rivers"]
    assert backend.count_threads(user, search="rivers") == 1
    assert [t.id for t in backend.list_threads(user, limit=1, offset=1)] != [
        t.id for t in backend.list_threads(user, limit=1)
    ]
    for call in (
        lambda: backend.get_thread(user, theirs.id),
        lambda: backend.thread_view(user, theirs.id),
        lambda: backend.rename_thread(user, theirs.id, "mine now"),
        lambda: backend.delete_thread(user, theirs.id),
        lambda: backend.timeline(user, theirs.id),
        lambda: backend.get_thread(user, "not-a-thread"),
    ):
        with pytest.raises(UnknownThread):
            call()
    assert backend.find_thread(user, theirs.id) is None
    assert backend.get_thread(other, theirs.id).title == "Their rivers", "left as it was"
    with pytest.raises(InputError, match="needs a title"):
        backend.rename_thread(user, mine.id, "   ")
    assert backend.rename_thread(user, mine.id, "  Notes   on seas ").title == "Notes on seas"
    assert backend.get_thread(user, mine.id).title == "Notes on seas"
    backend.delete_thread(user, mine.id)
    assert backend.find_thread(user, mine.id) is None and backend.count_threads(user) == 1


def test_another_users_run_reads_as_unknown(server, user):
    backend = server("essay_writer")
    handle = backend.start_thread(user, '{"task": "privacy"}', CHOICES)
    other = User(id=f"other-{uuid.uuid4().hex}", name="Other")
    assert backend.read_events(other, handle.id) == []
    assert backend.run_status(other, handle.id) is None
    assert backend.cancel_run(other, handle.id) is False
    assert backend.any_run_active(other) is False
    assert finished(backend, user, handle) == "halted"
    assert backend.run_status(user, handle.id) == "halted"


def test_the_timeline_lists_every_checkpoint_and_a_replay_runs_from_one(server, user):
    backend = server("essay_writer")
    handle = backend.start_thread(user, '{"task": "checkpoints"}', CHOICES)
    finished(backend, user, handle)
    thread_id = handle.thread_id
    page = backend.timeline(user, thread_id)
    assert page.total == 3 and [r.step for r in page.rows] == [1, 0, -1]
    assert [r.source for r in page.rows] == ["loop", "loop", "input"]
    halt = page.rows[0]
    assert halt.written_by == ("plan",) and halt.next_nodes == ("review_plan",)
    assert halt.is_latest and halt.label and page.branches == 1
    assert backend.timeline(user, thread_id, written_by="plan").total == 1
    assert len(backend.timeline(user, thread_id, limit=2).rows) == 2
    detail = backend.checkpoint_detail(user, thread_id, halt.checkpoint_id)
    assert detail.interrupts and detail.values["task"] == "checkpoints"
    assert detail.parent_id == page.rows[1].checkpoint_id
    assert detail.diff.channels == ("max_revisions", "plan", "revision"), "what plan wrote"
    with pytest.raises(InputError, match="has no checkpoint"):
        backend.checkpoint_detail(user, thread_id, "nope")
    with pytest.raises(InputError, match="The state has no plot"):
        backend.edit_state(user, thread_id, halt.checkpoint_id, '{"plot": []}')
    new_id = backend.edit_state(
        user, thread_id, halt.checkpoint_id, '{"plan": ["Edited part"]}', as_node="plan"
    )
    page = backend.timeline(user, thread_id)
    assert page.rows[0].checkpoint_id == new_id and page.rows[0].source == "update"
    assert page.total == 4 and page.head_id == new_id
    assert backend.thread_view(user, thread_id).values["plan"] == ["Edited part"]
    assert backend.checkpoint_detail(user, thread_id, new_id).diff.channels == ("plan",)
    start = next(row for row in page.rows if row.step == 0)
    replay = backend.resume(user, thread_id, CHOICES, checkpoint_id=start.checkpoint_id)
    assert finished(backend, user, replay) == "halted"
    (question,) = backend.thread_view(user, thread_id).questions
    assert question.value["plan"][0] == "Checkpoints: why it matters", "plan ran again"
    page = backend.timeline(user, thread_id)
    assert page.branches == 2, "the replay forked from the start checkpoint"
    assert page.rows[0].parent_id != new_id


def test_stop_cancels_the_run_on_the_server(server, user):
    backend = server("hitl_agent")
    handle = backend.start_thread(user, "What is the weather in London?", CHOICES)
    events: list[Event] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while not any(isinstance(e, Token) for e in events):
        assert time.monotonic() < deadline, "no token came"
        events += backend.read_events(user, handle.id, len(events), timeout=1.0)
    assert backend.any_run_active(user) is True
    with pytest.raises(ThreadBusy):
        backend.send_message(user, handle.thread_id, "And in Paris?", CHOICES)
    assert backend.cancel_run(user, handle.id) is True
    assert finished(backend, user, handle) == "cancelled"
    assert backend.run_status(user, handle.id) == "cancelled"
    assert backend.cancel_run(user, handle.id) is False, "it had ended"
    view = backend.thread_view(user, handle.thread_id)
    assert view.active_run_id is None and view.notice is not None
    assert view.notice.kind == "stopped", "the page says so and offers Continue"
    resumed = backend.resume(user, handle.thread_id, CHOICES)
    assert finished(backend, user, resumed) in ("halted", "done")
    assert backend.thread_view(user, handle.thread_id).notice is None


def test_a_second_process_finds_and_follows_the_run_the_first_started(server, user):
    first, second = server("hitl_agent"), server("hitl_agent")
    handle = first.start_thread(user, "What is the weather in San Francisco?", CHOICES)
    view = second.thread_view(user, handle.thread_id)
    assert view.active_run_id in (handle.id, None), "running, or already halted"
    mine = events_until_done(first, user, handle.id)
    theirs = events_until_done(second, user, handle.id)
    assert untimed(theirs) == untimed(mine), "the server replays the run's stream from its start"
    assert second.run_status(user, handle.id) == "halted"
    assert second.thread_view(user, handle.thread_id).pending_calls


def test_what_the_server_cannot_do_says_so(server, user):
    backend = server("hitl_agent")
    info = backend.create_thread(user, "x")
    for call in (
        lambda: backend.export_thread(user, info.id),
        lambda: backend.import_thread(user, b"{}"),
        lambda: backend.fork_thread(user, info.id, "c"),
        lambda: backend.regenerate(user, info.id, "m", CHOICES),
        lambda: backend.allow_tool(user, info.id, "web_search", True),
        lambda: backend.restart_engine(user, info.id),
    ):
        with pytest.raises(InputError, match="is not available on an Agent Server"):
            call()
    assert backend.message_versions(user, info.id) == ()
    assert backend.lesson_threads(user) == () and backend.sweep_visitors() == 0
    assert backend.info(user).graph_name == "hitl_agent"
    assert backend.show_branch(user, info.id, None).id == info.id


def test_a_server_that_does_not_answer_is_one_sentence(lg_server, monkeypatch, user):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ValueError, match="does not answer .*: start it"):
        ServerBackend(Settings(server_url=url))
    monkeypatch.setenv("WAYPOINT_SERVER_URL", url)
    with pytest.raises(ValueError, match="does not answer"):
        open_backend()
    monkeypatch.setenv("WAYPOINT_SERVER_URL", lg_server.url)
    backend = open_backend()
    try:
        assert isinstance(backend, ServerBackend)
        assert backend.info(user).graph_name, "the server's first assistant"
    finally:
        backend.close()


def test_a_server_that_goes_away_is_a_sentence_for_the_page(server, user):
    backend = server("hitl_agent")
    gone = f"http://127.0.0.1:{free_port()}"
    backend.threads = cast(Any, Answering(server_client(gone, None).threads, gone))
    with pytest.raises(BackendError, match=f"The Agent Server at {gone} does not answer"):
        backend.list_threads(user)


def test_the_api_key_is_sent_as_the_sdks_header_and_never_shown(lg_server, user):
    settings = Settings(server_url=lg_server.url, server_api_key="sk-server-secret")
    assert "sk-server-secret" not in repr(settings)
    backend = ServerBackend(settings)
    try:
        assert backend.client.http.client.headers["x-api-key"] == "sk-server-secret"
        info = backend.create_thread(user, "keyed")
        thread = backend.client.threads.get(info.id)
        assert "sk-server-secret" not in json.dumps(thread, default=str)
    finally:
        backend.close()


def test_the_server_settings_are_checked():
    with pytest.raises(ValueError, match="must start with http:// or https://"):
        load_settings({"WAYPOINT_SERVER_URL": "127.0.0.1:2024"}, secrets_file=Path("/nonexistent"))
    settings = load_settings(
        {"WAYPOINT_SERVER_URL": "http://127.0.0.1:2024/", "WAYPOINT_SERVER_GRAPH": "essay_writer"},
        secrets_file=Path("/nonexistent"),
    )
    assert (settings.server_url, settings.server_graph) == ("http://127.0.0.1:2024", "essay_writer")


def test_an_unknown_graph_names_those_the_server_has(lg_server):
    with pytest.raises(ValueError, match="has no assistant or graph 'nope': it has essay_writer"):
        ServerBackend(Settings(server_url=lg_server.url, server_graph="nope"))


def test_a_run_that_fails_on_the_server_says_why(server, user):
    backend = server("essay_writer")
    handle = backend.start_thread(user, '{"task": "failure"}', CHOICES)
    finished(backend, user, handle)
    (question,) = backend.thread_view(user, handle.thread_id).questions
    answered = backend.answer(user, handle.thread_id, {question.id: "not a plan review"})
    events = events_until_done(backend, user, answered.id)
    assert events[-1] == Done("error")
    (error,) = [e for e in events if isinstance(e, Error)]
    assert error.message.startswith("The graph failed on the Agent Server: ")
    view = backend.thread_view(user, handle.thread_id)
    assert view.last_error == error.message and view.thread.status == "error"
    elsewhere = server("essay_writer").thread_view(user, handle.thread_id).last_error
    assert elsewhere is not None and "ended with an error on the Agent Server" in elsewhere


def test_deleting_a_thread_stops_its_run(server, user):
    backend = server("hitl_agent")
    handle = backend.start_thread(user, "What is the weather in Tokyo?", CHOICES)
    backend.delete_thread(user, handle.thread_id)
    assert backend.find_thread(user, handle.thread_id) is None
    assert backend.read_events(user, handle.id) == [], "its run reads as unknown"
    assert backend.any_run_active(user) is False
