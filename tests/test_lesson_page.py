"""The Lesson page through AppTest: every step's one button, its result read back from the engine,
the steps that need an earlier one, and the reset that clears only the learner's scratch threads."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from agent.events import Done, Step, Token
from agent.protocol import LOCAL_USER, STEPS, RunHandle
from tests.engine_fixtures import engine_run
from tests.page_helpers import backend, button, texts
from ui.lesson_results import counts

LESSON = "app_pages/lesson.py"

# What each step's result says once its button has run (read back from the engine).
EXPECTED = {
    "checkpoints": "One question, 5 checkpoints",
    "restart": "read 5 checkpoints and 4 messages, the same as this engine holds",
    "threads": "searched `London`",
    "messages": "token events, word by word",
    "updates": "0 token events: the answer arrived whole",
    "async": "Same kinds, same order",
    "interrupt": "2 calls wait for you: `web_search('weather in SF')`, `web_search('weather in LA')`",
    "edit": "now for `web_search('weather in New York')`",
    "mock": "**your answer**, the tool never ran",
    "replay": "2 branches",
    "fork": "it waits for approval again: `web_search('weather in SF')`",
}


# What each step's "What LangGraph did" box shows once done: the call its action really made.
CALLED = {
    "checkpoints": "graph.get_state_history(",
    "restart": "graph.get_state(config)  # 4 messages, read from the database",
    "threads": "# a new thread: no checkpoint yet",
    "messages": 'stream_mode=["messages", "updates"]',
    "updates": 'stream_mode=["updates"]',
    "async": "async for mode, chunk in graph.astream(",
    "interrupt": '"What\'s the weather in SF and LA?"',
    "edit": '"weather in New York"',
    "mock": '"action": "mock", "content": "Sunny and 31',
    "replay": "    None,\n",
    "fork": "copied into a new thread",
}


def code_box(at: AppTest) -> tuple[str, str]:
    """The title of the step's LangGraph box and the code it shows."""
    (box,) = [e for e in at.expander if "What LangGraph" in e.label]
    return box.label, "\n".join(c.value for c in box.code)


def open_step(at: AppTest, key: str) -> AppTest:
    at.query_params["step"] = key
    at.switch_page(LESSON).run()
    assert not at.exception, at.exception
    return at


def settle() -> None:
    """Wait for every run the lesson started to end."""
    for mark in backend().lesson_threads(LOCAL_USER):
        if mark.run_id:
            run = engine_run(backend(), RunHandle(mark.run_id, mark.thread_id))
            assert run.log.wait_closed(20), f"the run of step {mark.step} did not finish"


def press(at: AppTest, key: str) -> str:
    """Press the step's button, let its runs end, and return what the page then says."""
    step = next(s for s in STEPS if s.key == key)
    open_step(at, key)
    button(at, step.button).click().run()
    assert not at.exception, at.exception
    settle()
    at.run()
    assert not at.exception, at.exception
    return texts(at) + "\n".join(s.value for s in at.success)


def test_the_whole_lesson_step_by_step(app):
    app.run()
    for step in STEPS:
        open_step(app, step.key)
        assert code_box(app) == ("What LangGraph will do", step.code), step.key
        said = press(app, step.key)
        assert EXPECTED[step.key] in said, (step.key, said)
        assert not app.error, (step.key, [e.value for e in app.error])
        title, calls = code_box(app)
        assert title == "What LangGraph did", step.key
        assert CALLED[step.key] in calls, (step.key, calls)
        marks = [m for m in backend().lesson_threads(LOCAL_USER) if m.step == step.key]
        assert all(f'"thread_id": "{m.thread_id}"' in calls for m in marks), (step.key, calls)


def page_links(at: AppTest) -> dict[str, str]:
    """Each link's label and the query it opens its page with."""
    return {e.proto.label: e.proto.query_string for e in at.get("page_link")}


def test_a_step_needing_an_earlier_one_says_which_and_its_button_waits(app):
    app.run()
    open_step(app, "edit")
    edit = next(s for s in STEPS if s.key == "edit")
    assert button(app, edit.button).disabled
    assert "Do step 7, “Human in the loop: halt before `action`”, first." in texts(app)
    assert not app.success, "a result was shown before the step ran"


def test_results_link_to_the_thread_in_the_chat_and_the_checkpoint_in_the_inspector(app):
    app.run()
    press(app, "interrupt")
    (mark,) = backend().lesson_threads(LOCAL_USER)
    view = backend().thread_view(LOCAL_USER, mark.thread_id)
    links = page_links(app)
    assert links["Approve it in the Chat"] == f"thread={mark.thread_id}"
    assert links["See it in the Inspector"] == (
        f"thread={mark.thread_id}&checkpoint={view.checkpoint_id}"
    )
    targets = {e.proto.label: e.proto.page_script_hash for e in app.get("page_link")}
    assert targets["Approve it in the Chat"] != targets["See it in the Inspector"]
    app.query_params["thread"] = mark.thread_id
    app.switch_page("app_pages/chat.py").run()
    assert [b for b in app.button if b.label == "Continue"], "the Chat shows no approval panel"


def test_previous_and_next_walk_the_steps_and_the_url_keeps_the_step(app):
    open_step(app.run(), "threads")
    assert app.subheader[0].value == "3. Threads"
    button(app, "Next step").click().run()
    assert app.query_params["step"] == "messages" and app.subheader[0].value.startswith("4. ")
    button(app, "Previous step").click().run()
    button(app, "Previous step").click().run()
    assert app.subheader[0].value == "2. Restart the engine"
    app.selectbox[0].select("11. Time travel: fork").run()
    assert app.query_params["step"] == "fork" and button(app, "Next step").disabled


def test_reset_deletes_the_learners_scratch_threads_only(app):
    app.run()
    own = backend().create_thread(LOCAL_USER, "my own thread")
    press(app, "checkpoints")
    press(app, "threads")
    scratch = {m.thread_id for m in backend().lesson_threads(LOCAL_USER)}
    assert len(scratch) == 2
    button(app, "Reset the lesson (2 scratch threads)").click().run()
    assert not app.exception
    assert all(backend().find_thread(LOCAL_USER, t) is None for t in scratch)
    assert backend().find_thread(LOCAL_USER, own.id) is not None
    assert app.query_params["step"] == "checkpoints"
    assert button(app, "Reset the lesson (no scratch threads)").disabled


def test_event_counts_say_steps_and_tokens_in_the_plural():
    events = [Token("m", "llm", "a"), Token("m", "llm", "b"), Step("llm", "x", 0.1), Done("done")]
    assert counts(events) == "2 tokens · 1 step · 1 done"
    assert counts([]) == "no events yet"
