"""Loading the user's own graph: the examples load and run; everything else gets one sentence."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.graph_source import GraphLoadError, graph_sources, load_graph

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def compiled(spec: str, base: Path = ROOT):
    (source,) = graph_sources(spec, base)
    return load_graph(source).compile(InMemorySaver())


def config(thread: str = "t") -> dict:
    return {"configurable": {"thread_id": thread}}


def test_the_hitl_example_asks_in_the_middlewares_format_and_applies_an_edit():
    graph = compiled("examples/hitl_agent.py:graph")
    halted = graph.invoke({"messages": [("user", "What is the weather in London?")]}, config())
    (asked,) = halted["__interrupt__"]
    assert asked.value["action_requests"][0]["args"] == {"query": "weather in London"}
    assert asked.value["review_configs"][0]["allowed_decisions"] == ["approve", "edit", "reject"]
    edit = {"name": "web_search", "args": {"query": "weather in Paris"}}
    done = graph.invoke(
        Command(resume={"decisions": [{"type": "edit", "edited_action": edit}]}), config()
    )
    assert done["messages"][1].tool_calls[0]["args"] == {"query": "weather in Paris"}
    assert "weather in Paris" in done["messages"][-1].content


def test_the_hitl_example_refuses_a_decision_the_tool_does_not_allow():
    graph = compiled("examples/hitl_agent.py:graph")
    graph.invoke({"messages": [("user", "What is the weather in Oslo?")]}, config())
    with pytest.raises(ValueError, match="'skip' is not allowed for web_search"):
        graph.invoke(Command(resume={"decisions": [{"type": "skip"}]}), config())
    assert graph.get_state(config()).next == ("review",), "nothing moved: it can be answered again"


def test_a_rejection_reaches_the_model_as_the_tools_error():
    graph = compiled("examples/hitl_agent.py:graph")
    graph.invoke({"messages": [("user", "What is the weather in Rome?")]}, config())
    reject = {"type": "reject", "message": "not today"}
    done = graph.invoke(Command(resume={"decisions": [reject]}), config())
    tool_reply = done["messages"][2]
    assert tool_reply.status == "error" and tool_reply.content == "not today"


def test_the_essay_writer_asks_with_a_form_schema_and_writes_from_the_answer():
    graph = compiled("examples/essay_writer.py:graph")  # a builder: compiled by the loader
    halted = graph.invoke({"task": "checkpoints"}, config())
    (asked,) = halted["__interrupt__"]
    assert asked.value["plan"][0] == "Checkpoints: why it matters"
    assert asked.response_schema["properties"]["approve"]["type"] == "boolean"
    done = graph.invoke(Command(resume={"plan": ["Only part"], "note": "short"}), config())
    assert done["draft"].startswith("Only part.") and done["revision"] == 2


def test_the_subgraph_asks_from_inside_its_own_namespace():
    graph = compiled("examples/subgraph_research.py:graph")
    graph.invoke({"topic": "LangGraph persistence"}, config())
    (task,) = graph.get_state(config(), subgraphs=True).tasks
    assert task.name == "research" and task.state.next == ("check",)
    assert task.state.config["configurable"]["checkpoint_ns"].startswith("research:")
    titles = task.interrupts[0].value["sources"]
    done = graph.invoke(Command(resume=[titles[0]]), config())
    assert done["report"].splitlines()[1].startswith(f"- {titles[0]}:")


def test_a_langgraph_json_lists_every_graph_with_its_description():
    sources = graph_sources("examples", ROOT)  # a folder means its langgraph.json
    assert [s.name for s in sources] == [
        "hitl_agent",
        "essay_writer",
        "subgraph_research",
        "waypoint_agent",
    ]
    assert "middleware" in sources[0].description
    for source in sources:
        assert load_graph(source).graph is not None


def test_a_module_path_loads_like_a_file(tmp_path):
    package = tmp_path / "mine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "flow.py").write_text((EXAMPLES / "essay_writer.py").read_text())
    graph = compiled("mine.flow:builder", tmp_path)
    assert "__interrupt__" in graph.invoke({"task": "x"}, config())


def test_a_factory_is_called_with_a_config_when_it_takes_one(tmp_path):
    (tmp_path / "made.py").write_text(
        "from langgraph.graph import StateGraph, START, END\n"
        "from typing import TypedDict\n"
        "class S(TypedDict):\n    n: int\n"
        "def make_graph(config):\n"
        "    assert 'configurable' in config\n"
        "    b = StateGraph(S)\n    b.add_node('inc', lambda s: {'n': s['n'] + 1})\n"
        "    b.add_edge(START, 'inc')\n    b.add_edge('inc', END)\n    return b.compile()\n"
    )
    assert compiled("made.py:make_graph", tmp_path).invoke({"n": 1}, config()) == {"n": 2}


def test_a_compiled_graph_keeps_its_breakpoints_and_gets_waypoints_checkpointer(tmp_path):
    (tmp_path / "bp.py").write_text(
        "from langgraph.checkpoint.memory import InMemorySaver\n"
        "from examples.essay_writer import builder\n"
        "graph = builder.compile(checkpointer=InMemorySaver(), interrupt_before=['write'])\n"
    )
    saver = InMemorySaver()
    (source,) = graph_sources("bp.py:graph", tmp_path)
    graph = load_graph(source).compile(saver)
    assert graph.checkpointer is saver and graph.interrupt_before_nodes == ["write"]


def test_env_from_langgraph_json_fills_only_what_is_unset(tmp_path, monkeypatch):
    monkeypatch.setenv("WAYPOINT_TEST_KEPT", "from the environment")
    monkeypatch.delenv("WAYPOINT_TEST_NEW", raising=False)
    (tmp_path / ".env").write_text("WAYPOINT_TEST_KEPT=from file\nexport WAYPOINT_TEST_NEW='yes'\n")
    (tmp_path / "langgraph.json").write_text(
        json.dumps({"graphs": {"e": str(EXAMPLES / "essay_writer.py") + ":graph"}, "env": ".env"})
    )
    graph_sources(str(tmp_path / "langgraph.json"))
    assert os.environ["WAYPOINT_TEST_KEPT"] == "from the environment"
    assert os.environ["WAYPOINT_TEST_NEW"] == "yes"
    monkeypatch.delenv("WAYPOINT_TEST_NEW")


BROKEN = {
    "syntax.py": ("def (:\n", "syntax.py does not import: SyntaxError"),
    "missing_import.py": (
        "import not_a_module_anywhere\n",
        "missing_import.py does not import: ModuleNotFoundError: No module named "
        "'not_a_module_anywhere'",
    ),
    "not_graph.py": ("graph = {'nodes': []}\n", "not_graph.py:graph is a dict, not a LangGraph"),
    "no_entry.py": (
        "from typing import TypedDict\nfrom langgraph.graph import StateGraph\n"
        "class S(TypedDict):\n    n: int\n"
        "graph = StateGraph(S)\ngraph.add_node('a', lambda s: s)\n",
        "The StateGraph no_entry.py:graph does not compile: ValueError",
    ),
    "bad_factory.py": (
        "def graph():\n    raise RuntimeError('no model configured')\n",
        "The graph factory bad_factory.py:graph failed: RuntimeError: no model configured.",
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_graph_that_cannot_load_gets_one_sentence(tmp_path, name):
    code, sentence = BROKEN[name]
    (tmp_path / name).write_text(code)
    with pytest.raises(GraphLoadError) as caught:
        compiled(f"{name}:graph", tmp_path)
    assert str(caught.value).startswith(sentence) or sentence in str(caught.value)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        ("", "No graph was named"),
        ("examples/essay_writer.py", "does not say which graph"),
        ("examples/nowhere.py:graph", "There is no file"),
        ("examples/essay_writer.py:grph", "has no attribute 'grph' (it has builder"),
        ("nowhere/langgraph.json", "There is no"),
    ],
)
def test_a_wrong_spec_says_what_to_write(spec, sentence):
    with pytest.raises(GraphLoadError, match=sentence.replace("(", r"\(")):
        (source,) = graph_sources(spec, ROOT)
        load_graph(source)


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("{not json", "is not valid JSON (line 1"),
        ("[]", "must hold a JSON object"),
        ('{"graphs": {}}', "has no graphs"),
        ('{"graphs": {"a": 3}}', "Graph 'a' in"),
    ],
)
def test_a_wrong_langgraph_json_says_what_is_wrong(tmp_path, text, sentence):
    (tmp_path / "langgraph.json").write_text(text)
    with pytest.raises(GraphLoadError, match=sentence.replace("(", r"\(")):
        graph_sources(str(tmp_path))
