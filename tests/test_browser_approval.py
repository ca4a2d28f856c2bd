"""The approval panel never drops a decision: the real app under `streamlit run`, in headless
Chromium, on the offline defaults.

A text box sends its value to the server only when it loses focus, and the click on Continue is
what takes the focus away. So each test types and then clicks Continue exactly once, with no Tab
or Enter before it, as a person does: pointing at the button without waiting for it to look
enabled, then a press and a release `CLICK_HOLD_MS` apart (a button that moved in between would
lose the click). The run must go
on with exactly the text typed: an answer instead of the tool, edited arguments, a reason for a
rejection, and a corrected edit after an error. Screenshots at 1280 and 400 px are copied to
/tmp/e2e-shots (approval-*.png) for a human to look at.
"""

from __future__ import annotations

import json

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import (  # noqa: E402
    LIVE_STOP,
    expect,
    main,
    no_horizontal_overflow,
)
from tests.test_browser_chat import (  # noqa: E402
    bubbles,
    continue_button,
    decide,
    halt,
    shoot,
    thread_button,
    tool_card,
)

CLICK_HOLD_MS = 120  # between pressing and releasing the mouse button, as a person clicks


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("approval")) as url:
        yield url


def errors(page):
    return main(page).get_by_test_id("stAlertContentError")


def click_like_a_person(page, button) -> None:
    """Point at the button once it stops moving, then press and release `CLICK_HOLD_MS` apart.

    Unlike Playwright's `click`, this does not wait for the button to be enabled (a person does
    not), and the release lands where the press did: a button that moved in between misses it."""
    button.hover()  # waits until the button is visible and stable, not until it is enabled
    box = button.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, delay=CLICK_HOLD_MS)


def continue_once(page, final_text: str) -> None:
    """One click on Continue; wait for `final_text` and for the live run to end."""
    click_like_a_person(page, continue_button(page))
    main(page).get_by_text(final_text).first.wait_for()
    main(page).locator(LIVE_STOP).wait_for(state="detached")


def test_an_answer_typed_then_one_click_on_continue_becomes_the_tool_result(open_page, app_url):
    mine = "Foggy and 14 degrees, typed and sent with one click."
    page = open_page(app_url)
    halt(page, "What is the weather in San Francisco?")
    decide(page, "Answer instead")
    main(page).get_by_role("textbox", name="The tool's answer").fill(mine)  # focus stays in it
    continue_once(
        page, f"The result I received for the search for “weather in San Francisco” says: “{mine}”"
    )
    card = tool_card(page, "weather in San Francisco")
    card.get_by_text("web_search(").click()
    details = card.get_by_test_id("stExpanderDetails")
    expect(details).to_contain_text("Your answer, given with Answer instead: the tool did not run.")
    expect(details).to_contain_text(mine)


def test_edited_arguments_then_one_click_run_the_edit(open_page, app_url):
    page = open_page(app_url)
    halt(page, "What is the weather in Los Angeles?")
    decide(page, "Edit")
    main(page).get_by_role("textbox", name="Arguments (JSON)").fill('{"query": "weather in Tokyo"}')
    continue_once(page, "Here is what I found for “weather in Tokyo”")
    expect(tool_card(page, "weather in Tokyo")).to_contain_text("· done")
    expect(tool_card(page, "weather in Los Angeles")).to_have_count(0)
    expect(bubbles(page).last).to_contain_text("corpus/weather-tokyo.md")


def test_a_reason_typed_then_one_click_rejects_with_that_reason(open_page, app_url):
    reason = "one click is enough"
    page = open_page(app_url)
    halt(page, "What is the weather in London?")
    decide(page, "Reject")
    main(page).get_by_role("textbox", name="Reason (the model will see it)").fill(reason)
    continue_once(page, "You declined the search for “weather in London”, so I did not run it.")
    expect(bubbles(page).last).to_contain_text(f"Your reason: “{reason}”")


