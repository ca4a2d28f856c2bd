"""Your own graphs in the real app (`streamlit run` with WAYPOINT_GRAPH=examples/langgraph.json, and
again as a client of `langgraph dev` serving the same graphs), in headless Chromium at 1280 and 400 px: the picker, a HITL-middleware agent approved after an
edit, the essay writer's question answered through its form, and a subgraph's question answered
by ticking sources. Screenshots go to the test's data dir (and /tmp/e2e-shots) to be looked at."""

from __future__ import annotations

import re

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from agent.settings import PROJECT_ROOT  # noqa: E402
from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import LIVE_STOP, expect, main, no_horizontal_overflow, send  # noqa: E402
from tests.test_browser_chat import bubbles, continue_button, decide, shoot  # noqa: E402
from tests.test_browser_inspector import open_inspector, pick  # noqa: E402
from tests.test_browser_inspector import shoot as shoot_page  # noqa: E402

CONFIG = str(PROJECT_ROOT / "examples" / "langgraph.json")


@pytest.fixture(scope="module", params=["embedded", "server"])
def app_url(request, tmp_path_factory):
    """The app over the examples: embedded (WAYPOINT_GRAPH=examples/langgraph.json), and as a
    client of `langgraph dev` serving the same three graphs (the same scenarios, both backends)."""
    data = tmp_path_factory.mktemp(f"own_graph_{request.param}")
    if request.param == "embedded":
        env = {"WAYPOINT_GRAPH": CONFIG}
    else:
        env = {"WAYPOINT_SERVER_URL": request.getfixturevalue("lg_server").url}
    with running_app(data, env) as url:
        yield url


def pick_graph(page, app_url: str, name: str) -> None:
    """With the sidebar's picker at 1280 px; at 400 px (the sidebar folded) by the link a picked
    graph gets, `?graph=`."""
    if page.viewport_size["width"] < 700:
        page.goto(f"{app_url}?graph={name}")
    else:
        picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox")
        if name not in picker.inner_text():
            picker.click()
            page.get_by_role("option", name=name, exact=True).click()
    expect(main(page).get_by_role("heading", name=name)).to_be_visible()


def wait_for_run(page) -> None:
    main(page).locator(LIVE_STOP).wait_for(state="detached")


@pytest.mark.parametrize("width", [1280, 400])
def test_the_hitl_agent_asks_with_its_own_decisions_and_runs_the_edit(
    open_page, app_url, data_dir, width
):
    page = open_page(app_url, width=width)
    pick_graph(page, app_url, "hitl_agent")
    send(page, "What is the weather in London?")
    continue_button(page).wait_for()
    radios = main(page).get_by_test_id("stRadioGroup").first.get_by_role("radio")
    expect(radios).to_have_count(3)  # approve, edit, reject: what the middleware's tool allows
    expect(main(page).get_by_text("Tool execution requires approval")).to_be_visible()
    shoot(page, data_dir, f"own-hitl-{width}", continue_button(page), keep=True)
    decide(page, "Edit")
    main(page).get_by_role("textbox", name="Arguments (JSON)").fill('{"query": "weather in Paris"}')
    continue_button(page).click()
    main(page).get_by_text("Here is what I found for “weather in Paris”").wait_for()
    wait_for_run(page)
    expect(bubbles(page).last).to_contain_text("weather in Paris")
    assert no_horizontal_overflow(page)


@pytest.mark.parametrize("width", [1280, 400])
def test_the_essay_writer_runs_from_json_and_its_question_is_a_form(
    open_page, app_url, data_dir, width
):
    page = open_page(app_url, width=width)
    pick_graph(page, app_url, "essay_writer")
    expect(page.get_by_test_id("stChatInputTextArea")).to_have_attribute(
        "placeholder", re.compile("input as JSON")
    )
    send(page, '{"task": "checkpoints"}')
    main(page).get_by_text("The graph asks a question").wait_for()
    expect(main(page).get_by_role("checkbox", name="Approve")).to_be_checked()
    main(page).get_by_role("textbox", name="Plan").fill("Why they exist\nHow to use them")
    main(page).get_by_role("textbox", name="Note").fill("keep it short")
    main(page).get_by_role("textbox", name="Note").press("Tab")
    shoot(
        page,
        data_dir,
        f"own-essay-question-{width}",
        main(page).get_by_role("button", name="Send the answer"),
        keep=True,
    )
    main(page).get_by_role("button", name="Send the answer").click()
    main(page).get_by_text("The graph asks a question").wait_for(state="detached")
    wait_for_run(page)
    state = main(page).get_by_test_id("stJson").first
    expect(state).to_contain_text("Why they exist. This part covers")
    expect(state).to_contain_text("How to use them. This part covers")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("button", name=re.compile("^checkpoints")).first).to_be_attached()
    shoot(page, data_dir, f"own-essay-done-{width}", state, keep=True)
    assert no_horizontal_overflow(page)


