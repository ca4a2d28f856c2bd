"""The Chat page (AppTest) on a LangGraph Agent Server: `WAYPOINT_SERVER_URL` set before the backend
opens, against the session's `langgraph dev` (tests/lg_server.py)."""

from __future__ import annotations

import time

import pytest

from agent.events import Done
from agent.protocol import LOCAL_USER, MULTITASK_HELP
from agent.server_multitask import INTERRUPTED_TEXT
from tests.gated_graph import open_gate
from tests.page_helpers import backend, button, texts
from ui.run_queue import BUSY_PLACEHOLDERS
from ui.run_record import NO_RUN_RECORD
from ui.settings_panel import NO_RULES_ON_A_SERVER, NO_TOOLS_YET, SERVER_ENGINE_NOTE

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
    assert NO_RUN_RECORD in [c.value for c in app.caption], "no run record, and it says so"


def test_the_inspector_shows_the_server_threads_timeline(server_app):
    app = server_app("essay_writer")
    app.run()
    app.chat_input[0].set_value('{"task": "checkpoints"}').run()
    finish_server_run(app)
    app.switch_page("app_pages/inspector.py").run()
    assert not app.exception
    assert "review_plan" in texts(app)


def chip_labels(at) -> list[str]:
    return [block.proto.popover.label for block in at.get("popover")]


def test_the_multitask_setting_explains_every_strategy_and_is_a_chip(server_app):
    app = server_app("slow_chat")
    app.run()
    assert not app.exception
    setting = app.radio(key="set_multitask")
    assert setting.label == "While a run is going, a new message…"
    assert list(setting.proto.captions) == list(MULTITASK_HELP.values()), "all four, visible"
    assert "during a run: refused" in chip_labels(app)
    assert "server's engine" in chip_labels(app) and "sync engine" not in chip_labels(app)
    captions = [c.value for c in app.caption]
    assert SERVER_ENGINE_NOTE in captions, "the engine says it is not used"
    assert NO_RULES_ON_A_SERVER in captions and NO_TOOLS_YET not in captions, "not 'not yet'"
    assert not any(r.key == "set_engine" for r in app.radio)
    setting.set_value("enqueue").run()
    assert app.query_params["set_multitask"] == "enqueue"
    assert app.session_state["options"].multitask == "enqueue"
    assert "during a run: queued" in chip_labels(app)


def test_a_reload_keeps_the_multitask_setting_from_the_url(server_app):
    app = server_app("slow_chat")
    app.query_params["set_multitask"] = "rollback"
    app.run()
    assert not app.exception
    assert app.session_state["options"].multitask == "rollback"
    assert "during a run: rolls back" in chip_labels(app)


def test_a_message_sent_during_a_run_with_interrupt_says_so_and_the_unrun_call_shows(
    server_app, lg_server
):
    app = server_app("slow_chat")
    app.query_params["set_multitask"] = "interrupt"
    app.run()
    app.chat_input[0].set_value("first").run()
    thread_id = app.query_params["thread"]
    first = backend().thread_view(LOCAL_USER, thread_id).active_run_id
    assert first is not None
    deadline = time.monotonic() + RUN_TIMEOUT
    while backend().thread_view(LOCAL_USER, thread_id).next_nodes != ("wait",):
        assert time.monotonic() < deadline, "the run did not reach its gate"
        backend().read_events(LOCAL_USER, first, 0, timeout=0.2)  # a wait on the run's log
    app.run()
    assert app.chat_input[0].placeholder == BUSY_PLACEHOLDERS["interrupt"]
    app.chat_input[0].set_value("second").run()
    assert not app.exception and not app.error, "sent, not refused"
    open_gate(lg_server.gates, thread_id)
    finish_server_run(app)
    assert not app.exception
    assert INTERRUPTED_TEXT in [i.value for i in app.info]
    cards = [e.label for e in app.expander]
    assert sum("not run: its run stopped before it ran" in c for c in cards) == 1
    assert "Answered: second" in texts(app)
