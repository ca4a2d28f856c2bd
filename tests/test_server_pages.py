"""The Chat page (AppTest) on a LangGraph Agent Server: `WAYPOINT_SERVER_URL` set before the backend
opens, against the session's `langgraph dev` (tests/lg_server.py)."""

from __future__ import annotations

import time

import pytest

from agent.events import Done
from agent.protocol import LOCAL_USER
from tests.page_helpers import backend, button, texts

RUN_TIMEOUT = 60.0


@pytest.fixture
def server_app(app, lg_server, monkeypatch):
    def on_graph(graph: str):
        monkeypatch.setenv("WAYPOINT_SERVER_URL", lg_server.url)
        monkeypatch.setenv("WAYPOINT_SERVER_GRAPH", graph)
        return app

    return on_graph


def finish_server_run(at):
    """Wait for the open thread's last run to end on the server, then rerun the page."""
    thread_id = at.query_params["thread"]
    run_id = backend().thread_view(LOCAL_USER, thread_id).last_run_id
    assert run_id is not None, "the page started no run"
    events: list = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while not (events and isinstance(events[-1], Done)):
        assert time.monotonic() < deadline, "the run did not end in time"
        events += backend().read_events(LOCAL_USER, run_id, len(events), timeout=1.0)
    return at.run()


def test_the_chat_runs_the_essay_writer_on_the_server_and_answers_its_question(server_app):
    app = server_app("essay_writer")
    app.run()
    assert not app.exception
    assert app.title[0].value == "essay_writer"
    before = {t.id for t in backend().list_threads(LOCAL_USER)}
    app.chat_input[0].set_value("write about checkpoints").run()
    assert "send its input as a JSON object" in app.error[0].value
    assert {t.id for t in backend().list_threads(LOCAL_USER)} == before, "no thread left behind"
    app.chat_input[0].set_value('{"task": "checkpoints"}').run()
    finish_server_run(app)
    assert not app.exception
    assert "The graph asks a question" in app.warning[0].value
    next(t for t in app.text_area if t.label == "Plan").input("Only part").run()
    next(t for t in app.text_input if t.label == "Note").input("short").run()
    button(app, "Send the answer").click().run()
    finish_server_run(app)
    assert not app.exception and not app.warning
    values = backend().thread_view(LOCAL_USER, app.query_params["thread"]).values
    assert values["plan"] == ["Only part"] and values["draft"].startswith("Only part.")


def test_the_chat_approves_a_call_of_the_hitl_agent_on_the_server(server_app):
    app = server_app("hitl_agent")
    app.run()
    assert not app.exception
    app.chat_input[0].set_value("What is the weather in London?").run()
    finish_server_run(app)
    assert not app.exception
    assert app.radio[0].options == ["Approve", "Edit", "Reject"]
    assert "Tool execution requires approval" in texts(app)
    button(app, "Continue").click().run()
    finish_server_run(app)
    assert not app.exception
    assert "Here is what I found for “weather in London”" in texts(app)
    assert backend().get_thread(LOCAL_USER, app.query_params["thread"]).status == "idle"


def test_the_inspector_shows_the_server_threads_timeline(server_app):
    app = server_app("essay_writer")
    app.run()
    app.chat_input[0].set_value('{"task": "checkpoints"}').run()
    finish_server_run(app)
    app.switch_page("app_pages/inspector.py").run()
    assert not app.exception
    assert "review_plan" in texts(app)
