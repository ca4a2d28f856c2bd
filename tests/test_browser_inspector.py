"""The Inspector and the chat's branches end to end: the real app under `streamlit run`, clicked in
headless Chromium on the offline defaults (demo model, offline search, approval policy "ask").

The timeline grouped by run and a checkpoint's tabs, editing a message as a fork, an edited tool
call's arguments word by word, the graph filtering the timeline and the fork tree picking a
checkpoint (at 1280 and 400 px), replay into the approval panel, fork to a new thread, edit / regenerate / switch versions in the chat, export and
re-import (and a bad file), and screenshots at 1280 and 400 px. One app server serves the module;
each test works on its own fresh thread, asking a question no other test asks. Every wait is on
something visible, with a timeout.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import (  # noqa: E402
    LIVE_STOP,
    expect,
    idle,
    main,
    no_horizontal_overflow,
    send,
)

SHOTS = Path("/tmp/e2e-inspector")  # copies of the screenshots, for a human to look at
ROWS = '[class*="st-key-cp_"] button'  # the timeline's rows (keys cp_<checkpoint id>)
ASKED = "llm asked web_search("
EDIT_EXPANDER = "Edit a message here (creates a fork)"
PREVIOUS = re.compile("chevron_left")  # the switcher's "previous version" button (an icon only)
FORK_NOTICE = "The chat now shows this fork"


# --- server and helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """One app for the module; tests keep apart by working on fresh threads."""
    with running_app(tmp_path_factory.mktemp("app"), {"WAYPOINT_DEMO_TOKEN_DELAY": "0.005"}) as url:
        yield url


def sidebar(page):
    return page.get_by_test_id("stSidebar")


def bubbles(page):
    return main(page).get_by_test_id("stChatMessage")


def thread_of(page) -> str:
    return parse_qs(urlparse(page.url).query)["thread"][0]


def checkpoint_of(page) -> str | None:
    return parse_qs(urlparse(page.url).query).get("checkpoint", [None])[0]


def thread_button(page, title: str):
    """The sidebar entry for a thread: its label starts with the title, then time and badge."""
    return sidebar(page).get_by_role("button", name=re.compile("^" + re.escape(title)))


def approve_and_wait(page) -> None:
    """Continue (Approve is the default decision); wait for the cited answer and the run's end."""
    main(page).get_by_role("button", name="Continue").click()
    expect(bubbles(page).last).to_contain_text("Sources")
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    expect(main(page).get_by_role("button", name="Regenerate").last).to_be_visible()


def answered_thread(page, question: str) -> str:
    """On a fresh page: ask, wait for the approval panel, approve, wait for the answer."""
    page.get_by_text("Try one of these").wait_for()
    send(page, question)
    page.wait_for_url(re.compile(r"[?&]thread="))
    main(page).get_by_role("button", name="Continue").wait_for()
    approve_and_wait(page)
    return thread_of(page)


def open_inspector(page) -> None:
    """Go to the Inspector through the sidebar's navigation link, as a user would."""
    thread_id = thread_of(page)
    sidebar(page).get_by_test_id("stSidebarNavLink").filter(has_text="Inspector").click()
    page.wait_for_url(re.compile(r"/inspector\?.*thread=" + re.escape(thread_id)))
    expect(main(page).get_by_role("heading", name="Timeline")).to_be_visible()
    expect(main(page).locator(ROWS).first).to_be_visible()


def rows(page):
    return main(page).locator(ROWS)


def row(page, text: str):
    return rows(page).filter(has_text=text)


def open_expander(page, label: str):
    """Open an expander and wait until its opening animation is over (until then the expander
    has an inline height; a selectbox clicked during it opens its list and closes it at once)."""
    expander = main(page).get_by_test_id("stExpander").filter(has_text=label)
    expander.get_by_text(label, exact=True).click()
    expander.locator("details[open]:not([style*='height'])").wait_for(state="attached")
    return expander


