"""Two app servers on one database, two browsers: a run started on one is watched and stopped on
the other, as behind a load balancer. Every wait is on something visible, with a timeout.
"""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import start_app  # noqa: E402
from tests.browser_helpers import LIVE_STOP, expect, main  # noqa: E402
from tests.test_browser_recovery import FIRST_LOAD_MS, SLOW, ask, streaming, thread_of  # noqa: E402

STOPPED = "You stopped the last run"


@pytest.mark.timeout(300)  # two server starts and their first pages, on a loaded machine
def test_a_run_started_on_one_server_is_followed_and_stopped_on_the_other(open_page, tmp_path):
    shared = {**SLOW, "WAYPOINT_DB": str(tmp_path / "shared.sqlite")}
    servers = []
    try:
        for name in ("one", "two"):
            folder = tmp_path / name  # each server's own logs
            folder.mkdir()
            servers.append(start_app(folder, shared))
        first = open_page(servers[0].url)
        ask(first, "Hello!")
        streaming(first)
        thread_id = thread_of(first)

        second = open_page(f"{servers[1].url}/?thread={thread_id}")
        streaming(second)  # the other server's page follows the run live, with its Stop
        words = main(second).get_by_test_id("stChatMessage").last
        shown = words.inner_text()
        expect(words).not_to_have_text(shown, timeout=FIRST_LOAD_MS)  # more tokens keep coming

        main(second).locator(LIVE_STOP).click()
        expect(main(second).get_by_text(STOPPED)).to_be_visible()
        expect(main(first).get_by_text(STOPPED)).to_be_visible()
        expect(main(first).locator(LIVE_STOP)).to_have_count(0)
    finally:
        for server in servers:
            server.stop()
