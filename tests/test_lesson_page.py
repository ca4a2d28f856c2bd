"""The Lesson page through AppTest: every step's one button, its result read back from the engine,
the steps that need an earlier one, and the reset that clears only the learner's scratch threads."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from agent.protocol import LOCAL_USER, STEPS, RunHandle
from tests.engine_fixtures import engine_run
from tests.page_helpers import backend, button, texts

LESSON = "app_pages/lesson.py"

# What each step's result says once its button has run (read back from the engine).
EXPECTED = {
    "checkpoints": "One question, 5 checkpoints",
    "restart": "read 5 checkpoints and 4 messages (the same as 5",
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
        said = press(app, step.key)
        assert EXPECTED[step.key] in said, (step.key, said)
        assert not app.error, (step.key, [e.value for e in app.error])
