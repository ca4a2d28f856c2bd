"""The chat page end to end: the real app under `streamlit run`, clicked in headless Chromium.

Every approval decision (approve, edit, a bad edit, answer instead, reject, stop), parallel calls
with mixed decisions, a refresh and a second tab during a streaming run, thread switching, rename
and delete, and a 400 px wide pass with screenshots. All on the offline defaults (demo model,
offline search). One app server at the default pace serves most tests (each on its own fresh
thread, with a question no other test asks); a slow-token one serves the refresh test, and the
two-tab test starts a slower one of its own. Every wait is on something visible, with a timeout.
Representative screenshots are also copied to /tmp/e2e-shots for a human to look at.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import (  # noqa: E402
    LIVE_STOP,
    WAIT_MS,
    expect,
    idle,
    main,
    no_horizontal_overflow,
    send,
)

SHOTS = Path("/tmp/e2e-shots")  # copies of representative screenshots, for a human to look at
SLOW_TOKEN_DELAY = "0.06"  # the greeting is 121 tokens: about 7 s to stream, time to reload in
# The live run's Stop button (key stop_<run id>); the approval panel's Stop is another button.
# The greeting's last line: a distinctive sentence that must end up on the page exactly once.
GREETING_END = "fork the conversation from there"
BUSY = "This thread is busy: a run is still going. Wait for it to finish or press Stop."
STOPPED_PLACEHOLDER = "Sending now cancels the pending tool calls"

# Records every text the last chat bubble showed (its Markdown, without the step-strip caption),
# and the most times GREETING_END was ever on the page at once. Installed before the page's own
# scripts (add_init_script) or on a loaded page (evaluate); both observe the whole document.
RECORD_LIVE_TEXTS = f"""
(() => {{
  window.__live = {{texts: [], maxCount: 0}};
  const sentence = {GREETING_END!r};
  const observer = new MutationObserver(() => {{
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (!main) return;
    const bubbles = main.querySelectorAll('[data-testid="stChatMessage"]');
    if (bubbles.length) {{
      const last = bubbles[bubbles.length - 1];
      const text = [...last.querySelectorAll('[data-testid="stMarkdown"]')]
        .filter(e => !e.querySelector('[data-testid="stCaptionContainer"]'))
        .map(e => e.innerText).join('\\n');
      const seen = window.__live.texts;
      if (seen[seen.length - 1] !== text) seen.push(text);
    }}
    const count = main.innerText.split(sentence).length - 1;
    window.__live.maxCount = Math.max(window.__live.maxCount, count);
  }});
  observer.observe(document, {{subtree: true, childList: true, characterData: true}});
}})();
"""

LAST_BUBBLE_TEXT = """
() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const bubbles = main.querySelectorAll('[data-testid="stChatMessage"]');
  const last = bubbles[bubbles.length - 1];
  return [...last.querySelectorAll('[data-testid="stMarkdown"]')]
    .filter(e => !e.querySelector('[data-testid="stCaptionContainer"]'))
    .map(e => e.innerText).join('\\n');
}
"""


# --- servers and helpers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """One app for the module at the default demo pace; tests keep apart by using fresh threads."""
    with running_app(tmp_path_factory.mktemp("app"), {"WAYPOINT_DEMO_TOKEN_DELAY": "0.01"}) as url:
        yield url


@pytest.fixture(scope="module")
def slow_app_url(tmp_path_factory):
    """An app whose demo model writes slowly enough to act while it streams."""
    with running_app(
        tmp_path_factory.mktemp("slow"), {"WAYPOINT_DEMO_TOKEN_DELAY": SLOW_TOKEN_DELAY}
    ) as url:
        yield url


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def chat_input(page):
    return page.get_by_test_id("stChatInputTextArea")


def thread_of(page) -> str:
    return parse_qs(urlparse(page.url).query)["thread"][0]


def thread_button(page, title: str):
    """The sidebar entry for a thread: its label starts with the title, then time and badge."""
    return sidebar(page).get_by_role("button", name=re.compile("^" + re.escape(title)))


def tool_card(page, query: str):
    """The transcript's card for the web_search call with this query (an expander)."""
    return tool_cards(page).filter(has_text=f'query="{query}"')