def pick(page, text: str) -> str:
    """Click the timeline row containing `text`; wait until it is the one shown; return its id."""
    target = row(page, text)
    expect(target).to_have_count(1)
    key = target.locator("xpath=ancestor::*[contains(@class, 'st-key-cp_')][1]").get_attribute(
        "class"
    )
    checkpoint = re.search(r"st-key-cp_(\S+)", key)[1]
    step = re.search(r"(-?\d+) · (\w+)", target.inner_text())
    target.click()
    page.wait_for_url(re.compile(r"[?&]checkpoint=" + re.escape(checkpoint)))
    expect(main(page).get_by_role("heading", name=f"Step {step[1]} · {step[2]}")).to_be_visible()
    # The picked row is boxed: found by its checkpoint, as a label's words may recur once drawn.
    picked = main(page).locator(f".st-key-cp_{checkpoint} button")
    expect(picked).to_have_attribute("data-testid", "stBaseButton-secondary")
    idle(page)
    return checkpoint


def graph_node(page, name: str):
    """A node of the Inspector's graph (an SVG group the diagram component draws)."""
    return main(page).locator(f'.st-key-graph g.box[data-id="{name}"]')


def tree_node(page, checkpoint_id: str):
    return main(page).locator(f'.st-key-tree g.box[data-id="{checkpoint_id}"]')


def checkpoint_count(page) -> int:
    caption = main(page).get_by_text(re.compile(r"^[\d,]+ checkpoints? · "))
    expect(caption).to_be_visible()
    return int(caption.inner_text().split(" ")[0].replace(",", ""))


def tab(page, name: str):
    """Open one of the checkpoint's tabs; return its panel."""
    main(page).get_by_role("tab", name=name).click()
    panel = main(page).get_by_role("tabpanel", name=name)
    expect(panel).to_be_visible()
    return panel


# The height of the page's content: Streamlit scrolls inside its main area, not the document.
SCROLL_HEIGHT = """
Math.max(...['stMain', 'stAppScrollToBottomContainer', 'stAppViewContainer']
  .map(id => document.querySelector(`[data-testid="${id}"]`)?.scrollHeight || 0))
"""


def shoot(page, path: Path) -> None:
    """A screenshot of the whole page (the viewport grown to Streamlit's scrolling main area, then
    put back), saved at `path` and copied to SHOTS."""
    size = page.viewport_size
    height = page.evaluate(SCROLL_HEIGHT)
    tall = max(size["height"], min(height, 8000))
    page.set_viewport_size({"width": size["width"], "height": tall})
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


# --- 1. the timeline and one checkpoint's tabs ----------------------------------------------------


