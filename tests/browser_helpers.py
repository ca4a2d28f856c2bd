"""Shared pieces of the browser tests: headless Chromium through Playwright, and a few page helpers.

The `browser` and `open_page` fixtures reach every test module through `pytest_plugins` in
conftest.py; the page helpers are imported where they are used.
"""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

WAIT_MS = 30_000
# Playwright's `expect` waits 5 s by default: too short for a loaded 2-core CI machine. Modules use
# this one, with its timeout, rather than each making its own.
expect = playwright.Expect()
expect.set_options(timeout=WAIT_MS)
LIVE_STOP = '[class*="st-key-stop_"]'  # the live run's Stop button (key stop_<run id>)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser):
    """Open a URL in a fresh browser context (its own Streamlit session); closed after the test."""
    pages = []

    def opener(url: str, width: int = 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.set_default_timeout(WAIT_MS)
        page.goto(url)
        pages.append(page)
        return page

    yield opener
    for page in pages:
        page.close()


def main(page):
    return page.get_by_test_id("stMainBlockContainer")


def idle(page) -> None:
    """Wait until Streamlit has finished running the script (its own marker on the app root).

    Until then elements the run has not drawn again are still shown, faded, and are removed when
    it ends: what is under them moves then."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        state="attached"
    )


def send(page, message: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(message)
    box.press("Enter")


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