def tool_cards(page):
    """The transcript's expanders but the run records (`ui.run_record`)."""
    return main(page).get_by_test_id("stExpander").filter(has_not_text="Run record:")


def call_codes(page):
    """The approval panel's code blocks: each pending call's arguments (not the run records')."""
    return main(page).get_by_test_id("stCode").filter(has_text='"query"')


def continue_button(page):
    return main(page).get_by_role("button", name="Continue")


def review_button(page):
    return main(page).get_by_role("button", name="Review the pending calls")


def bubbles(page):
    return main(page).get_by_test_id("stChatMessage")


def ask_from_welcome(page, question: str) -> None:
    page.get_by_text("Try one of these").wait_for()
    send(page, question)
    page.wait_for_url(re.compile(r"[?&]thread="), timeout=WAIT_MS)


def halt(page, question: str) -> None:
    """Ask on a fresh page and wait until the agent halts for approval."""
    ask_from_welcome(page, question)
    continue_button(page).wait_for()


def continue_and_wait(page, final_text: str) -> None:
    """Press Continue; wait until `final_text` is shown and the live run has ended."""
    continue_button(page).click()
    main(page).get_by_text(final_text).first.wait_for()
    main(page).locator(LIVE_STOP).wait_for(state="detached")


# The box each decision draws on its card (role, name): what a person waits to see.
DECISION_INPUTS = {
    "Approve": ("checkbox", re.compile(r"^Always allow ")),
    "Edit": ("textbox", "Arguments (JSON)"),
    "Answer instead": ("textbox", "The tool's answer"),
    "Reject": ("textbox", "Reason (the model will see it)"),
}


def decide(page, action: str, card: int = 0) -> None:
    """Pick a decision (Approve / Edit / Answer instead / Reject) on the n-th pending call."""
    group = main(page).get_by_test_id("stRadioGroup").nth(card)
    group.get_by_text(action, exact=True).click()  # the option's label, as a user clicks it
    expect(group.get_by_role("radio", name=action)).to_be_checked()
    # The radio is checked in the browser at once; the rerun that draws the decision's own box
    # comes after, and moves the buttons under it. A person sees that box before going on.
    role, name = DECISION_INPUTS[action]
    call_card = group.locator("xpath=ancestor::div[@data-testid='stVerticalBlock'][1]")
    call_card.get_by_role(role, name=name).wait_for()
    idle(page)  # and the boxes of the decision before it are gone


def shoot(page, data_dir: Path, name: str, ready, keep: bool = False) -> None:
    """A screenshot of the whole conversation in the test's data dir, taken once `ready` (a
    locator) is visible; `keep` also copies it to SHOTS. The page is grown to the height of
    Streamlit's scrolling main area for the picture (growing can reflow it, so up to three
    times), then put back."""
    size = page.viewport_size
    ready.wait_for()
    for _ in range(3):
        height = page.evaluate(
            "document.querySelector('[data-testid=\"stAppScrollToBottomContainer\"]').scrollHeight"
        )
        if height <= page.viewport_size["height"] or page.viewport_size["height"] >= 6000:
            break
        page.set_viewport_size({"width": size["width"], "height": min(height, 6000)})
    ready.wait_for()
    path = data_dir / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    ready.wait_for()
    if keep:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


def user_text(bubble):
    """The text of a chat bubble's message (not its avatar or its Edit / Regenerate controls)."""
    return bubble.get_by_test_id("stMarkdown").first


def plain(text: str) -> str:
    """Rendered text with Markdown marks that render differently half-written (`**`, `-`, `` ` ``)
    dropped and whitespace collapsed, so a half-streamed text compares with its finished form."""
    return " ".join(re.sub(r"[*`\-]", " ", text).split())


# --- 1. each decision on a single call ------------------------------------------------------------


