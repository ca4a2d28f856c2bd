"""The inspector's timeline: every checkpoint of a thread, newest first, grouped by run, paged.

Rows come from the engine's timeline (read from checkpoint metadata, never by rebuilding states),
so a thread with a thousand checkpoints opens quickly. A tree drawing shows where history forks.
"""

from __future__ import annotations

import time

import streamlit as st

from agent.protocol import CheckpointRow, TimelinePage
from ui.graph_view import dot_quote
from ui.safe_text import plain
from ui.session import select_checkpoint

PAGE_SIZE = 40
TIMELINE_HELP = (
    "A checkpoint is the saved state after one super-step (the nodes that ran together). "
    "Source: *input* (your message arrived), *loop* (a node finished), *update* (a human "
    "changed the state), *fork* (a run started again from the past). Click a row to see that "
    "state."
)
SOURCE_ICONS = {
    "input": ":material/login:",
    "loop": ":material/sync:",
    "update": ":material/edit:",
    "fork": ":material/call_split:",
}


def _node(name: str) -> str:
    """`__start__` would read as bold Markdown; show LangGraph's special names plainly."""
    return name.strip("_")


def _clock(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def row_label(row: CheckpointRow) -> str:
    """The row's button label; everything in it read from a checkpoint is plain text (an imported
    file can hold any metadata)."""
    writer = "+".join(_node(n) for n in row.written_by) or "—"
    goes = " → " + ", ".join(_node(n) for n in row.next_nodes) if row.next_nodes else " → end"
    marks = []
    if row.is_head:
        marks.append("shown in chat")
    if row.is_fork_point:
        marks.append(f"fork point: {row.children} branches")
    if row.branch:
        marks.append(f"branch {row.branch + 1}")
    if row.halted:
        marks.append("halted here for approval")
    if row.stopped:
        marks.append("stopped by you")
    if row.error:
        marks.append("error")
    extra = f"  \n:gray[{' · '.join(marks)}]" if marks else ""
    icon = SOURCE_ICONS.get(row.source, ":material/more_horiz:")
    source = plain(row.source or "bookkeeping")
    return (
        f"{icon} **{plain(row.step)}** · {source} · {plain(writer + goes)} · "
        f"{_clock(row.created_at)}  \n{plain(row.label)}{extra}"
    )


def tree_dot(page: TimelinePage, selected: str | None) -> str:
    """Parent links of the rows on this page, as DOT; forks show as a node with several children."""
    on_page = {row.checkpoint_id for row in page.rows}
    lines = [
        "digraph T {",
        '  rankdir=TB; bgcolor="transparent";',
        '  node [shape=box, style="rounded,filled", fillcolor="#f0f2f6", fontsize=10, '
        'fontname="sans-serif"];',
    ]
    for row in reversed(page.rows):
        writer = "+".join(_node(n) for n in row.written_by) or "-"
        label = dot_quote(f"{row.step} {row.source}\n{writer}")
        color = ', fillcolor="#bfdbfe", penwidth=2' if row.checkpoint_id == selected else ""
        if row.is_head:
            color += ', color="#1d4ed8"'
        lines.append(f"  {dot_quote(row.checkpoint_id)} [label={label}{color}];")
        if row.parent_id in on_page:
            lines.append(f"  {dot_quote(row.parent_id)} -> {dot_quote(row.checkpoint_id)};")
    lines.append("}")
    return "\n".join(lines)


def timeline_list(page: TimelinePage, selected: str | None, offset_key: str) -> None:
    """Draw the page of rows; Newer/Older move the offset kept under `offset_key`."""
    st.caption(TIMELINE_HELP)
    st.caption(
        f"{page.total:,} checkpoints · {page.branches} branch"
        f"{'es' if page.branches != 1 else ''} · showing {page.offset + 1:,}–"
        f"{page.offset + len(page.rows):,}"
    )
    if page.branches > 1:
        with st.expander("Tree: where history forks", icon=":material/account_tree:"):
            st.graphviz_chart(tree_dot(page, selected), width="stretch")
    run = object()
    for row in page.rows:
        if row.run_number != run:
            run = row.run_number
            st.markdown(f"**Run {run}**" if run else "**Edits and bookkeeping**")
        chosen = row.checkpoint_id == selected
        if st.button(
            row_label(row),
            key=f"cp_{row.checkpoint_id}",
            width="stretch",
            type="secondary" if chosen else "tertiary",
        ):
            select_checkpoint(row.checkpoint_id)
            st.rerun()
    newer, older = st.columns(2)
    if page.offset and newer.button("Newer", icon=":material/arrow_upward:", key="tl_newer"):
        st.session_state[offset_key] = max(0, page.offset - page.limit)
        st.rerun()
    if page.has_more and older.button("Older", icon=":material/arrow_downward:", key="tl_older"):
        st.session_state[offset_key] = page.offset + page.limit
        st.rerun()
