"""A message sent during a run on an Agent Server with the Multitask setting "enqueue", in headless
Chromium at 1280 and 400 px against the session's `langgraph dev`: the input says what sending
will do, the message shows as queued under the live run, and when the first run ends its own run
answers it. The first run waits at its gate (tests/gated_graph.py) until the test opens it.
Screenshots go to the test's data dir (and /tmp/e2e-shots) to be looked at."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import LIVE_STOP, expect, main, no_horizontal_overflow, send  # noqa: E402
from tests.gated_graph import open_gate  # noqa: E402
from tests.test_browser_chat import bubbles, shoot  # noqa: E402
from ui.run_queue import BUSY_PLACEHOLDERS, QUEUED_CAPTION  # noqa: E402


@pytest.fixture(scope="module")
def app_url(lg_server, tmp_path_factory):
    env = {"WAYPOINT_SERVER_URL": lg_server.url, "WAYPOINT_SERVER_GRAPH": "slow_chat"}
    with running_app(tmp_path_factory.mktemp("server_multitask"), env) as url:
        yield url


@pytest.mark.parametrize("width", [1280, 400])
def test_a_message_sent_during_a_run_is_queued_then_answered(
    open_page, app_url, lg_server, data_dir, width
):
    page = open_page(f"{app_url}?set_multitask=enqueue", width=width)
    expect(page.get_by_text("during a run: queued")).to_be_visible()
    send(page, "first")
    expect(main(page).get_by_text("wait_for_gate")).to_be_visible()  # at its gate, going
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_have_attribute("placeholder", BUSY_PLACEHOLDERS["enqueue"])
    send(page, "second")
    queued = main(page).get_by_text(QUEUED_CAPTION)
    expect(queued).to_be_visible()
    expect(main(page).locator(LIVE_STOP)).to_be_visible()
    shoot(page, data_dir, f"server-queued-{width}", queued, keep=True)
    assert no_horizontal_overflow(page)
    thread_id = parse_qs(urlparse(page.url).query)["thread"][0]
    open_gate(lg_server.gates, thread_id)
    expect(main(page).get_by_text("Answered: second")).to_be_visible()
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    expect(queued).to_have_count(0)
    expect(main(page).get_by_text("Answered: first")).to_be_visible()
    expect(bubbles(page).last).to_contain_text("Answered: second")
    shoot(page, data_dir, f"server-queued-done-{width}", bubbles(page).last, keep=True)