def test_approve_runs_the_search_and_the_answer_cites_its_sources(open_page, app_url, data_dir):
    page = open_page(app_url)
    halt(page, "How does LangGraph persistence work?")
    expect(tool_card(page, "LangGraph persistence")).to_contain_text("waiting for approval")
    expect(thread_button(page, "How does LangGraph persistence work?")).to_contain_text(
        "needs approval"
    )
    shoot(page, data_dir, "halted-1280", continue_button(page), keep=True)
    decide(page, "Approve")
    continue_and_wait(page, "Here is what I found for “LangGraph persistence”")
    expect(tool_card(page, "LangGraph persistence")).to_contain_text("· done")
    answer = bubbles(page).last
    expect(answer).to_contain_text("[1]")
    expect(answer).to_contain_text("Sources")
    expect(answer).to_contain_text("corpus/langgraph-persistence.md")
    expect(thread_button(page, "How does LangGraph persistence work?")).not_to_contain_text(
        "needs approval"
    )
    expect(chat_input(page)).to_have_attribute("placeholder", "Ask anything")
    shoot(page, data_dir, "answered-1280", answer.get_by_text("Sources"), keep=True)
    tool_card(page, "LangGraph persistence").get_by_text("web_search(").click()
    expect(tool_card(page, "LangGraph persistence")).to_contain_text("[1]")  # the results, numbered


def test_edit_runs_the_edited_query(open_page, app_url):
    page = open_page(app_url)
    halt(page, "What is the weather in London?")
    decide(page, "Edit")
    args = main(page).get_by_role("textbox", name="Arguments (JSON)")
    expect(args).to_have_value(re.compile(r'"query": "weather in London"'))
    args.fill('{"query": "weather in San Francisco"}')
    args.press("Tab")  # commit the text area
    continue_and_wait(page, "Here is what I found for “weather in San Francisco”")
    expect(tool_card(page, "weather in San Francisco")).to_contain_text("· done")
    expect(tool_card(page, "weather in London")).to_have_count(0)  # the call that ran is the edit
    expect(bubbles(page).last).to_contain_text("corpus/weather-san-francisco.md")


def test_a_bad_edit_shows_an_error_and_continue_sends_nothing(open_page, app_url):
    page = open_page(app_url)
    halt(page, "What is the weather in New York?")
    decide(page, "Edit")
    args = main(page).get_by_role("textbox", name="Arguments (JSON)")
    go = continue_button(page)
    error = main(page).get_by_test_id("stAlertContentError")

    args.fill("{not json")
    args.press("Tab")
    expect(error).to_contain_text("not valid JSON")

    args.fill('{"query": "weather in New York", "limit": 3}')
    args.press("Tab")
    expect(error).to_contain_text("no argument limit")
    go.click()  # checked at the click: nothing is sent
    expect(error).to_contain_text("Nothing was sent: web_search has no argument limit")
    # Nothing ran: the call still waits and the thread is still marked in the sidebar.
    expect(tool_card(page, "weather in New York")).to_contain_text("waiting for approval")
    expect(thread_button(page, "What is the weather in New York?")).to_contain_text(
        "needs approval"
    )

    args.fill('{"query": "weather in New York"}')
    args.press("Tab")
    expect(error).to_have_count(0)
    expect(go).to_be_enabled()


def test_answer_instead_becomes_the_tool_result_and_the_model_uses_it(open_page, app_url):
    mine = "Sunny and 31 degrees, says the browser test."
    page = open_page(app_url)
    halt(page, "What is the weather in Los Angeles?")
    decide(page, "Answer instead")
    answer_box = main(page).get_by_role("textbox", name="The tool's answer")
    answer_box.fill(mine)
    answer_box.press("Tab")
    expect(continue_button(page)).to_be_enabled()
    continue_and_wait(
        page, f"The result I received for the search for “weather in Los Angeles” says: “{mine}”"
    )
    card = tool_card(page, "weather in Los Angeles")
    expect(card).to_contain_text("· answered by you")  # marked as yours, not as a search
    card.get_by_text("web_search(").click()
    expect(card.get_by_test_id("stExpanderDetails")).to_contain_text(mine)
    expect(card.get_by_test_id("stExpanderDetails")).to_contain_text("the tool did not run")


