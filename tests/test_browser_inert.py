"""Untrusted text makes the browser fetch nothing: the real app in Chromium, watched by a counter.

A tiny HTTP server on 127.0.0.1 counts every request it gets, and payloads pointing at it are
planted wherever untrusted text reaches a page: your question (so also the thread's title and the
tool call's arguments), a search result's title and snippet (a file under WAYPOINT_DOCS), the text
given with "Answer instead" (the demo model quotes it), the model's answers (they quote the
results), and an imported thread whose title, answer (every payload of tests/test_safe_text.py),
tool call, search result and Inspector labels hold more. The Chat and Inspector pages are opened on
each, with their cards, tabs and editor open, and the counter must have seen nothing but the
control image the test adds after each step: the control proves the counter would have seen the
rest (an image added last is asked for after the ones before it). Then a thread holding a 1 MB tool
result: the page's HTML stays under 200 KB, and the whole result downloads.
"""

from __future__ import annotations

import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.protocol import LOCAL_USER

playwright = pytest.importorskip("playwright.sync_api")

from agent.backend import LocalBackend  # noqa: E402
from agent.settings import Settings  # noqa: E402
from agent.transfer import export_thread, import_thread  # noqa: E402
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
from tests.test_inert_pages import plant, search_output  # noqa: E402
from tests.test_safe_text import payloads  # noqa: E402

SHOTS = Path("/tmp/e2e-shots")
HUGE_LINES = 30_000  # about 1.2 MB
PAGE_HTML_BYTES = 200_000
# Attributes that make the browser load what they name, naming the leak address.
LOADERS = """
([leak, control]) => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
  .filter(a => ['src', 'srcset', 'poster', 'data', 'style', 'background', 'xlink:href']
    .includes(a.name) || (a.name === 'href' && ['LINK', 'image', 'use'].includes(e.tagName)))
  .filter(a => a.value.includes(leak) && !a.value.includes(control))
  .map(a => `<${e.tagName.toLowerCase()} ${a.name}="${a.value.slice(0, 80)}">`))
"""


class Counter:
    """An HTTP server on loopback that records the path of every request it gets."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.seen = threading.Condition()
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with counter.seen:
                    counter.paths.append(self.path)
                    counter.seen.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.controls = 0

    def leaks(self) -> list[str]:
        with self.seen:
            return [p for p in self.paths if not p.startswith("/control-")]

    def assert_nothing_fetched(self, page, step: str) -> None:
        """Add a control image to the page and wait for it: by then anything the page asked for
        before has arrived too. Nothing but the control may have."""
        idle(page)  # every fragment drawn (the sidebar's thread list is one)
        self.controls += 1
        control = f"/control-{self.controls}"
        page.evaluate(
            "url => { const i = new Image(); i.src = url; document.body.appendChild(i); }",
            self.url + control,
        )
        with self.seen:
            assert self.seen.wait_for(lambda: control in self.paths, 10), "the control never came"
        assert not self.leaks(), f"after {step}, the page fetched {self.leaks()}"
        # And nothing waits to fetch later (a lazy image, a style): no loading attribute names it.
        loaders = page.evaluate(LOADERS, [self.url + "/leak", control])
        assert not loaders, f"after {step}, the page holds {loaders}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def counter():
    server = Counter()
    yield server
    server.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, counter, browser):
    """The app, on a database that already holds an imported thread full of payloads and a
    thread with a 1 MB tool result, and with a documents folder whose file holds more."""
    data = tmp_path_factory.mktemp("inert")
    leak = counter.url + "/leak"
    docs = data / "docs"
    docs.mkdir()
    (docs / "zebra.md").write_text(
        f"# Zebra stripes ![doc title]({leak}/doc-title.png) :material/skull:\n\n"
        f"Zebra stripes confuse biting flies. ![doc snippet]({leak}/doc-snippet.png) "
        f'<img src="{leak}/doc-html.png"> Each zebra has its own stripes.\n'
    )
    backend = LocalBackend(Settings(db_path=data / "app.sqlite", demo_token_delay=0))
    try:
        source = plant(
            backend,
            search_output(f"![result]({leak}/imported-result.png)"),
            "\n\n".join(payloads(leak)),
            title=f"![t]({leak}/title.png) :material/skull:",
            leak=leak,
        )
        imported = import_thread(
            backend, LOCAL_USER, "".join(export_thread(backend, LOCAL_USER, source))
        ).id
        backend.delete_thread(LOCAL_USER, source)
        huge = "".join(f"line {n:07d} of a very long tool result\n" for n in range(HUGE_LINES))
        huge_id = plant(backend, huge, "A short answer.", title="Huge result", leak=leak)
    finally:
        backend.close()
    with running_app(
        data, {"WAYPOINT_DOCS": str(docs), "WAYPOINT_DEMO_TOKEN_DELAY": "0.002"}
    ) as url:
        warm_up(browser, url)
        yield {"url": url, "leak": leak, "imported": imported, "huge": (huge_id, huge)}


def warm_up(browser, url: str) -> None:
    """The first page of a fresh server imports the whole engine: on a loaded machine that can
    take longer than a test's waits, so it is done once here, with time to spare."""
    page = browser.new_page()
    try:
        page.goto(url)
        page.get_by_text("Try one of these").wait_for(timeout=4 * WAIT_MS)
    finally:
        page.close()