def test_timeline_groups_runs_and_a_checkpoint_shows_in_every_tab(open_page, app_url):
    question = "How does LangGraph persistence work?"
    page = open_page(app_url)
    answered_thread(page, question)
    open_inspector(page)

    expect(main(page).get_by_text("Run 1", exact=True)).to_be_visible()
    expect(main(page).get_by_text("Run 2", exact=True)).to_be_visible()
    # Asked (input), message added, llm asked the tool (halt), action ran, llm answered.
    expect(rows(page)).to_have_count(5)
    assert checkpoint_count(page) == 5
    expect(rows(page).first).to_contain_text("llm answered")  # newest first
    expect(rows(page).first).to_contain_text("shown in chat")
    expect(rows(page).last).to_contain_text(f"you asked “{question}”")
    expect(row(page, ASKED)).to_contain_text("web_search('LangGraph persistence')")
    # Run 1 holds the question and the halt; Run 2 the approved tool and the answer.
    headers = "[data-testid='stMarkdownContainer'] strong"
    order = main(page).locator(f"{ROWS}, {headers}").all_inner_texts()  # in page order
    order = [t for t in order if t.startswith("Run ") or "·" in t]
    runs = [i for i, t in enumerate(order) if t.startswith("Run ")]
    assert [order[i] for i in runs] == ["Run 2", "Run 1"], order
    assert "llm answered" in "".join(order[runs[0] : runs[1]])
    assert ASKED in "".join(order[runs[1] :]) and "you asked" in "".join(order[runs[1] :])
    # With nothing picked the head (the answer) is shown.
    expect(main(page).get_by_role("heading", name=re.compile(r"^Step 3 · loop"))).to_be_visible()

    pick(page, ASKED)
    expect(main(page).get_by_role("heading", name="Step 1 · loop")).to_be_visible()
    for name in ("Messages", "Changes", "State (JSON)", "Metadata and writes"):
        expect(main(page).get_by_role("tab", name=name)).to_be_visible()

    messages = tab(page, "Messages")
    expect(messages.get_by_test_id("stChatMessage")).to_have_count(2)  # question, the call
    expect(messages).to_contain_text(question)
    expect(messages).to_contain_text("A run from here would ask for approval of")
    expect(messages).not_to_contain_text("Sources")  # the answer came later

    changes = tab(page, "Changes")
    expect(changes).to_contain_text("Let me search for “LangGraph persistence”.")  # added here
    expect(changes.get_by_test_id("stAlertContentSuccess")).to_have_count(1)

    state = tab(page, "State (JSON)")
    expect(state.get_by_test_id("stJson")).to_be_visible()
    expect(state).to_contain_text('"messages"')
    state.locator(".node-ellipsis").first.click()  # open the collapsed message list
    expect(state.locator(".node-ellipsis")).to_have_count(2)  # the question and the call
    state.locator(".node-ellipsis").last.click()  # open the call: {"type": "ai", "data": {...}}
    expect(state).to_contain_text('"ai"')
    state.locator(".node-ellipsis").last.click()  # open its data
    expect(state).to_contain_text('"tool_calls"')

    meta = tab(page, "Metadata and writes")
    expect(meta).to_contain_text("Checkpoint id")
    expect(meta).to_contain_text(checkpoint_of(page))
    expect(meta).to_contain_text("Next action")
    expect(meta).to_contain_text("Interrupt")  # the approval the run asked for here

    # The graph marks where this checkpoint stands: llm wrote it, action runs next.
    expect(graph_node(page, "llm")).to_have_class(re.compile(r"\bwrote\b"))
    expect(graph_node(page, "action")).to_have_class(re.compile(r"\bnext\b"))
    expect(graph_node(page, "action")).to_contain_text("asks approval first")


# --- 2. edit a message as a fork ------------------------------------------------------------------


def test_editing_a_message_saves_a_fork_and_leaves_the_original(open_page, app_url):
    question, edited = "How do threads work in LangGraph?", "How does streaming work in LangGraph?"
    page = open_page(app_url)
    answered_thread(page, question)
    open_inspector(page)
    before = checkpoint_count(page)
    original = pick(page, "llm answered")

    open_expander(page, EDIT_EXPANDER)
    picker = main(page).get_by_test_id("stSelectbox").filter(has_text="Message")
    combobox = picker.get_by_role("combobox", name="Message")
    # Pressed for a moment, as a hand does: an instant press opens the list and closes it again.
    combobox.click(delay=120)
    expect(page.get_by_role("option")).to_have_count(4)  # question, call, result, answer
    page.get_by_role("option", name=re.compile(r"^1 · human · ")).click()
    expect(picker.get_by_role("combobox", name="Message")).to_have_value(
        re.compile(r"^1 · human · " + re.escape(question))
    )
    text = main(page).get_by_role("textbox", name="Text")
    expect(text).to_have_value(question)
    text.fill(edited)
    text.press("Control+Enter")  # commit the text area
    main(page).get_by_role("button", name="Save as a fork").click()

    expect(main(page).get_by_text(FORK_NOTICE)).to_be_visible()
    expect(rows(page)).to_have_count(before + 1)
    assert checkpoint_count(page) == before + 1
    fork = checkpoint_of(page)
    assert fork and fork != original
    edit_row = row(page, "you edited message 1")
    expect(edit_row).to_have_count(1)
    expect(edit_row).to_contain_text("update")
    expect(main(page).get_by_role("heading", name=re.compile(r"· update$"))).to_be_visible()
    messages = tab(page, "Messages")
    expect(messages.get_by_test_id("stChatMessage").first).to_contain_text(edited)
    changes = tab(page, "Changes")  # word by word: only what the edit changed is marked
    expect(changes).to_contain_text("human message changed")
    expect(changes.locator("del").filter(has_text="do threads")).to_have_count(1)  # before
    expect(changes.locator("strong").filter(has_text="does streaming")).to_have_count(1)  # after
    expect(changes).to_contain_text("does streaming work in LangGraph?")

    pick(page, "llm answered")
    assert checkpoint_of(page) == original
    messages = tab(page, "Messages")
    expect(messages.get_by_test_id("stChatMessage").first).to_contain_text(question)
    expect(messages).not_to_contain_text(edited)


