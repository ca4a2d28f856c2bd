"""Your own graph in the Chat page (AppTest): its welcome, JSON input, questions with a form,
HITL approvals with only the decisions a tool allows, the graph picker, and a graph that fails."""

from __future__ import annotations

import json

import pytest

from agent.protocol import LOCAL_USER
from agent.settings import PROJECT_ROOT
from tests.page_helpers import backend, button, finish_runs, texts
from tests.test_own_graph import wait_for

EXAMPLES = PROJECT_ROOT / "examples"


@pytest.fixture
def own_app(app, monkeypatch):
    def with_graph(spec: str):
        monkeypatch.setenv("WAYPOINT_GRAPH", spec)
        return app

    return with_graph


def test_a_graph_without_messages_runs_from_json_and_asks_with_a_form(own_app):
    app = own_app(str(EXAMPLES / "essay_writer.py") + ":graph")
    app.run()
    assert not app.exception
    assert app.title[0].value == "essay_writer"
    assert "keeps no chat messages" in texts(app)
    assert app.chat_input[0].placeholder == 'The graph\'s input as JSON, like {"task": "..."}'
    app.chat_input[0].set_value("write about checkpoints").run()
    assert "send its input as a JSON object" in app.error[0].value
    assert not backend().list_threads(LOCAL_USER), "a refused first message leaves no thread"
    app.chat_input[0].set_value('{"task": "checkpoints"}').run()
    finish_runs(app)
    assert not app.exception
    assert "The graph asks a question" in app.warning[0].value
    approve = next(c for c in app.checkbox if c.label == "Approve")
    assert approve.value is True, "the schema's default"
    plan = next(t for t in app.text_area if t.label == "Plan")
    assert plan.value.splitlines()[0] == "Checkpoints: why it matters", (
        "it starts as the plan asked about"
    )
    plan.input("Only part").run()
    next(t for t in app.text_input if t.label == "Note").input("short").run()
    button(app, "Send the answer").click().run()
    finish_runs(app)
    assert not app.exception and not app.warning
    thread_id = app.query_params["thread"]
    values = backend().thread_view(LOCAL_USER, thread_id).values
    assert values["plan"] == ["Only part"] and values["draft"].startswith("Only part.")
    assert backend().get_thread(LOCAL_USER, thread_id).status == "idle"
    assert any(e.label.startswith("State") for e in app.expander)


def test_a_question_without_a_schema_takes_json_or_text(own_app, tmp_path):
    (tmp_path / "ask.py").write_text(
        "from typing import TypedDict\n"
        "from langgraph.graph import StateGraph, START, END\n"
        "from langgraph.types import interrupt\n"
        "class S(TypedDict, total=False):\n    q: str\n    a: object\n"
        "def ask(s):\n    return {'a': interrupt({'question': s['q']})}\n"
        "graph = StateGraph(S)\ngraph.add_node('ask', ask)\n"
        "graph.add_edge(START, 'ask')\ngraph.add_edge('ask', END)\n"
    )
    app = own_app(str(tmp_path / "ask.py") + ":graph")
    app.run()
    app.chat_input[0].set_value('{"q": "Which city?"}').run()
    finish_runs(app)
    box = app.text_area[0]
    assert box.label == "Your answer (JSON, or plain text)"
    button(app, "Send the answer").click().run()
    assert "Write an answer first" in app.error[0].value, "an empty answer sends nothing"
    app.text_area[0].input('{"city": "Oslo"}').run()
    button(app, "Send the answer").click().run()
    finish_runs(app)
    values = backend().thread_view(LOCAL_USER, app.query_params["thread"]).values
    assert values["a"] == {"city": "Oslo"}


def test_a_hitl_request_offers_only_the_decisions_its_tool_allows(own_app):
    app = own_app(str(EXAMPLES / "hitl_agent.py") + ":graph")
    app.run()
    app.chat_input[0].set_value("What is the weather in London?").run()
    finish_runs(app)
    assert not app.exception
    assert app.radio[0].options == ["Approve", "Edit", "Reject"]
    assert "Answer instead" not in texts(app)
    assert [c.label for c in app.checkbox if c.label.startswith("Always allow")] == [
        "Always allow web_search in this thread"
    ]
    assert "Tool execution requires approval" in texts(app)
    button(app, "Continue").click().run()
    finish_runs(app)
    assert "Here is what I found for “weather in London”" in texts(app)


def test_a_langgraph_json_gives_a_picker_and_each_graph_its_threads(own_app):
    app = own_app(str(EXAMPLES / "langgraph.json"))
    app.run()
    assert not app.exception
    picker = app.selectbox(key="graph_picker")
    assert picker.options == ["hitl_agent", "essay_writer", "subgraph_research", "waypoint_agent"]
    assert app.title[0].value == "hitl_agent"
    picker.set_value("essay_writer").run()
    assert not app.exception
    assert app.title[0].value == "essay_writer" and app.query_params["graph"] == "essay_writer"
    assert "Its own state and a question to the human" in texts(app)


