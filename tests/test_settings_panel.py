"""The sidebar's model settings through AppTest, against the fake OpenAI-compatible server."""

from __future__ import annotations

import socket

import pytest

from tests.fake_openai import FakeOpenAI
from ui.settings_panel import _served_models


@pytest.fixture(autouse=True)
def _fresh_model_lists():
    _served_models.clear()
    yield
    _served_models.clear()


def test_a_compatible_server_offers_its_models_in_a_select_box(app, monkeypatch):
    with FakeOpenAI(models=["qwen2.5", "llama3.1"]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        app.run()
        assert not app.exception
        picker = app.selectbox(key="set_compat_model")
        assert picker.options == ["llama3.1", "qwen2.5"] and picker.value == "llama3.1"
        assert app.session_state["choices"].model_name == "llama3.1"
        picker.select("qwen2.5").run()
        assert app.session_state["choices"].model_name == "qwen2.5"
        assert app.session_state["choices"].base_url == server.url
        listed = [r for r in server.requests if r.path == "/v1/models"]
    assert len(listed) == 1, "the list is asked once, not on every rerun"


def test_waypoint_model_is_the_default_even_when_the_server_does_not_list_it(app, monkeypatch):
    with FakeOpenAI(models=["llama3.1"]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("WAYPOINT_MODEL", "my-finetune")
        app.run()
        picker = app.selectbox(key="set_compat_model")
    assert picker.options == ["my-finetune", "llama3.1"] and picker.value == "my-finetune"


def test_a_server_that_cannot_list_says_why_and_takes_a_typed_name(app, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    app.run()
    assert not app.exception
    shown = " ".join(t.value for t in app.text)
    assert "Could not get the list of models" in shown and f"127.0.0.1:{port}" in shown
    app.text_input(key="set_compat_model_name").input("llama3.1").run()
    assert app.session_state["choices"].model_name == "llama3.1"