def test_reject_with_a_reason_skips_the_tool_and_the_model_says_so(open_page, app_url):
    reason = "the browser test says no"
    page = open_page(app_url)
    halt(page, "What is the weather in Tokyo?")
    decide(page, "Reject")
    reason_box = main(page).get_by_role("textbox", name="Reason (the model will see it)")
    reason_box.fill(reason)
    reason_box.press("Enter")
    continue_and_wait(page, "You declined the search for “weather in Tokyo”, so I did not run it.")
    expect(tool_card(page, "weather in Tokyo")).to_contain_text("· not run")
    expect(bubbles(page).last).to_contain_text(f"Your reason: “{reason}”")
    expect(bubbles(page).last).not_to_contain_text("Sources")


def test_stop_folds_the_panel_and_a_new_message_cancels_the_pending_call(
    open_page, app_url, data_dir
):
    question = "How do I fork a conversation from a past checkpoint?"
    page = open_page(app_url)
    halt(page, question)
    main(page).get_by_role("button", name="Stop").click()
    expect(main(page).get_by_text("Stopped before 1 tool call")).to_be_visible()
    expect(continue_button(page)).to_have_count(0)
    expect(review_button(page)).to_be_visible()
    expect(thread_button(page, question)).to_contain_text("needs approval")
    expect(chat_input(page)).to_have_attribute("placeholder", STOPPED_PLACEHOLDER)
    shoot(page, data_dir, "stopped-1280", review_button(page), keep=True)

    send(page, "hello")
    main(page).get_by_text(GREETING_END).wait_for()
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    card = tool_cards(page)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("· not run")  # closed as cancelled, never run
    expect(bubbles(page)).to_have_count(4)  # question, call, hello, greeting
    expect(user_text(bubbles(page).nth(2))).to_have_text("hello")
    expect(main(page).get_by_text("Stopped before")).to_have_count(0)
    expect(thread_button(page, question)).not_to_contain_text("needs approval")
    expect(chat_input(page)).to_have_attribute("placeholder", "Ask anything")


# --- 2. parallel calls ----------------------------------------------------------------------------


def test_two_parallel_calls_approve_one_and_reject_the_other(open_page, app_url):
    page = open_page(app_url)
    halt(page, "What's the weather in San Francisco and Tokyo?")
    expect(main(page).get_by_text("The agent wants to run 2 tool calls")).to_be_visible()
    codes = call_codes(page)
    expect(codes).to_have_count(2)
    expect(codes.nth(0)).to_contain_text('"weather in San Francisco"')
    expect(codes.nth(1)).to_contain_text('"weather in Tokyo"')
    decide(page, "Approve", card=0)
    decide(page, "Reject", card=1)
    reason_box = main(page).get_by_role("textbox", name="Reason (the model will see it)")
    expect(reason_box).to_have_count(1)  # only the rejected call asks for a reason
    reason_box.fill("one city is enough")
    reason_box.press("Enter")
    continue_and_wait(page, "Here is what came back from each search.")
    expect(tool_card(page, "weather in San Francisco")).to_contain_text("· done")
    expect(tool_card(page, "weather in Tokyo")).to_contain_text("· not run")
    answer = bubbles(page).last
    expect(answer).to_contain_text("weather in San Francisco:")
    expect(answer).to_contain_text("corpus/weather-san-francisco.md")
    expect(answer).to_contain_text(
        "weather in Tokyo: You declined this search, so I did not run it. "
        "Your reason: “one city is enough”."
    )
    expect(answer).not_to_contain_text("corpus/weather-tokyo.md")


# --- 3 and 4. a streaming run survives a refresh, and two tabs follow it --------------------------


def live_texts(page) -> list[str]:
    """What the last bubble showed while the greeting streamed (texts of the greeting only)."""
    return [t for t in page.evaluate("window.__live.texts") if "Waypoint" in t]


