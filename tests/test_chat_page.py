"""The Chat page through Streamlit's AppTest: every state a user can meet, on the offline defaults.

The app runs in-process on a private database with the demo model (no token delay). Runs happen in
the background as in the real app; a test waits on the run's event log, then reruns the script, as
the live-run fragment would.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from agent.protocol import LOCAL_USER
from tests.page_helpers import backend, button, finish_runs, texts
from ui import resources
from ui.run_record import NO_RUN_RECORD


def test_an_empty_app_welcomes_with_three_examples(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Waypoint"
    examples = [b for b in app.button if b.key and b.key.startswith("example_")]
    assert len(examples) == 3
    assert app.chat_input[0].placeholder == "Ask anything"


def test_an_example_runs_searches_halts_and_answers_after_approval(app):
    app.run()
    button(app, "How does LangGraph persistence work?").click().run()
    finish_runs(app)
    assert not app.exception
    thread_id = app.query_params["thread"]
    assert backend().get_thread(LOCAL_USER, thread_id).status == "waiting"
    assert "web_search" in texts(app) and "waiting for approval" in texts(app)
    assert "Sending now cancels" in app.chat_input[0].placeholder
    button(app, "Continue").click().run()
    finish_runs(app)
    assert not app.exception
    shown = texts(app)
    assert "Sources" in shown and "done" in shown
    assert backend().get_thread(LOCAL_USER, thread_id).status == "idle"
    assert NO_RUN_RECORD not in [c.value for c in app.caption], "the engine here keeps one"


def test_rejecting_with_a_reason_reaches_the_model(app):
    app.run()
    app.chat_input[0].set_value("What is the weather in Tokyo?").run()
    finish_runs(app)
    app.radio[0].set_value("reject").run()
    app.text_input(key=f"reason_{app.radio[0].key.removeprefix('decide_')}").input("not now").run()
    button(app, "Continue").click().run()
    finish_runs(app)
    assert not app.exception
    assert "not run: rejected by you" in texts(app)


def test_a_tool_card_says_why_a_call_did_not_run():
    def page():
        from langchain_core.messages import ToolMessage

        from agent.approval import not_run
        from agent.hitl_policy import denial_text
        from agent.message_views import message_view
        from agent.protocol import ToolCallView
        from ui.transcript import tool_card

        call = {"id": "c1", "name": "web_search", "args": {"query": "LA"}}
        results = {
            "marked": not_run(call, denial_text("web_search"), "denied"),
            "stored before the mark": ToolMessage(  # read by its text
                denial_text("web_search"), tool_call_id="c1", name="web_search", status="error"
            ),
            "failed": ToolMessage(
                "Error: boom", tool_call_id="c1", name="web_search", status="error"
            ),
        }
        for key, result in results.items():
            tool_card(
                ToolCallView("c1", "web_search", {"query": "LA"}), message_view(result), key=key
            )

    at = AppTest.from_function(page).run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert [label.split(" · ")[-1] for label in labels] == [
        "not run: denied by your settings",
        "not run: denied by your settings",
        "failed",
    ]


def test_bad_edited_arguments_show_an_error_and_send_nothing(app):
    app.run()
    app.chat_input[0].set_value("What is the weather in London?").run()
    finish_runs(app)
    call_id = app.radio[0].key.removeprefix("decide_")
    app.radio[0].set_value("edit").run()
    app.text_area(key=f"args_{call_id}").input("{not json").run()
    assert not app.exception
    assert "not valid JSON" in app.error[0].value, "a bad edit shows an error as it is typed"
    app.text_area(key=f"args_{call_id}").input('{"query": "x", "limit": 3}').run()
    assert "no argument limit" in app.error[0].value
    button(app, "Continue").click().run()  # never disabled: the click is checked, sends nothing
    assert app.error[0].value.startswith("Nothing was sent") and "limit" in app.error[0].value
    assert backend().get_thread(LOCAL_USER, app.query_params["thread"]).status == "waiting"
    app.text_area(key=f"args_{call_id}").input('{"query": "weather in Paris"}').run()
    assert not app.error
    button(app, "Continue").click().run()
    finish_runs(app)
    assert "weather in Paris" in texts(app)


def test_an_answer_left_unwritten_stays_an_error_until_it_is_written(app):
    app.run()
    app.chat_input[0].set_value("What is the weather in London?").run()
    finish_runs(app)
    call_id = app.radio[0].key.removeprefix("decide_")
    app.radio[0].set_value("mock").run()
    assert not app.error, "not an error before the user tries to continue"
    button(app, "Continue").click().run()
    assert app.error[0].value.startswith("Nothing was sent: Write the answer")
    app.run()  # a rerun without a click (the sidebar, a fragment): nothing was fixed
    assert app.error[0].value.startswith("Nothing was sent: Write the answer")
    assert not app.success
    app.text_area(key=f"mock_{call_id}").input("Sunny, 21 °C").run()
    assert not app.error and app.success[0].value.startswith("Fixed: Nothing was sent")


def test_stop_folds_the_panel_and_the_thread_keeps_waiting(app):
    app.run()
    app.chat_input[0].set_value("What is the weather in London?").run()
    finish_runs(app)
    button(app, "Stop").click().run()
    assert "Stopped before 1 tool call" in app.info[0].value
    assert not [b for b in app.button if b.label == "Continue"]
    assert backend().get_thread(LOCAL_USER, app.query_params["thread"]).status == "waiting"
    button(app, "Review the pending calls").click().run()
    assert button(app, "Continue")


def test_a_running_thread_shows_the_live_run_and_stop_cancels_it(app, monkeypatch):
    monkeypatch.setenv("WAYPOINT_DEMO_TOKEN_DELAY", "0.5")  # a greeting then takes many seconds
    app.run()
    app.chat_input[0].set_value("hello there").run()
    assert not app.exception
    run = backend().runs.latest_run(app.query_params["thread"])
    assert run.active, "the run should still be streaming"
    assert "Steps:" in texts(app)
    app.chat_input[0].set_value("and another thing").run()
    assert "busy" in app.error[0].value, "a second message during a run is refused"
    assert app.code[-1].value == "and another thing", "what was typed is shown back, not lost"
    button(app, "Stop").click().run()
    assert run.log.wait_closed(10)
    assert run.log.read(0)[-1].status == "cancelled"
    app.run()
    assert not app.exception and "hello there" in texts(app)
    assert "You stopped the last run" in texts(app)


def test_an_unknown_thread_in_the_url_gets_a_message_not_a_crash(app):
    app.query_params["thread"] = "no-such-thread"
    app.run()
    assert not app.exception
    assert app.error and "no-such-thread" in app.error[0].value


def test_a_deleted_thread_falls_back_to_the_welcome(app):
    thread = None
    app.run()
    app.chat_input[0].set_value("hello").run()
    finish_runs(app)
    thread = app.query_params["thread"]
    backend().delete_thread(LOCAL_USER, thread)
    app.run()
    assert not app.exception
    assert app.error  # the URL still names the deleted thread: say so
    app.run()
    assert app.title[0].value == "Waypoint"


def test_a_provider_error_is_shown_and_the_thread_marked(app, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on port 9
    monkeypatch.setenv("WAYPOINT_MODEL", "llama3.1")
    resources.clear()
    app.run()
    app.chat_input[0].set_value("hi").run()
    finish_runs(app)
    assert not app.exception
    assert app.error and "127.0.0.1:9" in app.error[0].value
    thread_id = app.query_params["thread"]
    assert backend().get_thread(LOCAL_USER, thread_id).status == "error"
    failed = backend().runs.latest_run(thread_id)
    button(app, "Retry").click().run()
    finish_runs(app)
    assert backend().runs.latest_run(thread_id) is not failed, "Retry started a new run"
    assert len(app.error) == 1, "the retry failed the same way and shows one callout, not two"
    messages = backend().thread_view(LOCAL_USER, thread_id).messages
    assert [m.text for m in messages] == ["hi"], "retry did not send the message twice"


def test_a_long_thread_draws_its_latest_messages_and_earlier_ones_on_request(app):
    from langchain_core.messages import AIMessage, HumanMessage

    app.run()
    thread = backend().create_thread(LOCAL_USER)
    turns = [
        m for n in range(30) for m in (HumanMessage(f"question {n}"), AIMessage(f"answer {n}"))
    ]
    backend().graph.update_state(
        {"configurable": {"thread_id": thread.id}}, {"messages": turns}, as_node="llm"
    )
    app.query_params["thread"] = thread.id
    app.run()
    shown = texts(app)
    assert "answer 29" in shown and "question 10" in shown and "answer 9" not in shown
    button(app, "Show earlier messages (20 more)").click().run()
    shown = texts(app)
    assert "question 0" in shown and not [b for b in app.button if b.key == f"earlier_{thread.id}"]


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_editing_a_past_question_forks_and_the_switcher_goes_back(app):
    app.run()
    app.chat_input[0].set_value("Hello!").run()
    finish_runs(app)
    thread_id = app.query_params["thread"]
    human = backend().thread_view(LOCAL_USER, thread_id).messages[0]
    app.text_area(key=f"edit_{thread_id}_{human.id}").input("Hi again!").run()
    button(app, "Send").click().run()
    finish_runs(app)
    assert not app.exception
    assert "Hi again!" in texts(app) and "Hello!" not in texts(app).split("\n")[1:]
    assert "2 / 2" in captions(app)
    app.button(key=f"prev_{thread_id}_{human.id}").click().run()
    assert "1 / 2" in captions(app)
    assert [m.text for m in backend().thread_view(LOCAL_USER, thread_id).messages][0] == "Hello!"


def test_regenerate_adds_a_version_of_the_answer(app):
    app.run()
    app.chat_input[0].set_value("Hello!").run()
    finish_runs(app)
    thread_id = app.query_params["thread"]
    answer = backend().thread_view(LOCAL_USER, thread_id).messages[-1]
    app.button(key=f"regen_{thread_id}_{answer.id}").click().run()
    finish_runs(app)
    assert not app.exception
    assert "2 / 2" in captions(app)
    assert backend().timeline(LOCAL_USER, thread_id).branches == 2


def test_a_setting_that_cannot_work_is_explained_in_the_approval_panel(app):
    app.run()
    app.chat_input[0].set_value("What is the weather in London?").run()
    finish_runs(app)
    app.radio(key="set_search").set_value("tavily").run()
    assert not app.exception
    assert "Tavily" in app.error[0].value and "key" in app.error[0].value
    button(app, "Continue").click().run()
    assert app.error[0].value.startswith("Nothing was sent") and "Tavily" in app.error[0].value
    assert backend().get_thread(LOCAL_USER, app.query_params["thread"]).status == "waiting"


def _card_of(node, key: str):
    """The block that holds the widget with `key` as a direct child, searched from `node`."""
    children = list(getattr(node, "children", {}).values())
    if any(getattr(child, "key", None) == key for child in children):
        return node
    return next((card for child in children if (card := _card_of(child, key)) is not None), None)


def test_every_decision_draws_as_many_elements_so_switching_moves_nothing_late(app):
    # One element fewer would leave the last decision's extra one on the page until the run ends,
    # and its removal then would move Continue under a click.
    app.run()
    app.chat_input[0].set_value("What is the weather in London?").run()
    finish_runs(app)
    key = app.radio[0].key
    sizes = {}
    for action in ["approve", "edit", "mock", "reject", "approve"]:
        app.radio(key=key).set_value(action).run()
        sizes[action] = len(_card_of(app.main, key).children)
    assert len(set(sizes.values())) == 1, sizes
