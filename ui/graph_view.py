"""The compiled graph as the Inspector's navigation, as in LangGraph Studio's graph mode.

Drawn from the backend's `GraphView` (LangGraph's `get_graph()`), so it matches the graph that
runs, with a small layered layout of its own (`ui.diagram` draws it offline). Clicking a node
filters the timeline to the checkpoints that node wrote; the picked checkpoint's position is
marked: the node(s) that wrote it and the node(s) that run next from it. The approval point (the
`interrupt()` at the top of `action`) is marked on the action node.
"""

from __future__ import annotations

from collections.abc import Collection

import streamlit as st

from agent.protocol import GraphEdge, GraphView
from ui.diagram import LINE_HEIGHT, Box, Line, diagram, text_width
from ui.session import filter_timeline

START, END, INPUT = "__start__", "__end__", "__input__"
LABELS = {
    START: ("start",),
    END: ("end",),
    "llm": ("llm", "chat model, tools bound"),
    "action": ("action", "runs the tool calls"),
}
EDGE_LABELS = {("llm", "action"): "tool calls", ("llm", END): "answer"}
LAYER_GAP = 64.0
BOX_GAP = 36.0
MARGIN = 12.0
CURVE = 56.0  # how far a loop back's control point stands out to the side (it bends half that)
HELP = (
    "**Click a node** to list only the checkpoints it wrote (again for all). For the picked "
    "checkpoint: a **dark outline** on the node that wrote it, **blue** on what runs next. "
    "**Orange**: the approval point (`action` calls `interrupt()` before any tool runs). "
    "Dashed: the router picks one."
)
OWN_GRAPH_HELP = (
    "**Click a node** to list only the checkpoints it wrote (again for all). For the picked "
    "checkpoint: a **dark outline** on the node that wrote it, **blue** on what runs next. "
    "A subgraph's nodes are drawn inside it as `subgraph:node`; its checkpoints are its own "
    "(shown under the parent's step). Dashed: a router picks one."
)


def node_title(name: str) -> str:
    return LABELS.get(name, (name,))[0]


def layers(graph: GraphView) -> dict[str, int]:
    """Each node's layer: the longest path from `__start__` over the edges that do not loop back
    (an edge loops back when its target is on the way to its source, found by a depth-first walk)."""
    out: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for edge in graph.edges:
        if edge.source in out and edge.target in out:  # an edge to a node not listed is not drawn
            out[edge.source].append(edge.target)
    forward: dict[str, list[str]] = {name: [] for name in out}
    state: dict[str, int] = {}  # 1 on the walk's path, 2 done
    order: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        for target in out.get(node, ()):
            if state.get(target) == 1:
                continue  # loops back
            forward[node].append(target)
            if target not in state:
                walk(target)
        state[node] = 2
        order.append(node)

    for root in [START, *graph.nodes]:
        if root in out and root not in state:
            walk(root)
    layer = dict.fromkeys(out, 0)
    for node in reversed(order):  # a topological order of the forward edges
        for target in forward[node]:
            layer[target] = max(layer[target], layer[node] + 1)
    return layer


def graph_layout(
    graph: GraphView,
    next_nodes: Collection[str] = (),
    wrote: Collection[str] = (),
    filtered: str | None = None,
) -> tuple[list[Box], list[Line], tuple[float, float]]:
    """Boxes in layers from `__start__` down, each layer centred; edges straight down, loops back
    bent out to the side they start from."""
    layer = layers(graph)
    rows: dict[int, list[str]] = {}
    for name in graph.nodes:
        rows.setdefault(layer.get(name, 0), []).append(name)
    sizes = {}
    for name in graph.nodes:
        label = LABELS.get(name, (name,))
        sizes[name] = (max(text_width(label) + 24, 90.0), len(label) * LINE_HEIGHT + 16)
    widths = {
        n: sum(sizes[m][0] for m in row) + BOX_GAP * (len(row) - 1) for n, row in rows.items()
    }
    width = max(widths.values(), default=100.0) + 2 * CURVE
    boxes: dict[str, Box] = {}
    y = MARGIN
    for number in sorted(rows):
        x = (width - widths[number]) / 2
        height = max(sizes[name][1] for name in rows[number])
        for name in rows[number]:
            w, h = sizes[name]
            boxes[name] = _box(graph, name, (x, y + (height - h) / 2, w, h), next_nodes, wrote)
            x += w + BOX_GAP
        y += height + LAYER_GAP
    if filtered in boxes:
        marked = boxes[filtered]
        boxes[filtered] = Box(**{**marked.__dict__, "marks": (*marked.marks, "filter")})
    edges = [
        _edge(boxes[e.source], boxes[e.target], e, width)
        for e in graph.edges
        if e.source in boxes and e.target in boxes
    ]
    return _fitted(list(boxes.values()), edges, y - LAYER_GAP + MARGIN)


