"""The graph drawing matches the compiled graph and marks the approval point, the picked
checkpoint's writer and next node, and the node filtering the timeline; the fork tree is laid out
one lane per branch. Layouts are plain data (`ui.diagram.Box` / `Line`), so they are checked here
without a browser; tests/test_browser_inspector.py clicks them."""

from __future__ import annotations

import pytest

from agent.backend import LocalBackend
from agent.settings import Settings
from agent.views import CheckpointRow, GraphEdge, GraphView
from ui.graph_view import graph_layout, layers
from ui.timeline_list import row_kind, row_note, tree_layout


@pytest.fixture
def backend(data_dir):
    backend = LocalBackend(Settings(db_path=data_dir / "waypoint.sqlite"))
    yield backend
    backend.close()


def by_id(boxes):
    return {box.id: box for box in boxes}


def test_every_node_and_edge_of_the_compiled_graph_is_drawn(backend):
    graph = backend.graph_view()
    boxes, lines, (width, height) = graph_layout(graph)
    drawing = backend.graph.get_graph()  # what LangGraph itself draws
    assert set(graph.nodes) == set(drawing.nodes) == set(by_id(boxes))
    assert graph.approval_node == "action" and len(lines) == len(drawing.edges)
    for box in boxes:  # inside the drawing, none overlapping another
        assert box.x >= 0 and box.x + box.w <= width and box.y >= 0 and box.y + box.h <= height
        for other in boxes:
            if other is not box:
                apart = box.x + box.w <= other.x or other.x + other.w <= box.x
                assert apart or box.y + box.h <= other.y or other.y + other.h <= box.y
    labelled = {line.label for line in lines}
    assert {"tool calls", "answer"} <= labelled
    assert all(line.dashed for line in lines if line.label == "tool calls")


def test_layers_run_down_from_start_and_a_loop_back_bends_to_the_side(backend):
    graph = backend.graph_view()
    assert layers(graph) == {"__start__": 0, "llm": 1, "action": 2, "__end__": 2}
    boxes, lines, _ = graph_layout(graph)
    places = by_id(boxes)
    back = next(line for line in lines if line.points[0][1] > line.points[-1][1])
    assert len(back.points) == 3, "action -> llm is drawn as a curve"
    assert back.points[1][0] < places["action"].x, "bent out on the side the loop starts from"


def test_a_graph_with_a_cycle_and_an_unreachable_node_still_lays_out():
    graph = GraphView(
        nodes=("__start__", "a", "b", "c", "lonely", "__end__"),
        edges=(
            GraphEdge("__start__", "a"),
            GraphEdge("a", "b"),
            GraphEdge("b", "c"),
            GraphEdge("c", "a", conditional=True),
            GraphEdge("c", "__end__"),
            GraphEdge("a", "ghost"),  # a node the view does not list: not drawn
        ),
        approval_node="",
    )
    assert layers(graph)["c"] == 3 and layers(graph)["__end__"] == 4
    boxes, lines, _ = graph_layout(graph)
    assert "lonely" in by_id(boxes) and len(lines) == 5


def test_the_picked_checkpoint_and_the_filter_are_marked(backend):
    graph = backend.graph_view()
    plain = by_id(graph_layout(graph)[0])
    assert "approval" in plain["action"].marks and not plain["llm"].marks
    assert not plain["__end__"].clickable and plain["llm"].clickable
    marked = by_id(graph_layout(graph, next_nodes=("action",), wrote=("llm",), filtered="llm")[0])
    assert "next" in marked["action"].marks and "next" not in marked["llm"].marks
    assert {"wrote", "filter"} <= set(marked["llm"].marks)
    assert "runs next" in marked["action"].title and "wrote" in marked["llm"].title


def row(checkpoint_id, parent_id, step, source="loop", branch=0, **extra):
    return CheckpointRow(
        checkpoint_id,
        parent_id,
        step,
        source,
        ("llm",),
        (),
        0.0,
        f"label {checkpoint_id}",
        branch=branch,
        **extra,
    )


def test_the_tree_puts_each_branch_in_its_lane_and_links_children_to_parents():
    rows = (
        row("b2", "a", 2, branch=1),
        row("b1", "a", 1, is_head=True, on_shown_branch=True),
        row("a", None, 0, "input", on_shown_branch=True),
    )
    boxes, lines, (width, height) = tree_layout(rows, selected="b2")
    places = by_id(boxes)
    assert [b.id for b in boxes] == ["b2", "b1", "a"], "newest on top, as the list"
    assert places["b2"].x > places["b1"].x == places["a"].x, "a branch in its own lane"
    assert places["b2"].text_x == places["a"].text_x, "labels line up across lanes"
    assert "picked" in places["b2"].marks and "off" in places["b2"].marks
    assert "head" in places["b1"].marks and "off" not in places["b1"].marks
    assert places["b2"].lines == ("2 · label b2",) and "Step 2 · loop" in places["b2"].title
    assert len(lines) == 2 and all(not line.arrow for line in lines)
    assert all(box.x + box.w <= width and box.y + box.h <= height for box in boxes)


def test_what_an_imported_file_puts_in_a_label_reaches_the_tree_as_plain_data():
    hostile = "<img src=x onerror=alert(1)> ![x](http://127.0.0.1:9/) " + "word " * 40
    (box,), _, _ = tree_layout((row("x", None, 0),), None)
    (long,), _, _ = tree_layout((CheckpointRow("x", None, 0, "loop", (), (), 0.0, hostile),), None)
    assert box.lines == ("0 · label x",)
    assert long.lines[0].startswith("0 · <img") and long.lines[0].endswith("…")
    assert len(long.lines[0]) <= 44  # drawn as a text node by the component, whatever it holds


def test_bookkeeping_rows_are_explained_and_ordinary_steps_are_not():
    assert row_kind(row("i", None, -1, "input")) == "input"
    assert "before any node runs" in row_note(row("i", None, -1, "input"))
    start = CheckpointRow("s", "i", 0, "loop", ("__start__",), ("llm",), 0.0, "x")
    assert row_kind(start) == "start"
    assert row_kind(row("u", "s", 2, "update")) == "update"
    assert "update_state" in row_note(row("u", "s", 2, "update"))
    assert row_kind(row("f", "s", 2, "fork")) == "fork"
    assert row_kind(row("e", "s", -2, "")) == "" and "durability" in row_note(row("e", "s", -2, ""))
    assert row_kind(row("l", "s", 1)) is None and row_note(row("l", "s", 1)) is None
