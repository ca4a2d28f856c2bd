"""Two app servers on one database, two browsers: a run started on one is watched and stopped on
the other, as behind a load balancer. With durability "exit" no checkpoint holds the question while
the run goes: the other server shows it from the run store. Every wait is on something visible,
with a timeout.
"""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import start_app  # noqa: E402
from tests.browser_helpers import LIVE_STOP, expect, main  # noqa: E402
from tests.test_browser_recovery import (  # noqa: E402
    FIRST_LOAD_MS,
    ask,
    choose_durability_exit,
    streaming,
    thread_of,
)

STOPPED = "You stopped the last run"
QUESTION = "Good morning! Who are you?"
# The greeting takes about 36 s: time for the second server's first page on a loaded machine,
# before the run on the first one ends (at 0.1 s a token it did not always have it).
SLOWER = {"WAYPOINT_DEMO_TOKEN_DELAY": "0.3"}


@pytest.mark.timeout(300)  # two server starts and their first pages, on a loaded machine
def test_a_run_started_on_one_server_is_followed_with_its_question_and_stopped_on_the_other(
    open_page, tmp_path
):
    shared = {**SLOWER, "WAYPOINT_DB": str(tmp_path / "shared.sqlite")}
    servers = []
    try:
        for name in ("one", "two"):
            folder = tmp_path / name  # each server's own logs
            folder.mkdir()
            servers.append(start_app(folder, shared))
        first = open_page(servers[0].url)
        choose_durability_exit(first)
        ask(first, QUESTION)
        streaming(first)
        thread_id = thread_of(first)

        second = open_page(f"{servers[1].url}/?thread={thread_id}")
        main(second).locator(LIVE_STOP).wait_for(timeout=FIRST_LOAD_MS)  # a fresh server's page
        streaming(second)  # the other server's page follows the run live, with its Stop
        question = main(second).get_by_test_id("stChatMessage").filter(has_text=QUESTION)
        # Counted at once, not awaited: once the run ends, the checkpoint shows it anyway.
        assert question.count() == 1, "the other server does not show the question"
        assert main(second).locator(LIVE_STOP).count() == 1, "the run should still be going"
        words = main(second).get_by_test_id("stChatMessage").last
        shown = words.inner_text()
        expect(words).not_to_have_text(shown, timeout=FIRST_LOAD_MS)  # more tokens keep coming

        main(second).locator(LIVE_STOP).click()
        expect(main(second).get_by_text(STOPPED)).to_be_visible()
        expect(main(first).get_by_text(STOPPED)).to_be_visible()
        expect(main(first).locator(LIVE_STOP)).to_have_count(0)
        expect(question).to_have_count(1)  # kept by the Stop: now in a checkpoint
    finally:
        for server in servers:
            server.stop()