# --- 2b. an edited tool call, word by word; the graph and the tree as navigation ------------------


def edit_tool_args(page, args: dict) -> None:
    """In the Edit expander of the picked checkpoint: the call's arguments replaced, saved."""
    open_expander(page, EDIT_EXPANDER)
    combobox = main(page).get_by_role("combobox", name="Message")
    combobox.click(delay=120)
    page.get_by_role("option", name=re.compile(r"^2 · ai · ")).click()
    box = main(page).get_by_role("textbox", name="Arguments (JSON)")
    expect(box).to_have_value(re.compile('"query"'))
    box.fill(json.dumps(args))
    box.press("Control+Enter")
    main(page).get_by_role("button", name="Save as a fork").click()
    expect(main(page).get_by_text(FORK_NOTICE)).to_be_visible()


@pytest.mark.parametrize("width", [1280, 400])
def test_an_edited_call_shows_word_by_word_and_the_graph_and_tree_navigate(
    open_page, app_url, data_dir, width
):
    question = f"How does the LangGraph checkpointer work at {width} px?"
    page = open_page(app_url, width=width)
    thread_id = answered_thread(page, question)
    if width < 640:  # the sidebar is folded away on a phone: open the Inspector by its link
        page.goto(f"{app_url}/inspector?thread={thread_id}")
        expect(main(page).locator(ROWS).first).to_be_visible()
    else:
        open_inspector(page)
    asked = pick(page, ASKED)
    edit_tool_args(page, {"query": "LangGraph :red[time] travel ![x](http://127.0.0.1:9/x.png)"})
    fork = checkpoint_of(page)
    assert fork != asked

    changes = tab(page, "Changes")
    expect(changes).to_contain_text("ai message changed")
    expect(changes).to_contain_text("web_search · query")
    # Struck through, on red: the old query's words but the one both share (the legend's
    # "removed" aside).
    removed = changes.locator("del").filter(has_not_text=re.compile("^removed$"))
    expect(removed.first).to_be_visible()
    gone = " ".join(removed.all_inner_texts())
    assert "checkpointer" in gone and "LangGraph" not in gone, gone
    added = changes.locator("strong").filter(has_text="travel")  # bold, on green
    expect(added).to_have_text(":red[time] travel ![x](http://127.0.0.1:9/x.png)")  # as typed
    expect(changes.locator("img")).to_have_count(0)
    shoot(page, data_dir / f"inspector-word-diff-{width}.png")

    # The graph: the fork was written as llm (update_state, as_node="llm"); action runs next.
    expect(graph_node(page, "llm")).to_have_class(re.compile(r"\bwrote\b"))
    expect(graph_node(page, "action")).to_have_class(re.compile(r"\bnext\b"))
    total = checkpoint_count(page)
    graph_node(page, "action").click()
    page.wait_for_url(re.compile(r"[?&]node=action"))
    expect(
        main(page).get_by_text("The timeline lists only the checkpoints action wrote.")
    ).to_be_visible()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("action returned 1 result")
    expect(graph_node(page, "action")).to_have_class(re.compile(r"\bfilter\b"))
    shoot(page, data_dir / f"inspector-filtered-{width}.png")
    graph_node(page, "action").click()  # again: everything
    page.wait_for_url(lambda url: "node=" not in url)
    expect(rows(page)).to_have_count(total)

    # The tree (the edit made a second branch): a click on a dot picks that checkpoint.
    open_expander(page, "Tree: where history forks")
    expect(tree_node(page, fork)).to_have_class(re.compile(r"\bpicked\b"))
    tree_node(page, asked).click()
    page.wait_for_url(re.compile(r"[?&]checkpoint=" + re.escape(asked)))
    expect(main(page).get_by_role("heading", name="Step 1 · loop")).to_be_visible()
    expect(tree_node(page, asked)).to_have_class(re.compile(r"\bpicked\b"))
    expect(tree_node(page, asked)).to_contain_text("1 · llm asked web_search")
    assert no_horizontal_overflow(page)
    shoot(page, data_dir / f"inspector-tree-{width}.png")