def open_cards(page) -> None:
    """Open every folded card (tool calls, the editor) on the page, one at a time, each until its
    opening animation is over (a click during it would fold it again)."""
    cards = main(page).get_by_test_id("stExpander")
    for index in range(cards.count()):
        card = cards.nth(index)
        if not card.is_visible() or card.locator("details[open]").count():
            continue
        card.locator("summary").first.click()
        card.locator("details[open]:not([style*='height'])").wait_for(state="attached")
    idle(page)


def thread_of(page) -> str:
    found = re.search(r"thread=([\w-]+)", page.url)
    assert found, page.url
    return found[1]


def open_inspector(page, url: str, thread_id: str) -> None:
    page.goto(f"{url}/inspector?thread={thread_id}")
    expect(main(page).get_by_role("heading", name="Timeline")).to_be_visible()
    every_tab(page)


def every_tab(page) -> None:
    """Show each tab of the checkpoint in turn, and open the editor."""
    for name in ("Changes", "State (JSON)", "Metadata and writes", "Messages"):
        main(page).get_by_role("tab", name=name).click()
        expect(main(page).get_by_role("tabpanel", name=name)).to_be_visible()
    open_cards(page)


def shoot(page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def ask(page, leak: str, question: str) -> None:
    """On a fresh page: ask, and wait for the approval panel."""
    page.get_by_text("Try one of these").wait_for()
    send(page, f"{question} ![question]({leak}/question.png) :material/skull:")
    main(page).get_by_role("button", name="Continue").wait_for()


def last_bubble(page):
    return main(page).get_by_test_id("stChatMessage").last


def answered(page, text: str) -> None:
    expect(last_bubble(page)).to_contain_text(text)
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    open_cards(page)


def test_a_question_and_the_search_results_it_finds_fetch_nothing(open_page, site, counter):
    page = open_page(site["url"])
    page.get_by_text("Try one of these").wait_for()
    counter.assert_nothing_fetched(page, "the sidebar listed the imported thread")
    # Your question is also the thread's title and the tool call's arguments.
    ask(page, site["leak"], "Tell me about zebra stripes")
    open_cards(page)
    counter.assert_nothing_fetched(page, "the question halted for approval")
    # Approved: the search finds the planted document; the answer quotes its title and snippet.
    main(page).get_by_role("button", name="Continue").click()
    answered(page, "biting flies")
    counter.assert_nothing_fetched(page, "the answer from the planted document")
    open_inspector(page, site["url"], thread_of(page))
    counter.assert_nothing_fetched(page, "the Inspector on that thread")


def test_an_answer_given_instead_of_the_tool_fetches_nothing(open_page, site, counter):
    leak = site["leak"]
    page = open_page(site["url"])
    ask(page, leak, "Tell me about zebra hooves")
    main(page).get_by_test_id("stRadioGroup").first.get_by_text("Answer instead").click()
    box = main(page).get_by_role("textbox", name="The tool's answer")
    box.fill(f"Hooves ![given]({leak}/answer-instead.png) <img src={leak}/answer-html.png>")
    box.press("Tab")
    expect(main(page).get_by_role("button", name="Continue")).to_be_enabled()
    main(page).get_by_role("button", name="Continue").click()
    answered(page, "I received")  # the model quotes what you gave
    counter.assert_nothing_fetched(page, "the answer quoting 'Answer instead'")


def test_an_imported_thread_full_of_payloads_fetches_nothing(open_page, site, counter, tmp_path):
    url = site["url"]
    page = open_page(f"{url}/?thread={site['imported']}")
    idle(page)
    counter.assert_nothing_fetched(page, "the imported thread opened")
    answered(page, "quote")  # every payload of tests/test_safe_text.py, drawn
    expect(last_bubble(page)).to_contain_text("image: inline")  # an image drawn as a link
    counter.assert_nothing_fetched(page, "the imported thread in the chat")
    shoot(page, tmp_path / "inert-chat-1280.png")
    page.set_viewport_size({"width": 400, "height": 900})
    assert no_horizontal_overflow(page)
    shoot(page, tmp_path / "inert-chat-400.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    open_inspector(page, url, site["imported"])
    main(page).get_by_role("button", name=re.compile("forked from")).first.click()
    page.wait_for_url(re.compile(r"[?&]checkpoint="))
    idle(page)
    every_tab(page)
    counter.assert_nothing_fetched(page, "the imported thread in the Inspector")


def test_a_huge_tool_result_keeps_the_page_small_and_downloads_whole(open_page, site, tmp_path):
    thread_id, huge = site["huge"]
    page = open_page(f"{site['url']}/?thread={thread_id}")
    expect(main(page).get_by_text("A short answer.")).to_be_visible()
    open_cards(page)
    assert len(page.content().encode()) < PAGE_HTML_BYTES
    expect(main(page).get_by_text("of 1,", exact=False).first).to_be_visible()  # "Showing …"
    with page.expect_download() as download:
        main(page).get_by_role("button", name="Download all").first.click()
    saved = tmp_path / "all.txt"
    download.value.save_as(saved)
    assert saved.read_text() == huge

    open_inspector(page, site["url"], thread_id)
    for name in ("State (JSON)", "Changes", "Messages"):
        main(page).get_by_role("tab", name=name).click()
        idle(page)
        assert len(page.content().encode()) < PAGE_HTML_BYTES, name