def test_a_graph_that_cannot_load_says_why_on_the_page(own_app, tmp_path):
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    app = own_app(str(tmp_path / "broken.py") + ":graph")
    app.run()
    assert not app.exception
    assert "broken.py does not import: ModuleNotFoundError: No module named" in app.error[0].value
    assert json.dumps(app.error[0].value).count("\\n") == 0


def test_the_inspector_edits_your_graphs_state_as_a_fork(own_app):
    app = own_app(str(EXAMPLES / "essay_writer.py") + ":graph")
    app.run()
    app.chat_input[0].set_value('{"task": "checkpoints"}').run()
    finish_runs(app)
    thread_id = app.query_params["thread"]
    app.switch_page("app_pages/inspector.py").run()
    assert not app.exception
    assert not [e for e in app.expander if e.label.startswith("Edit a message")], "no messages"
    box = app.text_area(key=next(t.key for t in app.text_area if t.key.startswith("state_")))
    assert json.loads(box.value)["task"] == "checkpoints"
    box.input('{"revision": "two"}').run()
    button(app, "Save as a fork").click().run()
    assert "revision does not fit the state schema" in app.error[0].value
    total = backend().timeline(LOCAL_USER, thread_id).total
    box.input('{"plan": ["Edited part"]}').run()
    app.selectbox(key=next(s.key for s in app.selectbox if s.key.startswith("state_as_"))).select(
        "plan"
    ).run()
    button(app, "Save as a fork").click().run()
    assert not app.exception
    page = backend().timeline(LOCAL_USER, thread_id)
    assert page.total == total + 1 and page.rows[0].label == "state updated as plan"
    assert backend().thread_view(LOCAL_USER, thread_id).values["plan"] == ["Edited part"]


def test_after_a_state_edit_the_chat_offers_to_continue_and_the_graph_asks_again(own_app):
    app = own_app(str(EXAMPLES / "essay_writer.py") + ":graph")
    app.run()
    app.chat_input[0].set_value('{"task": "checkpoints"}').run()
    finish_runs(app)
    thread_id = app.query_params["thread"]
    halt = backend().timeline(LOCAL_USER, thread_id).rows[0].checkpoint_id
    backend().edit_state(LOCAL_USER, thread_id, halt, '{"plan": ["Edited"]}', as_node="plan")
    app.run()
    assert "The graph stopped before review_plan" in app.info[0].value
    button(app, "Continue").click().run()
    finish_runs(app)
    assert "The graph asks a question" in app.warning[0].value
    assert '"Edited"' in json.dumps(backend().thread_view(LOCAL_USER, thread_id).questions[0].value)


def test_a_breakpoint_chosen_in_the_settings_shows_as_a_chip_and_stops_the_run(own_app):
    app = own_app(str(EXAMPLES / "essay_writer.py") + ":graph")
    app.run()
    assert not [r for r in app.radio if r.label == "Model"], "your graph picks its own model"
    app.multiselect(key="set_pause_before").select("write").run()
    assert "pause before write" in [b.proto.popover.label for b in app.get("popover")]
    app.chat_input[0].set_value('{"task": "checkpoints"}').run()
    finish_runs(app)
    button(app, "Send the answer").click().run()
    finish_runs(app)
    assert "The graph stopped before write" in app.info[0].value
    assert "draft" not in backend().thread_view(LOCAL_USER, app.query_params["thread"]).values


def chip_labels(at) -> list[str]:
    return [block.proto.popover.label for block in at.get("popover")]


def test_per_tool_rules_for_your_graphs_hitl_tools_show_as_chips_and_answer_for_you(own_app):
    app = own_app(str(EXAMPLES / "hitl_agent.py") + ":graph")
    app.run()
    assert not app.exception
    rule = app.radio(key="set_tool_web_search")
    assert rule.options == ["Ask", "Auto-approve", "Deny"] and rule.value == "ask"
    assert any("the graph names web_search" in c.value for c in app.caption)
    rule.set_value("allow").run()
    assert app.query_params["set_tool_web_search"] == "allow", "a reload keeps the rule"
    assert "web_search: auto-approve" in chip_labels(app)
    app.chat_input[0].set_value("What is the weather in Rome?").run()
    thread_id = app.query_params["thread"]
    asked = backend().runs.latest_run(thread_id)
    finish_runs(app)
    assert not [b for b in app.button if b.label == "Continue"], "no card for an auto-approval"
    run = wait_for(lambda: (r := backend().runs.latest_run(thread_id)) and r.id != asked.id and r)
    assert run, "the rule answered the request"
    assert run.log.wait_closed(30)
    app.run()
    assert "Here is what I found for “weather in Rome”" in texts(app)
    app.radio(key="set_tool_web_search").set_value("deny").run()
    assert "web_search: denied" in chip_labels(app)