def test_a_refresh_mid_stream_loses_nothing_and_doubles_nothing(open_page, slow_app_url):
    page = open_page(slow_app_url)
    page.add_init_script(RECORD_LIVE_TEXTS)  # records from the first paint after the reload
    ask_from_welcome(page, "hello")
    live = main(page).locator(LIVE_STOP)
    live.wait_for()
    main(page).get_by_text("Waypoint").first.wait_for()  # a few tokens in
    before = page.evaluate(LAST_BUBBLE_TEXT)
    assert "Waypoint" in before and GREETING_END not in before, before
    url = page.url

    page.reload()
    live.wait_for()  # still streaming after the reload
    main(page).get_by_text(GREETING_END).wait_for()
    live.wait_for(state="detached")

    assert page.url == url
    after = live_texts(page)
    assert after, "nothing of the greeting was recorded after the reload"
    assert plain(after[0]).startswith(plain(before)), (
        f"text seen before the reload is missing after it:\nbefore: {before!r}\nafter: {after[0]!r}"
    )
    for shorter, longer in zip(after, after[1:], strict=False):
        assert plain(longer).startswith(plain(shorter)), f"text lost: {shorter!r} -> {longer!r}"
    growing = [t for t in after if GREETING_END not in t]
    assert len(growing) >= 2, f"no tokens streamed in after the reload: {after!r}"
    assert page.evaluate("window.__live.maxCount") == 1, "the answer was shown twice at once"
    assert main(page).inner_text().count(GREETING_END) == 1
    expect(bubbles(page)).to_have_count(2)  # hello, and one answer


def test_two_tabs_follow_the_same_run_and_the_second_cannot_send_while_it_runs(open_page, data_dir):
    # Its own app with a very slow model (the greeting would take ~25 s): the second tab must
    # attach and send while the run still streams, however busy the machine; then it stops it.
    with running_app(data_dir, {"WAYPOINT_DEMO_TOKEN_DELAY": "0.2"}) as url:
        first = open_page(url)
        first.evaluate(RECORD_LIVE_TEXTS)
        ask_from_welcome(first, "good morning")
        second = open_page(first.url)
        second.evaluate(RECORD_LIVE_TEXTS)
        assert thread_of(second) == thread_of(first)
        for tab in (first, second):
            main(tab).locator(LIVE_STOP).wait_for()
            main(tab).get_by_text("Waypoint").first.wait_for()

        send(second, "a message from the second tab")
        expect(main(second).get_by_text(BUSY)).to_be_visible()
        expect(main(second).locator(LIVE_STOP)).to_be_visible()  # the run goes on
        main(first).get_by_text("offline demo model").first.wait_for()  # more tokens, both tabs
        main(second).get_by_text("offline demo model").first.wait_for()

        main(second).locator(LIVE_STOP).get_by_role("button", name="Stop").click()
        for tab in (first, second):
            main(tab).locator(LIVE_STOP).wait_for(state="detached")
            expect(chat_input(tab)).to_have_attribute("placeholder", "Ask anything")
            expect(main(tab)).not_to_contain_text("from the second tab")  # it was not sent
        assert bubbles(first).all_inner_texts() == bubbles(second).all_inner_texts()

        # Both tabs showed the same run token by token: each saw the greeting grow, and every
        # text either tab showed is a prefix of (or extends) every text the other showed.
        seen = {tab: [plain(t) for t in live_texts(tab)] for tab in (first, second)}
        for texts in seen.values():
            assert len(set(texts)) >= 2, f"this tab did not show tokens as they came: {texts}"
        for a in seen[first]:
            for b in seen[second]:
                assert a.startswith(b) or b.startswith(a), f"different runs: {a!r} vs {b!r}"


# --- 5 and 6. threads -----------------------------------------------------------------------------