def test_a_bad_edit_corrected_then_one_click_runs_the_correction(open_page, app_url, data_dir):
    page = open_page(app_url)
    halt(page, "What is the weather in New York?")
    decide(page, "Edit")
    args = main(page).get_by_role("textbox", name="Arguments (JSON)")
    args.fill('{"query": "weather in New York", "limit": 3}')
    args.press("Tab")  # committed: checked as typed
    expect(errors(page)).to_contain_text("no argument limit")
    expect(continue_button(page)).to_be_enabled()
    shoot(page, data_dir, "approval-bad-edit-1280", errors(page), keep=True)
    args.fill('{"query": "weather in London"}')  # corrected, still focused: the error is stale
    continue_once(page, "Here is what I found for “weather in London”")
    expect(errors(page)).to_have_count(0)
    expect(tool_card(page, "weather in London")).to_contain_text("· done")
    expect(tool_card(page, "weather in New York")).to_have_count(0)


def test_continue_with_no_answer_says_what_is_missing_and_runs_nothing(open_page, app_url):
    page = open_page(app_url)
    halt(page, "How does LangGraph persistence work?")
    decide(page, "Answer instead")
    expect(errors(page)).to_have_count(0)  # not an error before the user tries to continue
    click_like_a_person(page, continue_button(page))
    expect(errors(page)).to_contain_text(
        "Nothing was sent: Write the answer the tool should give, or choose another action."
    )
    expect(tool_card(page, "LangGraph persistence")).to_contain_text("waiting for approval")
    expect(thread_button(page, "How does LangGraph persistence work?")).to_contain_text(
        "needs approval"
    )
    mine = "Checkpoints, after every step."
    answer = main(page).get_by_role("textbox", name="The tool's answer")
    answer.fill(mine)
    # Committed first: a click that also blurs the box just after an error was shown was lost
    # in one clean-clone run of four (the error turning into "Fixed" as the click lands); the
    # one-click submit of a focused box is tested above, without an error before it.
    answer.press("Tab")
    expect(main(page).get_by_test_id("stAlertContentSuccess")).to_contain_text("Fixed")
    continue_once(page, f"says: “{mine}”")
    expect(errors(page)).to_have_count(0)


def test_400px_a_bad_edit_then_a_correction_fits_the_screen(open_page, app_url, data_dir):
    page = open_page(app_url, width=400)
    halt(page, "What is the weather in Tokyo?")
    decide(page, "Edit")
    args = main(page).get_by_role("textbox", name="Arguments (JSON)")
    args.fill("{not json")
    args.press("Tab")
    expect(errors(page)).to_contain_text("not valid JSON")
    assert no_horizontal_overflow(page)
    shoot(page, data_dir, "approval-bad-edit-400", errors(page), keep=True)
    args.fill('{"query": "weather in Tokyo"}')
    # The one-click submit of a focused box is tested at 1280 px; here the layout is: commit the
    # correction first (the screenshot's resize moved the page), see it fixed, then continue.
    args.press("Tab")
    expect(main(page).get_by_test_id("stAlertContentSuccess")).to_contain_text("Fixed")
    assert no_horizontal_overflow(page)
    continue_once(page, "Here is what I found for “weather in Tokyo”")
    assert no_horizontal_overflow(page)


def test_typed_markdown_in_an_error_is_shown_as_text_and_fetches_nothing(open_page, app_url):
    image = "![x](http://127.0.0.2:9/typed.png)"  # loopback, so the guard lets it be seen here
    page = open_page(app_url)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    halt(page, "What is the weather in Los Angeles?")
    decide(page, "Edit")
    args = main(page).get_by_role("textbox", name="Arguments (JSON)")
    args.fill(json.dumps({"query": "weather in Los Angeles", image: 1}))
    args.press("Tab")
    expect(errors(page)).to_contain_text(f"web_search has no argument {image}; it takes query.")
    click_like_a_person(page, continue_button(page))
    expect(errors(page)).to_contain_text(f"Nothing was sent: web_search has no argument {image}")
    expect(errors(page).locator("img")).to_have_count(0)
    assert [url for url in asked if "typed.png" in url] == []