# --- 3. replay ------------------------------------------------------------------------------------


def test_replay_from_a_halt_asks_before_the_tool_runs(open_page, app_url):
    question = "What is time travel in LangGraph?"
    page = open_page(app_url)
    thread_id = answered_thread(page, question)
    open_inspector(page)
    before = checkpoint_count(page)
    pick(page, ASKED)
    replay = main(page).get_by_role("button", name="Replay")
    expect(replay).to_be_enabled()
    replay.click()

    page.wait_for_url(lambda url: "/inspector" not in url)
    assert thread_of(page) == thread_id
    expect(main(page).get_by_role("button", name="Continue")).to_be_visible()
    # The tool's card, not the run record (its steps name the call too).
    card = (
        main(page)
        .get_by_test_id("stExpander")
        .filter(has_text="web_search(")
        .filter(has_not_text="Run record:")
    )
    expect(card).to_contain_text("waiting for approval")  # the tool did not run unasked
    expect(bubbles(page)).to_have_count(2)  # the question and the call: the old answer is not shown
    expect(main(page)).not_to_contain_text("Sources")

    approve_and_wait(page)
    expect(card).to_contain_text("· done")
    expect(bubbles(page)).to_have_count(3)
    expect(bubbles(page).last).to_contain_text("Here is what I found for")

    open_inspector(page)
    assert checkpoint_count(page) > before  # the replay added a branch; nothing was overwritten
    expect(main(page).get_by_text(re.compile(r"· 2 branches · "))).to_be_visible()


# --- 4. fork to a new thread ----------------------------------------------------------------------


def test_fork_thread_opens_a_copy_and_leaves_the_original(open_page, app_url):
    question = "What are reducers in LangGraph?"
    page = open_page(app_url)
    thread_id = answered_thread(page, question)
    open_inspector(page)
    before = checkpoint_count(page)
    pick(page, "llm answered")
    main(page).get_by_role("button", name="Fork thread").click()

    page.wait_for_url(lambda url: "/inspector" not in url and thread_id not in url)
    copy_id = thread_of(page)
    title = f"Fork of {question}"
    expect(main(page).get_by_role("heading", name=title)).to_be_visible()
    expect(thread_button(page, title)).to_be_visible()
    expect(bubbles(page)).to_have_count(3)  # the whole answered conversation was copied
    expect(bubbles(page).last).to_contain_text("Sources")

    thread_button(page, question).click()
    page.wait_for_url(re.compile("thread=" + re.escape(thread_id)))
    expect(main(page).get_by_role("heading", name=question)).to_be_visible()
    expect(bubbles(page)).to_have_count(3)
    expect(bubbles(page).last).to_contain_text("Sources")
    open_inspector(page)
    assert checkpoint_count(page) == before
    assert copy_id != thread_id

    thread_button(page, title).click()  # the fork's past: the steps that led to the fork point
    page.wait_for_url(re.compile("thread=" + re.escape(copy_id)))
    open_inspector(page)
    assert checkpoint_count(page) == before + 1
    expect(row(page, f"forked from “{question}”")).to_have_count(1)
    expect(row(page, "llm answered")).to_have_count(1)