def test_switching_threads_keeps_their_transcripts_apart(open_page, app_url):
    first_q, second_q = "What are reducers in LangGraph?", "How does streaming work in LangGraph?"
    page = open_page(app_url)
    halt(page, first_q)
    first_id = thread_of(page)

    sidebar(page).get_by_role("button", name="New thread").click()
    page.wait_for_url(lambda url: "thread=" not in url, timeout=WAIT_MS)  # stored from its message
    halt(page, second_q)
    second_id = thread_of(page)
    assert second_id != first_id

    def shows_only(question: str, other: str) -> None:
        expect(main(page).get_by_role("heading", name=question)).to_be_visible()
        expect(bubbles(page).first).to_contain_text(question)
        expect(bubbles(page)).to_have_count(2)
        expect(main(page)).not_to_contain_text(other)

    shows_only(second_q, first_q)
    thread_button(page, first_q).click()
    page.wait_for_url(re.compile(f"thread={first_id}"), timeout=WAIT_MS)
    shows_only(first_q, second_q)
    expect(tool_card(page, "reducers in LangGraph")).to_contain_text("waiting for approval")
    thread_button(page, second_q).click()
    page.wait_for_url(re.compile(f"thread={second_id}"), timeout=WAIT_MS)
    shows_only(second_q, first_q)


def test_rename_then_delete_a_thread(open_page, app_url):
    page = open_page(app_url)
    ask_from_welcome(page, "hi")
    main(page).get_by_text(GREETING_END).wait_for()
    thread_id = thread_of(page)
    new_title = "Renamed by the browser test"

    sidebar(page).get_by_role("button", name="Rename or delete").click()
    title = page.get_by_role("textbox", name="Title")
    popover = page.get_by_test_id("stPopoverBody").filter(has=title)
    expect(title).to_have_value("hi")
    title.fill(new_title)
    title.press("Enter")
    popover.get_by_role("button", name="Rename").click()
    expect(thread_button(page, new_title)).to_be_visible()
    expect(main(page).get_by_role("heading", name=new_title)).to_be_visible()
    expect(sidebar(page).get_by_role("button", name=re.compile(r"^hi\b"))).to_have_count(0)

    if not popover.is_visible():
        sidebar(page).get_by_role("button", name="Rename or delete").click()
    delete = popover.get_by_role("button", name="Delete thread")
    expect(delete).to_be_disabled()  # not without the confirmation
    popover.get_by_text("Yes, delete this thread and all its checkpoints").click()
    expect(delete).to_be_enabled()
    delete.click()
    page.get_by_text("Try one of these").wait_for()
    expect(thread_button(page, new_title)).to_have_count(0)
    assert "thread=" not in page.url
    expect(sidebar(page).get_by_role("button", name="Rename or delete")).to_have_count(0)
    assert thread_id not in page.url


# --- 7. narrow screens ----------------------------------------------------------------------------


def test_400px_halt_stop_and_answer_fit_the_screen(open_page, app_url, data_dir):
    page = open_page(app_url, width=400)
    page.get_by_text("Try one of these").wait_for()
    assert no_horizontal_overflow(page)
    halt(page, "What is the weather in Los Angeles and New York?")
    expect(call_codes(page)).to_have_count(2)
    shoot(page, data_dir, "halted-400", continue_button(page), keep=True)
    assert no_horizontal_overflow(page), "the approval panel is wider than the screen"

    main(page).get_by_role("button", name="Stop").click()
    review_button(page).wait_for()
    shoot(page, data_dir, "stopped-400", review_button(page), keep=True)
    assert no_horizontal_overflow(page), "the stopped panel is wider than the screen"

    review_button(page).click()
    continue_and_wait(page, "Here is what came back from each search.")
    main(page).get_by_text("Sources").wait_for()
    shoot(page, data_dir, "answered-400", main(page).get_by_text("Sources"), keep=True)
    assert no_horizontal_overflow(page), "the answer is wider than the screen"


# --- threads exist from their first message; versions oldest first -------------------------------

THREAD_ROWS = '[class*="st-key-thread_"]'  # the sidebar's thread entries (keys thread_<id>)
THREAD_SHOTS = Path("/work/tmp/shots/threads")


def thread_rows(page):
    return sidebar(page).locator(THREAD_ROWS)


def new_thread(page) -> None:
    sidebar(page).get_by_role("button", name="New thread").click()
    page.wait_for_url(lambda url: "thread=" not in url)
    page.get_by_text("Try one of these").wait_for()


