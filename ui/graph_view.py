"""The compiled graph drawn with Graphviz (rendered in the browser: no internet, no system package).

Drawn from the backend's `GraphView` (LangGraph's `get_graph()`), so it matches the graph that runs. The approval point (the
`interrupt()` at the top of `action`) is marked on the action node, and the node(s) a selected
checkpoint would run next are highlighted: that is "where the checkpoint stands".
"""

from __future__ import annotations

from collections.abc import Collection

import streamlit as st

from agent.protocol import GraphView

LABELS = {
    "__start__": "start",
    "__end__": "end",
    "llm": "llm\n(chat model, tools bound)",
    "action": "action\n(runs the tool calls)",
}
EDGE_LABELS = {("llm", "action"): "tool calls", ("llm", "__end__"): "answer"}
HELP = (
    "Each box is a node; a super-step runs the nodes that are next, then saves a checkpoint. The "
    "orange box is the approval point: `action` calls `interrupt()` before it runs any tool, so the "
    "run halts there until you decide. The highlighted node is what runs next from the selected "
    "checkpoint."
)


def dot_quote(text: str) -> str:
    """A DOT string literal: checkpoint metadata can come from an imported file, so escape it."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def graph_dot(graph: GraphView, next_nodes: Collection[str] = ()) -> str:
    """DOT source for the graph, with the approval point and the next node(s) marked."""
    lines = [
        "digraph G {",
        '  rankdir=TB; bgcolor="transparent";',
        '  node [shape=box, style="rounded,filled", fillcolor="#f0f2f6", fontname="sans-serif"];',
        '  edge [fontname="sans-serif", fontsize=10];',
    ]
    for name in graph.nodes:
        label = LABELS.get(name, name)
        attrs = [f"label={dot_quote(label)}"]
        if name in ("__start__", "__end__"):
            attrs.append("shape=oval")
        if name == graph.approval_node:
            attrs[0] = f"label={dot_quote('asks approval (interrupt), then ' + label)}"
            attrs.append('color="#d97706", penwidth=2')
        if name in next_nodes:
            attrs.append('fillcolor="#bfdbfe", color="#1d4ed8", penwidth=3')
        lines.append(f"  {dot_quote(name)} [{', '.join(attrs)}];")
    for edge in graph.edges:
        attrs = []
        if edge_label := EDGE_LABELS.get((edge.source, edge.target)):
            attrs.append(f"label={dot_quote(edge_label)}")
        if edge.conditional:
            attrs.append("style=dashed")
        lines.append(
            f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)} [{', '.join(attrs)}];"
        )
    lines.append("}")
    return "\n".join(lines)


def graph_view(graph: GraphView, next_nodes: Collection[str] = ()) -> None:
    st.graphviz_chart(graph_dot(graph, next_nodes), width="stretch")
    st.caption(HELP)