# --- 5. branches in the chat ----------------------------------------------------------------------


def switcher(bubble):
    """The `< n / m >` caption under a chat message."""
    return bubble.get_by_test_id("stCaptionContainer").filter(has_text=re.compile(r"^\d+ / \d+$"))


def test_chat_branches_edit_switch_reload_and_regenerate(open_page, app_url):
    question, edited = "What is human in the loop in LangGraph?", "How does tool calling work?"
    page = open_page(app_url)
    answered_thread(page, question)
    first_answer = bubbles(page).last.get_by_test_id("stMarkdown").first.inner_text()

    asked = bubbles(page).first
    asked.get_by_role("button", name="Edit").click()
    box = page.get_by_test_id("stPopoverBody").get_by_role("textbox", name="Your message")
    expect(box).to_have_value(question)
    box.fill(edited)
    box.press("Control+Enter")
    page.get_by_test_id("stPopoverBody").get_by_role("button", name="Send").click()
    main(page).get_by_role("button", name="Continue").wait_for()  # the new question searches too
    approve_and_wait(page)

    asked = bubbles(page).first
    expect(asked).to_contain_text(edited)
    expect(switcher(asked)).to_have_text("2 / 2")
    expect(bubbles(page).last).to_contain_text("tool calling")
    asked.get_by_role("button", name=PREVIOUS).click()
    expect(switcher(bubbles(page).first)).to_have_text("1 / 2")
    expect(bubbles(page).first).to_contain_text(question)
    expect(bubbles(page).last).to_contain_text("human in the loop")
    expect(main(page)).not_to_contain_text(edited)

    page.reload()
    expect(switcher(bubbles(page).first)).to_have_text("1 / 2")  # the choice is the thread's
    expect(bubbles(page).first).to_contain_text(question)
    expect(bubbles(page).last).to_contain_text(first_answer)

    bubbles(page).last.get_by_role("button", name="Regenerate").click()
    expect(switcher(bubbles(page).last)).to_have_text("2 / 2")
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    expect(bubbles(page).last).to_contain_text("Sources")
    expect(switcher(bubbles(page).first)).to_have_text("1 / 2")  # the question's choice stays
    bubbles(page).last.get_by_role("button", name=PREVIOUS).click()
    expect(switcher(bubbles(page).last)).to_have_text("1 / 2")


# --- 6. export and import -------------------------------------------------------------------------


def transfer_panel(page):
    return main(page).get_by_test_id("stExpander").filter(has_text="Export or import")


def export(page, data_dir: Path) -> Path:
    """Open "Export or import", click "Export this thread", save the download in `data_dir`."""
    panel = open_expander(page, "Export or import")
    with page.expect_download() as download_info:
        panel.get_by_role("button", name="Export this thread").click()
    download = download_info.value
    path = data_dir / download.suggested_filename
    download.save_as(path)
    return path


def import_file(page, path: Path) -> None:
    """Choose `path` in the (open) panel's uploader and click "Import as a new thread"."""
    panel = transfer_panel(page)
    panel.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(path)
    expect(panel.get_by_role("button", name=f"Remove {path.name}")).to_be_visible()
    panel.get_by_role("button", name="Import as a new thread").click()


def sidebar_threads(page):
    return sidebar(page).locator('[class*="st-key-thread_"] button')