def _fitted(
    boxes: list[Box], edges: list[Line], height: float
) -> tuple[list[Box], list[Line], tuple[float, float]]:
    """Moved left so the drawing starts at the margin, and as wide as what it draws (a curve
    reaches halfway to its control point)."""
    xs = [x for box in boxes for x in (box.x, box.x + box.w)]
    for line in edges:
        if len(line.points) == 3:
            (x0, _), (xc, _), (x1, _) = line.points
            xs.append((x0 + x1) / 4 + xc / 2)
    shift = MARGIN - min(xs, default=MARGIN)
    moved = [Box(**{**box.__dict__, "x": box.x + shift}) for box in boxes]
    lines = [
        Line(
            tuple((x + shift, y) for x, y in line.points),
            line.label,
            (line.label_at[0] + shift, line.label_at[1]),
            line.dashed,
            line.arrow,
        )
        for line in edges
    ]
    return moved, lines, (max(xs, default=0.0) + shift + MARGIN, height)


def _box(
    graph: GraphView,
    name: str,
    frame: tuple[float, float, float, float],
    next_nodes: Collection[str],
    wrote: Collection[str],
) -> Box:
    marks = []
    title = f"{node_title(name)}: click to list the checkpoints it wrote"
    lines = LABELS.get(name, (name,))
    if name == graph.approval_node:
        marks.append("approval")
        lines = (lines[0], "asks approval first")
    pauses = [
        f"pauses {where}"
        for where, nodes in (("before", graph.pause_before), ("after", graph.pause_after))
        if name in nodes or ("*" in nodes and name not in (START, END))
    ]
    if pauses:
        marks.append("approval")
        lines = (lines[0], " · ".join(pauses))
        title += " · a breakpoint: " + " and ".join(pauses)
    if name in wrote:
        marks.append("wrote")
        title += " · it wrote the picked checkpoint"
    if name in next_nodes:
        marks.append("next")
        title += " · it runs next from the picked checkpoint"
    shape = "oval" if name in (START, END) else "box"
    x, y, w, h = frame
    return Box(name, x, y, w, h, lines, title, shape, tuple(marks), clickable=name != END)


def _edge(source: Box, target: Box, edge: GraphEdge, width: float) -> Line:
    label = EDGE_LABELS.get((edge.source, edge.target), "")
    if target.y > source.y:  # down to a later layer
        start = (source.x + source.w / 2, source.y + source.h)
        end = (target.x + target.w / 2, target.y)
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        return Line((start, end), label, (middle[0] + 6, middle[1]), edge.conditional)
    left = source.x + source.w / 2 < width / 2  # bend out on the side the source stands
    side = (lambda box: box.x) if left else (lambda box: box.x + box.w)
    start = (side(source), source.y + source.h / 2)
    end = (side(target), target.y + target.h / 2)
    bend = min(start[0], end[0]) - CURVE if left else max(start[0], end[0]) + CURVE
    control = (bend, (start[1] + end[1]) / 2)
    return Line((start, control, end), label, control, edge.conditional)


def _with_inner(names: set[str], graph: GraphView) -> set[str]:
    """A subgraph's node stands for the nodes drawn inside it (`node:inner`)."""
    return names | {n for n in graph.nodes if n.split(":", 1)[0] in names and ":" in n}


def graph_view(
    graph: GraphView,
    next_nodes: Collection[str] = (),
    wrote: Collection[str] = (),
    filtered: str | None = None,
) -> None:
    """The graph as navigation: a click on a node filters the timeline to what it wrote (a click
    on the node already filtering shows everything again). `wrote` may name the run's input,
    drawn as `start`."""
    wrote = _with_inner({START if name == INPUT else name for name in wrote}, graph)
    next_nodes = _with_inner(set(next_nodes), graph)
    boxes, lines, size = graph_layout(graph, next_nodes, wrote, filtered)
    clicked = diagram("graph", boxes, lines, size, "The agent's graph: click a node", "graph")
    if filtered:
        st.caption(f"The timeline lists only the checkpoints {node_title(filtered)} wrote.")
        if st.button("Show all checkpoints", icon=":material/filter_alt_off:", key="graph_all"):
            clicked = filtered
    st.caption(HELP if graph.approval_node else OWN_GRAPH_HELP)
    if clicked:
        filter_timeline(None if clicked == filtered else clicked)
        st.rerun()
