"""The chat after a run was cut short, through AppTest: a restart mid-run says so and offers Retry
(or asks again for a cut tool call), a Stop offers Continue, and with durability "exit" your
question shows while the run goes.

A crash is played by leaving a thread marked "running" with a state a cut run leaves, then
dropping the cached backend: the next script run opens a new one, as a restarted server does.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage

from agent.protocol import LOCAL_USER
from tests.page_helpers import backend, button, finish_runs, texts
from ui import resources

GREETING = "fork the conversation from there"  # the demo model's greeting ends with it


def restart_after_cut_run(at, messages, as_node: str) -> str:
    """A thread whose run was cut with `messages` saved, then a new backend (a restarted server)."""
    at.run()
    thread = backend().create_thread(LOCAL_USER, "cut")
    backend().graph.update_state(
        {"configurable": {"thread_id": thread.id}}, {"messages": messages}, as_node=as_node
    )
    backend().threads.set_status(thread.id, "running")
    resources.clear()  # closes it; the next run opens the database again
    at.query_params["thread"] = thread.id
    at.run()
    assert not at.exception
    return thread.id


def test_a_restart_mid_answer_says_so_and_retry_answers(app):
    thread_id = restart_after_cut_run(app, [HumanMessage("Hello!")], "__start__")
    assert "The server stopped during this answer" in app.warning[0].value
    button(app, "Retry").click().run()
    finish_runs(app)
    assert not app.exception and not app.warning
    assert GREETING in texts(app)
    assert [m.role for m in backend().thread_view(LOCAL_USER, thread_id).messages] == [
        "human",
        "ai",
    ]


def test_a_restart_while_a_tool_ran_asks_again(app):
    call = {"id": "call-1", "name": "web_search", "args": {"query": "weather in London"}}
    cut = [HumanMessage("What is the weather in London?"), AIMessage("", tool_calls=[call])]
    thread_id = restart_after_cut_run(app, cut, "llm")
    assert "`web_search` was running" in app.warning[0].value
    assert backend().get_thread(LOCAL_USER, thread_id).status == "waiting"
    button(app, "Continue").click().run()  # the approval panel's: approving runs it once
    finish_runs(app)
    assert not app.exception and not app.warning
    assert "done" in texts(app)


def test_stop_offers_continue_and_continue_answers(app, monkeypatch):
    monkeypatch.setenv("WAYPOINT_DEMO_TOKEN_DELAY", "0.3")
    app.run()
    app.chat_input[0].set_value("hello there").run()
    thread_id = app.query_params["thread"]
    run = backend().runs.latest_run(thread_id)
    button(app, "Stop").click().run()
    assert run.log.wait_closed(20)
    app.run()
    assert "You stopped the last run" in texts(app)
    # A restart at full speed: the stop is read back from the checkpoint, Continue still offered.
    monkeypatch.setenv("WAYPOINT_DEMO_TOKEN_DELAY", "0")
    resources.clear()
    app.run()
    assert "You stopped the last run" in texts(app)
    button(app, "Continue").click().run()
    assert backend().runs.latest_run(thread_id) is not run, "Continue started a run"
    finish_runs(app)
    assert not app.exception
    assert GREETING in texts(app) and "You stopped the last run" not in texts(app)


def test_with_durability_exit_your_question_shows_while_the_run_goes(app, monkeypatch):
    monkeypatch.setenv("WAYPOINT_DEMO_TOKEN_DELAY", "0.3")
    app.run()
    app.radio(key="set_durability").set_value("exit").run()
    app.chat_input[0].set_value("my very own question").run()
    run = backend().runs.latest_run(app.query_params["thread"])
    assert run.active and backend().thread_view(LOCAL_USER, run.thread_id).messages == ()
    assert "my very own question" in texts(app)
    backend().cancel_run(LOCAL_USER, run.id)
    assert run.log.wait_closed(20)
