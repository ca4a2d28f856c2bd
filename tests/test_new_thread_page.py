"""The Chat page and the sidebar's New thread through AppTest: a thread exists from its first
message, the URL gets its id then, and a first message refused before its run leaves no row."""

from __future__ import annotations

import pytest

from agent.protocol import LOCAL_USER, MAX_MESSAGE_CHARS
from tests.page_helpers import backend, button, finish_runs, texts


def thread_count() -> int:
    return backend().count_threads(LOCAL_USER)


def sidebar_threads(at) -> list[str]:
    return [b.label for b in at.sidebar.button if b.key and b.key.startswith("thread_")]


def test_new_thread_then_leaving_stores_nothing(app):
    app.run()
    for _ in range(3):
        button(app, "New thread").click().run()
        assert not app.exception and app.title[0].value == "Waypoint"  # the empty chat
    app.switch_page("app_pages/inspector.py").run()
    assert app.title[0].value == "Inspector"
    button(app, "New thread").click().run()  # from another page: the chat, empty
    assert not app.exception and app.title[0].value == "Waypoint"
    assert app.chat_input[0].placeholder == "Ask anything"
    assert thread_count() == 0 and sidebar_threads(app) == []
    assert "thread" not in app.query_params
    assert "No threads yet" in "\n".join(c.value for c in app.sidebar.caption)


def test_the_first_message_creates_one_thread_and_puts_it_in_the_url(app):
    app.run()
    button(app, "New thread").click().run()
    app.chat_input[0].set_value("What are checkpoints?").run()
    finish_runs(app)
    assert not app.exception
    (thread,) = backend().list_threads(LOCAL_USER)
    assert app.query_params["thread"] == thread.id and thread.title == "What are checkpoints?"
    assert len(sidebar_threads(app)) == 1 and "What are checkpoints?" in sidebar_threads(app)[0]
    # New thread from an open thread: the empty chat again, and still one row.
    button(app, "New thread").click().run()
    assert "thread" not in app.query_params and app.title[0].value == "Waypoint"
    assert thread_count() == 1
    app.chat_input[0].set_value("And threads?").run()
    finish_runs(app)
    assert thread_count() == 2 and app.query_params["thread"] != thread.id


def _choose_openai_without_a_key(app) -> None:
    app.radio(key="set_provider").set_value("openai").run()


def _nothing(app) -> None:
    pass


@pytest.mark.parametrize(
    ("text", "setup", "said"),
    [
        ("x" * (MAX_MESSAGE_CHARS + 1), _nothing, "characters"),
        ("hello", _choose_openai_without_a_key, "OPENAI_API_KEY"),
    ],
    ids=["too-long", "missing-key"],
)
def test_a_refused_first_message_leaves_no_thread_and_keeps_the_text(
    app, monkeypatch, text, setup, said
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    app.run()
    setup(app)
    app.chat_input[0].set_value(text).run()
    assert not app.exception
    assert app.error and said in app.error[0].value
    assert "Your message was not sent" in texts(app)
    assert thread_count() == 0 and sidebar_threads(app) == []
    assert "thread" not in app.query_params


def test_a_replay_from_a_halt_shows_its_versions_under_the_call(app):
    """A Replay from a halt runs the tool again, so the conversation forks at the tool's result,
    which the chat folds under the call: the `1 / 2` switcher is drawn under the call's message,
    newest last, and switching back shows the first run's branch."""
    from agent.protocol import AgentChoices, ApprovalPolicy, RunOptions
    from tests.engine_fixtures import engine_run

    app.run()
    choices = AgentChoices(approval=ApprovalPolicy("never"))

    def finish(handle) -> None:
        assert engine_run(backend(), handle).log.wait_closed(20)

    handle = backend().start_thread(LOCAL_USER, "What is the weather in London?", choices)
    finish(handle)
    thread_id = handle.thread_id
    rows = backend().timeline(LOCAL_USER, thread_id, limit=100).rows
    asked = next(r for r in rows if r.next_nodes == ("action",))
    finish(backend().resume(LOCAL_USER, thread_id, choices, RunOptions(), asked.checkpoint_id))
    app.query_params["thread"] = thread_id
    app.run()
    assert not app.exception
    call = backend().thread_view(LOCAL_USER, thread_id).messages[1]
    assert call.tool_calls and "2 / 2" in [c.value for c in app.caption]
    app.button(
        key=f"prev_{thread_id}_{backend().thread_view(LOCAL_USER, thread_id).messages[2].id}"
    ).click().run()
    assert not app.exception and "1 / 2" in [c.value for c in app.caption]
