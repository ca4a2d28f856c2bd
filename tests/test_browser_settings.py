"""The settings chips in the real app under `streamlit run`, in headless Chromium: they wrap at
1280 and 400 px with no horizontal overflow, a reload keeps the choices (the URL), durability
"exit" says its cost, a chip opens the settings, and "always allow in this thread" from the
approval card runs the thread's next search without asking. Screenshots go to
/tmp/e2e-shots/settings-*.png for a human to look at."""

from __future__ import annotations

import re

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from agent.protocol import EXIT_COST  # noqa: E402
from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import LIVE_STOP, expect, main, no_horizontal_overflow, send  # noqa: E402
from tests.test_browser_chat import bubbles, continue_button, halt, shoot  # noqa: E402

CHIPS = '[class*="st-key-settings_chips"]'
LINK = "?set_engine=async&set_durability=exit&set_stream=steps"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("settings")) as url:
        yield url


def chips(page):
    return page.locator(CHIPS)


def chip(page, label: str):
    return chips(page).get_by_role("button", name=re.compile(re.escape(label)))


def assert_chips_fit(page) -> None:
    """Every chip inside the viewport and the page no wider than it."""
    width = page.viewport_size["width"]
    for box in chips(page).get_by_role("button").all():
        bounds = box.bounding_box()
        assert bounds is not None and bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= width
    assert no_horizontal_overflow(page)


@pytest.mark.parametrize("width", [1280, 400])
def test_chips_show_the_linked_choices_wrap_and_survive_a_reload(
    open_page, app_url, data_dir, width
):
    page = open_page(app_url + LINK, width=width)
    for label in (
        "Demo model",
        "Offline search",
        "async engine",
        "updates only",
        "durability exit",
    ):
        expect(chip(page, label)).to_be_visible()
    expect(main(page).get_by_text(EXIT_COST)).to_be_visible()
    assert_chips_fit(page)
    buttons = chips(page).get_by_role("button").all()
    rows = {round(b.bounding_box()["y"]) for b in buttons}
    if width == 400:
        assert len(rows) > 1, "at 400 px the chips wrap onto several lines"
    else:
        assert len(rows) == 1, "at 1280 px the chips fit one line"
    shoot(page, data_dir, f"settings-chips-{width}", chips(page), keep=True)
    page.reload()
    expect(chip(page, "async engine")).to_be_visible()
    expect(chip(page, "durability exit")).to_be_visible()
    assert "set_engine=async" in page.url


def test_a_chip_says_what_it_does_and_opens_the_settings(open_page, app_url, data_dir):
    page = open_page(app_url)
    chip(page, "sync engine").click()
    expect(page.get_by_text("graph.stream() on a worker thread").first).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("radiogroup", name="Engine")).to_be_visible()
    shoot(page, data_dir, "settings-chip-open-1280", sidebar, keep=True)
    # Choosing in the sidebar changes the chip and the link.
    sidebar.get_by_text("Async", exact=True).click()
    expect(chip(page, "async engine")).to_be_visible()
    page.wait_for_url(re.compile(r"set_engine=async"))


@pytest.mark.parametrize("width", [1280, 400])
def test_always_allow_from_the_card_runs_the_next_search_unasked(
    open_page, app_url, data_dir, width
):
    page = open_page(app_url, width=width)
    halt(page, "How does LangGraph persistence work?")
    main(page).get_by_text("Always allow web_search in this thread").click()
    shoot(page, data_dir, f"settings-always-card-{width}", continue_button(page), keep=True)
    continue_button(page).click()
    expect(chip(page, "web_search always allowed here")).to_be_visible()
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    answers = bubbles(page).count()
    send(page, "What's the weather in London?")
    # The next search runs without a halt: the answer arrives and no Continue is shown.
    expect(bubbles(page)).to_have_count(answers + 2)
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    expect(bubbles(page).last).to_contain_text("London")
    expect(continue_button(page)).to_have_count(0)
    assert_chips_fit(page)
    shoot(page, data_dir, f"settings-always-after-{width}", chips(page), keep=True)
    # The chip takes it back.
    chip(page, "web_search always allowed here").click()
    page.get_by_role("button", name="Ask again").click()
    expect(chip(page, "web_search always allowed here")).to_have_count(0)