def test_export_then_import_as_a_new_thread_and_a_bad_file_is_refused(open_page, app_url, data_dir):
    question = "How does durability work in LangGraph?"
    page = open_page(app_url)
    thread_id = answered_thread(page, question)
    open_inspector(page)
    count = checkpoint_count(page)
    listed = sidebar_threads(page).count()
    assert listed >= 1

    exported = export(page, data_dir)
    assert exported.name.endswith(".jsonl") and exported.stat().st_size > 0
    lines = exported.read_text().splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)

    # A file that is not an export: a clear reason, and nothing is written.
    bad = data_dir / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    import_file(page, bad)
    error = transfer_panel(page).get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("not a Waypoint thread file")
    expect(error).to_contain_text("Export")  # says what file to choose instead
    assert thread_of(page) == thread_id
    expect(sidebar_threads(page)).to_have_count(listed)
    expect(sidebar(page).get_by_text("(imported)")).to_have_count(0)

    # The export itself: a new thread with the same checkpoints; the original stays.
    import_file(page, exported)
    page.wait_for_url(lambda url: "thread=" in url and thread_id not in url)
    title = f"{question} (imported)"
    expect(thread_button(page, title)).to_be_visible()
    expect(sidebar_threads(page)).to_have_count(listed + 1)
    expect(main(page).get_by_text(f"Thread “{title}”")).to_be_visible()
    expect(rows(page)).to_have_count(count)
    assert checkpoint_count(page) == count
    expect(rows(page).first).to_contain_text("llm answered")
    expect(rows(page).last).to_contain_text(f"you asked “{question}”")
    expect(main(page).get_by_text("Run 2", exact=True)).to_be_visible()


def test_a_successful_import_says_what_it_imported(open_page, app_url, data_dir):
    page = open_page(app_url)
    page.get_by_text("Try one of these").wait_for()
    send(page, "hi there")  # a greeting: one run, no tool call
    page.wait_for_url(re.compile(r"[?&]thread="))
    expect(bubbles(page).last).to_contain_text("offline demo model")
    main(page).locator(LIVE_STOP).wait_for(state="detached")
    open_inspector(page)
    exported = export(page, data_dir)
    import_file(page, exported)
    expect(thread_button(page, "hi there (imported)")).to_be_visible()
    notice = main(page).get_by_text("Imported as “hi there (imported)”")
    expect(notice).to_be_visible(timeout=5_000)  # the import is done: the notice is due now


# --- 7. screenshots -------------------------------------------------------------------------------


def test_screenshots_of_a_selected_checkpoint_at_1280_and_400_px(open_page, app_url, data_dir):
    page = open_page(app_url)
    answered_thread(page, "How does checkpointing work in LangGraph?")
    open_inspector(page)
    pick(page, ASKED)
    url = page.url
    assert no_horizontal_overflow(page)
    shoot(page, data_dir / "inspector-1280.png")

    # Rows read from the left: each row's text starts at its button's left edge.
    edges = row(page, ASKED).evaluate(
        "b => [b.getBoundingClientRect().left, b.querySelector('p').getBoundingClientRect().left]"
    )
    assert edges[1] - edges[0] < 24, edges

    narrow = open_page(url, width=400)
    heading = main(narrow).get_by_role("heading", name="Step 1 · loop")
    expect(heading).to_be_visible()
    expect(row(narrow, ASKED)).to_be_visible()
    graph_node(narrow, "llm").wait_for()
    # On a narrow screen the detail comes first: no scrolling past the graph and the rows.
    top = heading.evaluate("h => h.getBoundingClientRect().top")
    rows_top = rows(narrow).first.evaluate("b => b.getBoundingClientRect().top")
    assert top < 400 < rows_top, (top, rows_top)
    assert no_horizontal_overflow(narrow), "the inspector is wider than a 400 px screen"
    shoot(narrow, data_dir / "inspector-400.png")
