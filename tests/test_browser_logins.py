"""Logins end to end: the real `st.login` flow in Chromium against tests/fake_oidc.py, two people.

Alice and Bob log in from two browser contexts of one app with `[auth]` in a secrets file of the
test's own. Alice's thread is then tried from Bob's side on every path a browser offers: the
thread list, a `?thread=` link to the chat, the same link to the Inspector. Each
answers exactly as for a thread that does not exist; Log out brings back the login page. A link
opened while logged out leads, after the login, to that page and thread (and for someone else's
thread, to the same "no thread" answer). A second app, in visitor mode, shows a visitor's space
kept by its cookie, which the server sets HttpOnly (no script on the page can read it), and closed
to another browser.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from agent.protocol import valid_token  # noqa: E402
from tests.app_server import free_port, running_app  # noqa: E402
from tests.browser_helpers import expect, main, send  # noqa: E402

NO_THREAD = "There is no thread"


@pytest.fixture(scope="module")
def provider():
    from tests.fake_oidc import FakeOIDC

    with FakeOIDC() as server:
        yield server


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, provider):
    data = tmp_path_factory.mktemp("logins")
    port = free_port()
    secrets = data / "secrets.toml"
    secrets.write_text(provider.auth_secrets(port))
    with running_app(data, port=port, secrets_file=secrets) as url:
        yield url


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def log_in(page, who: str) -> None:
    """From the login page, through the provider's sign-in form, back to the app as `who`."""
    expect(main(page)).to_contain_text("log in to see your own threads")
    main(page).get_by_role("button", name="Log in").click()
    page.get_by_role("button", name=f"Sign in as {who}").click()
    expect(sidebar(page)).to_contain_text(who)


def thread_of(page) -> str:
    return parse_qs(urlparse(page.url).query)["thread"][0]


def test_two_logins_see_only_their_own_threads_on_every_path(open_page, app_url, provider):
    alice = open_page(app_url)
    log_in(alice, "Alice Example")
    send(alice, "alice private question about checkpoints")
    alice.wait_for_url(re.compile(r"[?&]thread="))
    secret_thread = thread_of(alice)
    expect(sidebar(alice).get_by_role("button", name=re.compile("^alice private"))).to_be_visible()

    bob = open_page(app_url)
    log_in(bob, "Bob Example")
    assert provider.logins == ["alice", "bob"]
    # The list: Bob has none (search, counts and every other call: tests/test_private_threads.py).
    expect(sidebar(bob)).to_contain_text("No threads yet")
    expect(sidebar(bob).get_by_role("button", name=re.compile("^alice private"))).to_have_count(0)
    # A ?thread= link to the chat and to the Inspector: the same sentence as a missing thread.
    for path in ("", "inspector"):
        bob.goto(f"{app_url}/{path}?thread={secret_thread}")
        expect(main(bob)).to_contain_text(NO_THREAD)
        expect(main(bob)).not_to_contain_text("alice private")
        bob.goto(f"{app_url}/{path}?thread=no-such-thread")
        expect(main(bob)).to_contain_text(NO_THREAD)

    # Alice still has hers; Bob logs out and is back at the login page.
    alice.reload()
    expect(sidebar(alice).get_by_role("button", name=re.compile("^alice private"))).to_be_visible()
    sidebar(bob).get_by_role("button", name="Log out").click()
    expect(main(bob).get_by_role("button", name="Log in")).to_be_visible()


def test_a_link_opened_logged_out_leads_there_after_the_login(open_page, app_url):
    alice = open_page(app_url)
    log_in(alice, "Alice Example")
    send(alice, "alice thread to come back to")
    alice.wait_for_url(re.compile(r"[?&]thread="))
    thread_id = thread_of(alice)

    # Her Inspector link, opened in a browser that is not logged in: the login page, then the link.
    later = open_page(f"{app_url}/inspector?thread={thread_id}")
    log_in(later, "Alice Example")
    later.wait_for_url(re.compile(rf"/inspector\?thread={thread_id}$"))
    expect(main(later).get_by_role("heading", name="Inspector")).to_be_visible()
    expect(main(later)).to_contain_text(thread_id)
    expect(main(later)).to_contain_text("alice thread to come back to")
    # Through the login, the link was kept by the server only (an HttpOnly cookie, now gone).
    assert "waypoint_return" not in later.evaluate("document.cookie")
    assert [c["name"] for c in later.context.cookies() if c["name"] == "waypoint_return"] == []

    # The same chat link opened by Bob: after his login, the answer for a missing thread (the
    # root without the link would greet him instead).
    bob = open_page(f"{app_url}/?thread={thread_id}")
    log_in(bob, "Bob Example")
    expect(main(bob)).to_contain_text(NO_THREAD)
    expect(main(bob)).not_to_contain_text("alice thread")


@pytest.fixture(scope="module")
def visitor_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("visitors"), {"WAYPOINT_VISITORS": "1"}) as url:
        yield url


def test_a_visitor_keeps_a_private_space_across_a_refresh(browser, visitor_url):
    first = browser.new_context()
    page = first.new_page()
    page.goto(visitor_url)
    expect(sidebar(page)).to_contain_text("Visitor: your threads are private")
    send(page, "visitor private question")
    page.wait_for_url(re.compile(r"[?&]thread="))
    thread_id = thread_of(page)
    visitor_thread = sidebar(page).get_by_role("button", name=re.compile("^visitor private"))
    expect(visitor_thread).to_be_visible()
    # The token is a cookie the server set: HttpOnly, so no script on the page can read it.
    [cookie] = [c for c in first.cookies() if c["name"] == "waypoint_visitor"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    assert valid_token(cookie["value"])
    seen_by_scripts = page.evaluate("document.cookie")
    assert "waypoint_visitor" not in seen_by_scripts and cookie["value"] not in seen_by_scripts
    # The cookie holds the space: a fresh tab of the same browser, without the link, finds it.
    again = first.new_page()
    again.goto(visitor_url)
    expect(
        sidebar(again).get_by_role("button", name=re.compile("^visitor private"))
    ).to_be_visible()
    # Another browser has its own space, and the link answers as for a missing thread.
    second = browser.new_context()
    stranger = second.new_page()
    stranger.goto(f"{visitor_url}/?thread={thread_id}")
    expect(main(stranger)).to_contain_text(NO_THREAD)
    expect(sidebar(stranger)).to_contain_text("No threads yet")
    first.close()
    second.close()
