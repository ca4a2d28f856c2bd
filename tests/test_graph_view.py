"""The graph drawing matches the compiled graph and marks the approval point and the next node."""

from __future__ import annotations

import pytest

from agent.backend import LocalBackend
from agent.settings import Settings
from ui.graph_view import graph_dot


@pytest.fixture
def backend(data_dir):
    backend = LocalBackend(Settings(db_path=data_dir / "waypoint.sqlite"))
    yield backend
    backend.close()


def test_every_node_and_edge_of_the_compiled_graph_is_drawn(backend):
    graph = backend.graph_view()
    dot = graph_dot(graph)
    drawing = backend.graph.get_graph()  # what LangGraph itself draws
    assert set(graph.nodes) == set(drawing.nodes) and graph.approval_node == "action"
    for name in drawing.nodes:
        assert f'"{name}" [' in dot
    for edge in drawing.edges:
        assert f'"{edge.source}" -> "{edge.target}"' in dot
    assert '"llm" -> "action" [label="tool calls", style=dashed]' in dot


def test_the_approval_point_and_the_next_node_are_marked(backend):
    graph = backend.graph_view()
    action_line = next(
        line for line in graph_dot(graph).splitlines() if line.startswith('  "action" [')
    )
    assert "approval" in action_line and "#1d4ed8" not in action_line
    highlighted = graph_dot(graph, next_nodes=("action",))
    action_line = next(line for line in highlighted.splitlines() if line.startswith('  "action" ['))
    assert "#1d4ed8" in action_line
    llm_line = next(line for line in highlighted.splitlines() if line.startswith('  "llm" ['))
    assert "#1d4ed8" not in llm_line


def test_the_timeline_tree_escapes_what_an_imported_file_could_hold():
    from agent.views import CheckpointRow, TimelinePage
    from ui.timeline_list import tree_dot

    rows = (
        CheckpointRow("b", "a", 1, 'lo"op', ("llm",), (), 0.0, "x"),
        CheckpointRow("a", None, 0, "input", ("__input__",), ("llm",), 0.0, "y"),
    )
    dot = tree_dot(TimelinePage("t", rows, 2, 0, 50, "b", "b", 1), selected="b")
    assert '"1 lo\\"op\\nllm"' in dot and '"a" -> "b"' in dot
