"""The sharing settings on the page (AppTest): local mode says so, an open address is refused,
visitors get private spaces, the run limit answers in the chat, deployment keys stay the owner's.
"""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit import config
from streamlit.testing.v1 import AppTest

from agent.protocol import LOCAL_USER, VISITOR_COOKIE, new_token, visitor_owner
from agent.visitor_tokens import is_visitor
from tests.page_helpers import APP, backend, button, finish_runs, texts
from ui import resources


@pytest.fixture
def address():
    """Set Streamlit's server.address for the test, as `--server.address` would."""
    before = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", before)


def errors(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


def test_local_mode_says_so(app):
    app.run()
    assert not app.exception and not app.error
    assert "Local mode: no login" in texts(app)


def test_an_open_address_without_login_is_refused_unless_chosen(app, address, monkeypatch):
    address("0.0.0.0")
    app.run()
    assert not app.exception
    assert len(errors(app)) == 1 and "WAYPOINT_ALLOW_OPEN=1" in errors(app)[0]
    assert not app.chat_input, "nothing of the app is drawn past the refusal"
    monkeypatch.setenv("WAYPOINT_ALLOW_OPEN", "1")
    resources.clear()  # settings are read when the backend opens
    app.run()
    assert not app.error and app.chat_input


def test_visitors_each_get_a_private_space(app, monkeypatch):
    """Without the server's cookie (AppTest sends none) a visitor's space is its session's."""
    monkeypatch.setenv("WAYPOINT_VISITORS", "1")
    app.run()
    assert "Visitor: your threads are private to this tab" in texts(app)
    app.chat_input[0].set_value("visitor one asks about checkpoints").run()
    finish_runs(app)
    thread_id = app.query_params["thread"]
    owner = backend().threads.get(thread_id).owner
    assert is_visitor(owner) and app.session_state["visitor_token"] not in owner
    other = AppTest.from_file(APP, default_timeout=30)  # another browser: a new session, no cookie
    other.query_params["thread"] = thread_id
    other.run()
    assert not other.exception
    assert any("There is no thread" in e for e in errors(other))
    assert "visitor one asks" not in texts(other)
    assert backend().list_threads(LOCAL_USER) == []


@pytest.fixture
def browser_cookies(monkeypatch):
    """The cookies the browser's websocket request carries (AppTest cannot send any)."""
    sent: dict[str, str] = {}
    monkeypatch.setattr(type(st.context), "cookies", property(lambda _: sent))
    return sent


def test_a_visitor_space_is_the_cookie_the_server_set(app, monkeypatch, browser_cookies):
    monkeypatch.setenv("WAYPOINT_VISITORS", "1")
    token = new_token()
    browser_cookies[VISITOR_COOKIE] = token
    app.run()
    assert "Visitor: your threads are private to this browser" in texts(app)
    app.chat_input[0].set_value("visitor with a cookie asks").run()
    finish_runs(app)
    assert backend().threads.get(app.query_params["thread"]).owner == visitor_owner(token)
    assert "visitor_token" not in app.session_state, "the cookie, not a copy, holds the space"
    # A cookie of the wrong shape opens nothing: this session gets a space of its own.
    browser_cookies[VISITOR_COOKIE] = "not-a-token"
    stranger = AppTest.from_file(APP, default_timeout=30)
    stranger.run()
    assert "Visitor: your threads are private to this tab" in texts(stranger)
    assert "visitor with a cookie" not in texts(stranger)


def test_the_run_limit_answers_in_the_chat(app, monkeypatch):
    monkeypatch.setenv("WAYPOINT_RUNS_PER_HOUR", "1")
    app.run()
    app.chat_input[0].set_value("What is the weather in Tokyo?").run()
    finish_runs(app)
    app.chat_input[0].set_value("And in Paris?").run()
    assert not app.exception
    assert any("You have started 1 run in the last hour" in e for e in errors(app))
    assert "And in Paris?" in texts(app) or any("And in Paris?" in c.value for c in app.code)


@pytest.mark.parametrize(("visitors", "shared_key"), [("0", True), ("1", False)])
def test_deployment_keys_reach_visitors_only_when_shared(app, monkeypatch, visitors, shared_key):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-owner-key")
    monkeypatch.setenv("WAYPOINT_VISITORS", visitors)
    app.run()
    model = app.radio(key="set_provider")
    assert (model.value == "openai") is shared_key
    model.set_value("openai").run()
    asks_for_key = any(t.key == "set_openai_key" for t in app.text_input)
    assert asks_for_key is not shared_key


def test_a_misconfigured_login_says_what_is_missing(app):
    app.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback"}
    app.run()
    assert "log in to see your own threads" in " ".join(t.value for t in app.text)
    assert not app.chat_input, "nothing of the app before a login"
    button(app, "Log in").click().run()
    assert not app.exception
    # Streamlit's own sentence (under AppTest its check reads no secrets file: "configure ...").
    assert any("authentication" in e and "secrets.toml" in e for e in errors(app))
    assert "after you log in" not in texts(app)


def test_the_login_page_says_a_thread_link_is_kept(app):
    """The server keeps the link through the login (agent/web_edge.py); the page says so."""
    app.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback"}
    app.query_params["thread"] = "3f2b8c1e-8f3a-4a52-9a51-3c1f0e6b2d7a"
    app.run()
    assert "You opened a link to a thread: after you log in, Waypoint opens it" in texts(app)
    assert "3f2b8c1e" not in texts(app), "nothing of the link is echoed"