MIXED_REQUEST = """
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from examples.hitl_agent import HumanInTheLoop, after_review


def model(state):
    if any(isinstance(m, ToolMessage) for m in state["messages"]):
        return {"messages": [AIMessage("done")]}
    calls = [
        {"id": "c1", "name": "web_search", "args": {"query": "rome"}},
        {"id": "c2", "name": "fetch", "args": {"url": "https://example.org"}},
    ]
    return {"messages": [AIMessage("", tool_calls=calls)]}


def tools(state):
    done = {m.tool_call_id for m in state["messages"] if isinstance(m, ToolMessage)}
    calls = [c for c in state["messages"][-1].tool_calls if c["id"] not in done]
    return {"messages": [ToolMessage("ran " + c["name"], tool_call_id=c["id"]) for c in calls]}


graph = StateGraph(MessagesState)
graph.add_node("model", model)
guard = HumanInTheLoop({"web_search": ["approve", "edit", "reject"], "fetch": ["approve"]})
graph.add_node("review", guard.after_model)
graph.add_node("tools", tools)
graph.add_edge(START, "model")
graph.add_edge("model", "review")
graph.add_conditional_edges("review", after_review, ["tools", "model", END])
graph.add_edge("tools", "model")
"""


def test_a_mixed_request_shows_a_card_only_for_the_call_you_decide(own_app, tmp_path):
    (tmp_path / "mixed.py").write_text(MIXED_REQUEST)
    app = own_app(str(tmp_path / "mixed.py") + ":graph")
    app.run()
    app.radio(key="set_tool_web_search").set_value("allow").run()
    app.radio(key="set_tool_fetch").set_value("deny").run()
    app.chat_input[0].set_value("go").run()
    finish_runs(app)
    assert not app.exception
    assert "The agent wants to run 1 tool call" in app.warning[0].value
    assert app.radio(key=next(r.key for r in app.radio if r.key.startswith("decide_"))).options == [
        "Approve"
    ]
    captions = [c.value for c in app.caption]
    assert "web_search: auto-approved by your setting, sent with your decisions." in captions
    assert any(
        "Your setting denies fetch, but this graph does not let it be rejected" in c
        for c in captions
    )
    button(app, "Continue").click().run()
    finish_runs(app)
    view = backend().thread_view(LOCAL_USER, app.query_params["thread"])
    assert [m.text for m in view.messages if m.role == "tool"] == ["ran web_search", "ran fetch"]


def test_a_rule_chosen_while_the_graph_waits_answers_its_request_from_the_page(own_app):
    app = own_app(str(EXAMPLES / "hitl_agent.py") + ":graph")
    app.run()
    app.chat_input[0].set_value("What is the weather in Oslo?").run()
    finish_runs(app)
    assert [b for b in app.button if b.label == "Continue"], "asked: no rule yet"
    app.radio(key="set_tool_web_search").set_value("allow").run()
    assert "web_search auto-approved by your setting" in app.info[0].value
    button(app, "Send these answers now").click().run()
    finish_runs(app)
    assert "Here is what I found for “weather in Oslo”" in texts(app)


def test_the_inspector_picks_a_subgraphs_checkpoint_and_replays_from_it(own_app, monkeypatch):
    from agent.search.offline import OfflineSearch

    searches: list[str] = []
    real = OfflineSearch.search
    monkeypatch.setattr(
        OfflineSearch,
        "search",
        lambda self, q, *a, **k: searches.append(q) or real(self, q, *a, **k),
    )
    app = own_app(str(EXAMPLES / "subgraph_research.py") + ":graph")
    app.run()
    app.chat_input[0].set_value('{"topic": "LangGraph persistence"}').run()
    finish_runs(app)
    thread_id = app.query_params["thread"]
    app.switch_page("app_pages/inspector.py").run()
    assert not app.exception
    rows = [b for b in app.button if (b.key or "").startswith("sub_research:")]
    assert [r.label.rsplit("→ ", 1)[1] for r in rows] == ["check", "gather", "start"]
    assert "Inside the next step, the subgraph research" in texts(app)
    next(r for r in rows if r.label.endswith("→ check")).click().run()
    assert not app.exception
    namespace = app.query_params["ns"]
    assert namespace.startswith("research:")
    assert "A checkpoint of a subgraph's own" in texts(app)
    assert "inside the subgraph research: gather ran" in texts(app)
    assert button(app, "Fork thread").disabled and button(app, "Show in chat").disabled
    assert any(e.label.startswith("Edit the subgraph's state") for e in app.expander)
    button(app, "Replay").click().run()
    finish_runs(app)
    assert not app.exception
    assert searches == ["LangGraph persistence"], "gather ran once: not again on the replay"
    assert backend().thread_view(LOCAL_USER, thread_id).questions, "check asks again"
