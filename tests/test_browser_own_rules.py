"""Your graph's HITL tool in the real app (`streamlit run`, embedded backend), in headless Chromium:
a request replayed from the Inspector is asked again and takes the new decision, and the
Auto-approve setting answers the next request without a card. Screenshots at 1280 and 400 px go
to the test's data dir (and /tmp/e2e-shots) to be looked at."""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from agent.settings import PROJECT_ROOT  # noqa: E402
from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import LIVE_STOP, expect, idle, main, send  # noqa: E402
from tests.test_browser_chat import bubbles, continue_button, decide, shoot  # noqa: E402
from tests.test_browser_inspector import open_inspector, pick, sidebar, thread_of  # noqa: E402

GRAPH = str(PROJECT_ROOT / "examples" / "hitl_agent.py") + ":graph"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("own_rules"), {"WAYPOINT_GRAPH": GRAPH}) as url:
        yield url


def answered(page, text: str) -> None:
    main(page).get_by_text(text).first.wait_for()
    main(page).locator(LIVE_STOP).wait_for(state="detached")


def test_a_replay_asks_again_and_auto_approve_answers_without_a_card(open_page, app_url, data_dir):
    page = open_page(app_url)
    send(page, "What is the weather in Rome?")
    continue_button(page).click()
    answered(page, "Here is what I found for “weather in Rome”")
    thread_id = thread_of(page)

    open_inspector(page)
    pick(page, "model asked web_search('weather in Rome')")
    main(page).get_by_role("button", name="Replay").click()
    page.wait_for_url(lambda url: "/inspector" not in url)
    assert thread_of(page) == thread_id
    continue_button(page).wait_for()  # asked again: the old approval is not reused
    expect(main(page).get_by_text("Tool execution requires approval")).to_be_visible()
    decide(page, "Edit")
    main(page).get_by_role("textbox", name="Arguments (JSON)").fill('{"query": "weather in Oslo"}')
    main(page).get_by_role("textbox", name="Arguments (JSON)").press("Tab")
    idle(page)
    continue_button(page).click()
    answered(page, "Here is what I found for “weather in Oslo”")

    settings = sidebar(page).get_by_test_id("stExpander").filter(has_text="Settings")
    if not settings.get_by_text("Tool approval").first.is_visible():
        settings.get_by_text("Settings", exact=True).click()
    rule = sidebar(page).get_by_role("radiogroup", name="web_search")
    rule.get_by_text("Auto-approve", exact=True).click()
    chip_name = "web_search: auto-approve"
    chip = main(page).get_by_role("button", name=chip_name)
    expect(chip).to_be_visible()
    idle(page)
    send(page, "What is the weather in Paris?")
    answered(page, "Here is what I found for “weather in Paris”")
    expect(continue_button(page)).to_have_count(0)
    expect(bubbles(page).last).to_contain_text("weather in Paris")
    shoot(page, data_dir, "own-rules-1280", chip, keep=True)
    phone = open_page(f"{app_url}?thread={thread_id}&set_tool_web_search=allow", width=400)
    shoot(phone, data_dir, "own-rules-400", phone.get_by_role("button", name=chip_name), keep=True)

    open_inspector(page)
    expect(
        main(page).get_by_text("web_search auto-approved by your setting", exact=False).first
    ).to_be_visible()