def test_new_thread_then_leaving_stores_no_thread(open_page, app_url):
    page = open_page(app_url)
    page.get_by_text("Try one of these").wait_for()
    before = thread_rows(page).count()
    for _ in range(3):
        new_thread(page)
    sidebar(page).get_by_test_id("stSidebarNavLink").filter(has_text="Inspector").click()
    page.wait_for_url(re.compile(r"/inspector"))
    sidebar(page).get_by_role("button", name="New thread").click()  # from there: the chat
    page.wait_for_url(lambda url: "/inspector" not in url)
    page.get_by_text("Try one of these").wait_for()
    page.reload()
    page.get_by_text("Try one of these").wait_for()
    expect(thread_rows(page)).to_have_count(before)
    assert "thread=" not in page.url


@pytest.mark.parametrize("width", [1280, 400])
def test_the_first_message_creates_one_thread_and_the_url_gets_it(open_page, app_url, width):
    question = f"What is a checkpoint namespace ({width} px)?"
    page = open_page(app_url, width=width)
    page.get_by_text("Try one of these").wait_for()
    if width > 700:  # at 400 px the sidebar is folded away: a fresh page is the new chat
        new_thread(page)
    before = thread_rows(page).count()
    expect(main(page).get_by_text("nothing is saved until you send")).to_be_visible()
    expect(chat_input(page)).to_have_attribute("placeholder", "Ask anything")
    page.mouse.move(width - 5, 5)  # no tooltip left over the picture
    THREAD_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(THREAD_SHOTS / f"chat-before-first-message-{width}.png"))
    send(page, question)
    page.wait_for_url(re.compile(r"[?&]thread="))
    continue_button(page).wait_for()
    expect(thread_rows(page)).to_have_count(before + 1)
    expect(thread_button(page, question)).to_be_visible()
    page.screenshot(path=str(THREAD_SHOTS / f"chat-after-first-message-{width}.png"))
    thread_id = thread_of(page)
    page.reload()  # the link reopens it
    expect(main(page).get_by_role("heading", name=question)).to_be_visible()
    assert thread_of(page) == thread_id


def test_a_refused_first_message_leaves_no_thread(open_page, app_url):
    page = open_page(app_url)
    page.get_by_text("Try one of these").wait_for()
    before = thread_rows(page).count()
    send(page, "x" * 20_001)  # over the 20,000-character limit: refused before any run
    expect(main(page).get_by_test_id("stAlert").first).to_contain_text("20,000")
    expect(main(page).get_by_text("Your message was not sent")).to_be_visible()
    expect(thread_rows(page)).to_have_count(before)
    assert "thread=" not in page.url


def test_replay_and_regenerate_number_versions_oldest_first(open_page, app_url):
    """A Replay's answer is the newest version (`2 / 2`, as after an Edit), a Regenerate's the
    next (`3 / 3`), each worded differently; going back shows `1 / 3`, the first answer."""
    from tests.test_browser_inspector import PREVIOUS, answered_thread, open_inspector, pick

    page = open_page(app_url)
    answered_thread(page, "What is the checkpointer of a graph?")
    first = plain(user_text(bubbles(page).last).inner_text())
    open_inspector(page)
    pick(page, "action returned")  # the search's result is in, the model is next
    main(page).get_by_role("button", name="Replay").click()
    page.wait_for_url(lambda url: "/inspector" not in url)
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    expect(versions_of(bubbles(page).last)).to_have_text("2 / 2")
    replayed = plain(user_text(bubbles(page).last).inner_text())
    bubbles(page).last.get_by_role("button", name="Regenerate").click()
    expect(versions_of(bubbles(page).last)).to_have_text("3 / 3")
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    regenerated = plain(user_text(bubbles(page).last).inner_text())
    assert len({first, replayed, regenerated}) == 3, "a new version repeated an older answer"
    for label in ("2 / 3", "1 / 3"):
        bubbles(page).last.get_by_role("button", name=PREVIOUS).click()
        expect(versions_of(bubbles(page).last)).to_have_text(label)
    assert plain(user_text(bubbles(page).last).inner_text()) == first


def versions_of(bubble):
    """The `< n / m >` caption under a chat message."""
    return bubble.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(r"^\d+ / \d+$"))
