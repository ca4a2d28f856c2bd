"""Runs cut short, end to end: the real app under `streamlit run`, clicked in headless Chromium.

- The server is killed with SIGKILL while the agent writes its answer; a new server on the same
  database says what happened in the chat, and Retry answers.
- Stop says you stopped it, the Inspector's timeline says "stopped by you" (not "error"), and
  Continue in the chat answers.
- With durability "exit" (nothing is checkpointed until the run ends) your question shows while
  the run goes.

Every wait is on something visible, with a timeout.
"""

from __future__ import annotations

import re

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import running_app, start_app  # noqa: E402
from tests.browser_helpers import (  # noqa: E402
    LIVE_STOP,
    WAIT_MS,
    expect,
    main,
    send,
)

SLOW = {"WAYPOINT_DEMO_TOKEN_DELAY": "0.1"}  # the greeting takes about 12 s: time to act
GREETING_END = "fork the conversation from there"
FIRST_LOAD_MS = 90_000  # a fresh server's first page (imports, database) on a loaded machine


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def thread_of(page) -> str:
    return re.search(r"[?&]thread=([^&]+)", page.url).group(1)


def ask(page, question: str) -> None:
    page.get_by_text("Try one of these").wait_for(timeout=FIRST_LOAD_MS)
    send(page, question)
    page.wait_for_url(re.compile(r"[?&]thread="), timeout=WAIT_MS)


def streaming(page) -> None:
    """Wait until the live run shows the first words of its answer."""
    main(page).locator(LIVE_STOP).wait_for()
    main(page).get_by_test_id("stChatMessage").filter(has_text="Waypoint's").first.wait_for(
        timeout=FIRST_LOAD_MS
    )


@pytest.fixture(scope="module")
def slow_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("slow"), SLOW) as url:
        yield url


@pytest.mark.timeout(300)  # two server starts and their first pages, on a loaded machine
def test_a_server_killed_mid_answer_says_so_and_retry_answers(open_page, tmp_path):
    server = start_app(tmp_path, SLOW)
    try:
        page = open_page(server.url)
        ask(page, "Hello!")
        streaming(page)
        thread_id = thread_of(page)
    finally:
        server.kill()
    with running_app(tmp_path) as url:
        page = open_page(f"{url}/?thread={thread_id}")
        notice = (
            main(page)
            .get_by_test_id("stAlert")
            .filter(has_text="The server stopped during this answer")
        )
        expect(notice).to_be_visible(timeout=FIRST_LOAD_MS)
        expect(main(page).get_by_text(GREETING_END)).to_have_count(0)
        main(page).get_by_role("button", name="Retry").click()
        expect(main(page).get_by_text(GREETING_END)).to_be_visible()
        expect(notice).to_have_count(0)
        expect(main(page).get_by_test_id("stChatMessage")).to_have_count(2)


def test_stop_is_labelled_as_yours_and_continue_answers(open_page, slow_url):
    page = open_page(slow_url)
    ask(page, "Hello there!")
    streaming(page)
    main(page).locator(LIVE_STOP).click()
    expect(main(page).get_by_text("You stopped the last run")).to_be_visible()
    thread_id = thread_of(page)
    sidebar(page).get_by_test_id("stSidebarNavLink").filter(has_text="Inspector").click()
    page.wait_for_url(re.compile(r"/inspector\?.*thread=" + re.escape(thread_id)))
    expect(main(page).get_by_text("stopped by you").first).to_be_visible()
    expect(main(page).get_by_text(re.compile(r"\berror\b"))).to_have_count(0)
    sidebar(page).get_by_test_id("stSidebarNavLink").filter(has_text="Chat").click()
    main(page).get_by_role("button", name="Continue").click()
    expect(main(page).get_by_text(GREETING_END)).to_be_visible()
    expect(main(page).get_by_text("You stopped the last run")).to_have_count(0)


def choose_durability_exit(page) -> None:
    """Pick durability "exit" in the sidebar's settings: no checkpoint until the run ends."""
    page.get_by_text("Try one of these").wait_for(timeout=FIRST_LOAD_MS)
    sidebar(page).get_by_text("Settings").click()
    durability = sidebar(page).get_by_test_id("stRadio").filter(has_text="Durability")
    exit_radio = durability.get_by_role("radio", name="exit")
    expect(exit_radio).to_be_attached()  # the expander has opened and drawn its widgets
    durability.get_by_text("exit", exact=True).click()
    expect(exit_radio).to_be_checked()


def test_with_durability_exit_your_question_shows_while_it_runs(open_page, slow_url):
    page = open_page(slow_url)
    choose_durability_exit(page)
    ask(page, "Good morning! Who are you?")
    streaming(page)
    # Your bubble, not the answer whose run record quotes the question in its call text.
    question = (
        main(page)
        .get_by_test_id("stChatMessage")
        .filter(has_text="Who are you?")
        .filter(has_not_text="Run record:")
    )
    # Counted at once, not awaited: once the run ends, the checkpoint shows it anyway.
    assert question.count() == 1, "the question is not shown while the run goes"
    assert main(page).locator(LIVE_STOP).count() == 1, "the run should still be going"
    main(page).locator(LIVE_STOP).wait_for(state="detached", timeout=WAIT_MS)
    expect(main(page).get_by_text(GREETING_END)).to_be_visible()
    expect(question).to_have_count(1)
