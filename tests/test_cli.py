"""`python -m agent` drives the same engine: a scripted conversation through its prompts."""

from __future__ import annotations

import io

import pytest

from agent.__main__ import converse
from tests.engine_fixtures import make_harness
from tests.scripted_model import reply


def scripted_input(*answers: str):
    queue = list(answers)

    def ask(prompt: str) -> str:
        if not queue:
            raise EOFError
        return queue.pop(0)

    return ask


@pytest.mark.parametrize("engine", ["sync", "async"])
def test_terminal_conversation_with_an_edited_tool_call(data_dir, engine):
    h = make_harness(data_dir, engine)
    try:
        thread = h.backend.create_thread()
        h.model.script = [
            reply("Let me look.", ("web_search", {"query": "LA weather"})),
            reply("It is sunny in Seattle [1]."),
        ]
        out = io.StringIO()
        ask = scripted_input("weather?", "x", "e", '{"query": "Seattle weather"}')
        with pytest.raises(EOFError):
            converse(h.backend, thread.id, h.choices, h.options, ask=ask, out=out)
        text = out.getvalue()
        assert "assistant> Let me look." in text
        assert "The agent wants to run web_search" in text
        assert "It is sunny in Seattle [1]." in text
        assert h.search.queries == ["Seattle weather"]
    finally:
        h.backend.close()


def test_bad_edit_is_explained_and_asked_again(data_dir):
    h = make_harness(data_dir, "sync")
    try:
        thread = h.backend.create_thread()
        h.model.script = [reply("", ("web_search", {"query": "x"})), reply("done")]
        out = io.StringIO()
        ask = scripted_input("q", "e", "{broken", "y")
        with pytest.raises(EOFError):
            converse(h.backend, thread.id, h.choices, h.options, ask=ask, out=out)
        assert "not valid JSON" in out.getvalue()
        assert h.search.queries == ["x"]
    finally:
        h.backend.close()
