"""A message sent the instant a run ends is neither lost nor doubled (the real app, in Chromium).

The race: a run's Done event is written, but the browser learns of it only when the live fragment
next looks (every 0.15 s) and the app reruns; a message typed in that gap was lost without a trace.
The app server here runs a test hook (tests/run_signal.py) that signals the test the moment a
run starts and the moment its Done event is written, and holds that event back until the next
run starts (or 2 s), so every round's message arrives inside the gap instead of only when the
test happens to be quicker than the page (unheld, the old page lost about one message in five).
Twenty rounds on one thread; then every message must be in the checkpointed thread exactly once,
in order, and on the page once.
"""

from __future__ import annotations

import itertools
import re

import pytest

from agent.protocol import LOCAL_USER

playwright = pytest.importorskip("playwright.sync_api")

from agent.backend import LocalBackend  # noqa: E402
from agent.settings import Settings  # noqa: E402
from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import (  # noqa: E402
    LIVE_STOP,
    WAIT_MS,
    expect,
    main,
    send,
)
from tests.run_signal import HOLD_ENV, PORT_ENV, RunSignals  # noqa: E402

ROUNDS = 20
# A greeting then a thank-you: the demo model answers each with one short sentence and no tool
# call, so a round is one quick run; the pairs keep the twenty messages distinct.
MESSAGES = [
    f"{hello} {thanks}"
    for hello, thanks in itertools.product(
        ("hi", "hello", "hey", "hiya", "howdy"), ("thanks", "cheers", "great", "nice", "cool")
    )
][:ROUNDS]
REPLY = "You're welcome! Ask me something else and I'll search for it."
SIGNAL_SECONDS = WAIT_MS / 1000
# The server holds each Done event back until the next run starts (the test's message handled)
# or this long, so every round's message reaches the server while the page still shows the run.
HOLD_SECONDS = "2"
BUBBLE_TEXTS = """
() => [...document.querySelectorAll(
    '[data-testid="stMainBlockContainer"] [data-testid="stChatMessage"]')]
  .map(b => b.querySelector('[data-testid="stMarkdown"]')?.innerText ?? '')
"""
SHOWS_EXACTLY = f"expected => JSON.stringify(({BUBBLE_TEXTS})()) === JSON.stringify(expected)"


@pytest.fixture(scope="module")
def signals():
    signals = RunSignals()
    yield signals
    signals.close()


@pytest.fixture(scope="module")
def race_app(tmp_path_factory, signals):
    """A fast demo model, and the hook that signals each run's start and end to the test."""
    data = tmp_path_factory.mktemp("race")
    env = {
        "WAYPOINT_DEMO_TOKEN_DELAY": "0.001",
        PORT_ENV: str(signals.port),
        HOLD_ENV: HOLD_SECONDS,
    }
    with running_app(data, env) as url:
        yield url, data / "app.sqlite"


def _wait_for_run(page, signals: RunSignals, message: str) -> None:
    """Wait for the run `message` started, then for its end; fail saying which was lost."""
    if not signals.wait("start", SIGNAL_SECONDS):
        shown = main(page).inner_text()
        pytest.fail(f"{message!r} was sent as a run ended but started no run; page: {shown!r}")
    assert signals.wait("end", SIGNAL_SECONDS), f"the run for {message!r} never ended"


def test_a_message_sent_the_instant_a_run_ends_is_sent_exactly_once(
    open_page,
    race_app,
    signals,
):
    url, db_path = race_app
    page = open_page(url)
    page.get_by_text("Try one of these").wait_for()
    send(page, MESSAGES[0])
    for previous, message in itertools.pairwise(MESSAGES):
        _wait_for_run(page, signals, previous)
        send(page, message)  # the previous run's Done event was written a moment ago
    _wait_for_run(page, signals, MESSAGES[-1])

    thread_id = re.search(r"[?&]thread=([^&]+)", page.url).group(1)
    backend = LocalBackend(Settings(db_path=db_path, demo_token_delay=0))
    try:
        messages = backend.thread_view(LOCAL_USER, thread_id).messages
    finally:
        backend.close()
    saved = [(m.role, m.text) for m in messages]
    assert saved == [(role, text) for m in MESSAGES for role, text in (("human", m), ("ai", REPLY))]

    # The page agrees once it has drawn the end of the last run (not just its live pane).
    expect(page.get_by_test_id("stChatInputTextArea")).to_have_attribute(
        "placeholder", "Ask anything"
    )
    expect(main(page).locator(LIVE_STOP)).to_have_count(0)
    expected = [text for m in MESSAGES for text in (m, REPLY)]
    try:
        page.wait_for_function(SHOWS_EXACTLY, arg=expected)
    except playwright.TimeoutError:
        pytest.fail(f"the page shows {page.evaluate(BUBBLE_TEXTS)!r}")
    assert not signals.wait("start", 1), "a run started after the last message's"