def test_the_subgraphs_question_is_answered_by_ticking_sources(open_page, app_url, data_dir):
    page = open_page(app_url)
    pick_graph(page, app_url, "subgraph_research")
    send(page, '{"topic": "LangGraph persistence"}')
    main(page).get_by_text("The graph asks a question").wait_for()
    wait_for_run(page)
    choices = main(page).get_by_test_id("stMultiSelect")
    for _ in range(3):  # a rerun landing while the list is open closes it: a person opens it again
        choices.get_by_role("combobox").press_sequentially("Checkpointer classes")
        option = page.get_by_role("option", name=re.compile("Checkpointer classes"))
        try:
            option.click(timeout=5_000)
        except playwright.TimeoutError:
            continue
        page.keyboard.press("Escape")
        if "Checkpointer classes" in choices.inner_text():
            break
    expect(choices).to_contain_text("Checkpointer classes")
    expect(choices).not_to_contain_text("How persistence works")
    shoot(
        page,
        data_dir,
        "own-subgraph-question-1280",
        main(page).get_by_text("Send the answer"),
        keep=True,
    )
    main(page).get_by_role("button", name="Send the answer").click()
    main(page).get_by_text("The graph asks a question").wait_for(state="detached")
    wait_for_run(page)
    report = main(page).get_by_test_id("stJson").first
    expect(report).to_contain_text("Report on LangGraph persistence")
    expect(report).to_contain_text("Checkpointer classes")
    expect(report).not_to_contain_text("How persistence works")


def test_waypoints_own_agent_edits_then_replays_from_the_halt(open_page, app_url, data_dir):
    page = open_page(app_url)
    pick_graph(page, app_url, "waypoint_agent")
    send(page, "What is the weather in Tokyo?")
    continue_button(page).wait_for()
    decide(page, "Edit")
    main(page).get_by_role("textbox", name="Arguments (JSON)").fill('{"query": "weather in Oslo"}')
    continue_button(page).click()
    main(page).get_by_text("Here is what I found for “weather in Oslo”").wait_for()
    wait_for_run(page)
    page.get_by_role("link", name="Inspector").click()
    halted = main(page).get_by_role("button", name=re.compile("halted here for you")).first
    halted.click()
    main(page).get_by_role("button", name="Replay").click()
    continue_button(page).wait_for()  # a replay from the halt asks again: nothing runs unasked
    expect(main(page).get_by_text("weather in Tokyo").first).to_be_visible()
    shoot(page, data_dir, "own-agent-replayed-1280", continue_button(page), keep=True)


# Each example's input, and what shows that it asks (its interrupt) in the chat.
ASKS = {
    "hitl_agent": ("What is the weather in Paris?", "Tool execution requires approval"),
    "essay_writer": ('{"task": "time travel"}', "The graph asks a question"),
    "subgraph_research": ('{"topic": "LangGraph persistence"}', "The graph asks a question"),
}


@pytest.mark.parametrize("graph", list(ASKS))
def test_each_example_replayed_from_its_halt_in_the_inspector_asks_again(open_page, app_url, graph):
    page = open_page(app_url)
    pick_graph(page, app_url, graph)
    text, asks = ASKS[graph]
    send(page, text)
    main(page).get_by_text(asks).first.wait_for()
    wait_for_run(page)
    open_inspector(page)
    pick(page, "0 · loop")  # before the node that asks: the replay runs it again
    main(page).get_by_role("button", name="Replay").click()
    page.wait_for_url(lambda url: "/inspector" not in url)
    main(page).get_by_text(asks).first.wait_for()  # asked again: nothing runs unasked
    wait_for_run(page)
    open_inspector(page)
    expect(main(page).get_by_text(re.compile(r"checkpoints · 2 branches"))).to_be_visible()


@pytest.fixture(scope="module")
def subgraph_url(tmp_path_factory):
    """The app on the subgraph example alone, embedded (time travel inside a subgraph is the
    embedded engine's: an Agent Server refuses it with a sentence)."""
    graph = str(PROJECT_ROOT / "examples" / "subgraph_research.py") + ":graph"
    with running_app(tmp_path_factory.mktemp("subgraph"), {"WAYPOINT_GRAPH": graph}) as url:
        yield url


@pytest.mark.parametrize("width", [1280, 400])
def test_the_inspector_replays_from_inside_the_subgraph_and_it_asks_again(
    open_page, subgraph_url, data_dir, width
):
    page = open_page(subgraph_url, width=width)
    send(page, '{"topic": "LangGraph persistence"}')
    main(page).get_by_text("The graph asks a question").wait_for()
    wait_for_run(page)
    page.goto(page.url.replace("/?", "/inspector?"))
    rows = main(page).locator('[class*="st-key-sub_research"] button')
    expect(rows).to_have_count(3)  # the subgraph's own checkpoints: start, gather, check
    expect(main(page).get_by_text("Inside the next step, the subgraph research")).to_be_visible()
    rows.filter(has_text="→ check").click()
    expect(page).to_have_url(re.compile(r"[?&]ns=research"))
    expect(main(page).get_by_text("A checkpoint of a subgraph's own").first).to_be_visible()
    shoot_page(page, data_dir / f"own-subgraph-inspector-{width}.png")
    assert no_horizontal_overflow(page)
    main(page).get_by_role("button", name="Replay").click()
    page.goto(page.url.split("/inspector")[0] + "/?" + page.url.split("?", 1)[1])
    main(page).get_by_text("The graph asks a question").wait_for()  # check asks again
    expect(main(page).get_by_test_id("stMultiSelect")).to_be_visible()
