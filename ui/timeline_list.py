"""The inspector's timeline: every checkpoint of a thread, newest first, grouped by run, paged.

Rows come from the engine's timeline (read from checkpoint metadata, never by rebuilding states),
so a thread with a thousand checkpoints opens quickly. A tree shows where history forks (click a
node to pick that checkpoint), and the rows LangGraph writes for its own bookkeeping say what
they are where they appear.
"""

from __future__ import annotations

import time

import streamlit as st

from agent.protocol import CheckpointRow, SubgraphCheckpoint, SubgraphView, TimelinePage
from ui.diagram import Box, Line, diagram
from ui.row_button import row_button
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
# Rows a newcomer would not expect, in a few words on the row and in full on its detail.
ROW_NOTES = {
    "input": (
        "before any node ran",
        "Step -1, source *input*: LangGraph saves a run's input here before any node runs; "
        "the state does not hold it yet. The next step (0, written by `start`) puts it in.",
    ),
    "start": (
        "your input put into the state",
        "Step 0: the graph's `start` applied the run's input to the state; the first node "
        "runs in the next step.",
    ),
    "update": (
        "written by update_state, not by a run",
        "Source *update*: `graph.update_state(config, values, as_node=...)` wrote this, as if "
        "the node named by `as_node` had: a person changed the state (an edit, a decision "
        "that cancelled calls, Stop). Nothing ran; the next node is what that node's edges give.",
    ),
    "fork": (
        "a copy where a run started again",
        "Source *fork*: a run started from a past checkpoint (Replay) or a thread was copied, "
        "so LangGraph saved a copy of that checkpoint to continue from; the original branch "
        "stays as it was.",
    ),
    "": (
        "LangGraph's own bookkeeping",
        "No source: with durability *exit* a run saves its steps only when it ends, and "
        "LangGraph keeps their writes on this extra row (step -2 and below).",
    ),
}
ROW_HEIGHT = 26.0
LANE_WIDTH = 18.0
TREE_LABEL_CHARS = 44
# Streamlit centres button labels; a list of rows reads from the left. Static CSS, no text in it.
# On a narrow screen the columns stack: the picked checkpoint's detail goes first.
CSS = """<style>
.st-key-timeline_rows button { justify-content: flex-start; text-align: left; }
[class*="st-key-sub_rows_"] { margin-left: 1.5rem; }
.st-key-timeline_rows button > div { width: 100%; justify-content: flex-start; }
.st-key-timeline_rows button div, .st-key-timeline_rows button p { text-align: left; }
@media (max-width: 640px) {
  [data-testid="stColumn"]:has(.st-key-inspector_detail) { order: -1; }
}
@media (min-width: 641px) { .st-key-jump_detail { display: none; } }
</style>"""


def _node(name: str) -> str:
    """`__start__` would read as bold Markdown; show LangGraph's special names plainly."""
    return name.strip("_")


def _clock(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def row_kind(row: CheckpointRow) -> str | None:
    """Which of `ROW_NOTES` explains the row, if any (ordinary "loop" steps need none)."""
    if row.source == "loop":
        return "start" if row.written_by == ("__start__",) else None
    return row.source if row.source in ROW_NOTES else ""


def row_note(row: CheckpointRow) -> str | None:
    """The full explanation of an unexpected row, for its detail (Markdown of our own)."""
    kind = row_kind(row)
    return ROW_NOTES[kind][1] if kind is not None else None


def row_label(row: CheckpointRow) -> str:
    """The row's button label; everything in it read from a checkpoint is plain text (an imported
    file can hold any metadata)."""
    writer = "+".join(_node(n) for n in row.written_by) or "—"
    goes = " → " + ", ".join(_node(n) for n in row.next_nodes) if row.next_nodes else " → end"
    marks = []
    if (kind := row_kind(row)) is not None:
        marks.append(ROW_NOTES[kind][0])
    if row.is_head:
        marks.append("shown in chat")
    if row.is_fork_point:
        marks.append(f"fork point: {row.children} branches")
    if row.branch:
        marks.append(f"branch {row.branch + 1}")
    if row.halted:
        marks.append("halted here for you")
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


def tree_layout(
    rows: tuple[CheckpointRow, ...], selected: str | None
) -> tuple[list[Box], list[Line], tuple[float, float]]:
    """The rows as a tree, newest on top as in the list: one column (lane) per branch, a line
    from each checkpoint to its parent, each dot labelled with its step and what happened."""
    lanes = max((row.branch for row in rows), default=0) + 1
    text_x = lanes * LANE_WIDTH + 8
    width = text_x + TREE_LABEL_CHARS * 6.6 + 8
    where = {row.checkpoint_id: index for index, row in enumerate(rows)}
    boxes, lines = [], []
    for index, row in enumerate(rows):
        x, y = 4 + row.branch * LANE_WIDTH, 4 + index * ROW_HEIGHT
        label = f"{row.step} · {row.label}"
        if len(label) > TREE_LABEL_CHARS:
            label = label[: TREE_LABEL_CHARS - 1] + "…"
        marks = ["picked"] if row.checkpoint_id == selected else []
        if row.is_head:
            marks.append("head")
        if not row.on_shown_branch:
            marks.append("off")
        title = f"Step {row.step} · {row.source or 'bookkeeping'}: {row.label}"
        if row.is_head:
            title += " (shown in chat)"
        boxes.append(
            Box(
                row.checkpoint_id,
                *(x, y, width - x - 4, 18),
                (label,),
                title,
                "dot",
                tuple(marks),
                text_x=text_x,
            )
        )
        if row.parent_id in where:
            parent = where[row.parent_id]
            px = 4 + rows[parent].branch * LANE_WIDTH + 9
            start, end = (px, 4 + parent * ROW_HEIGHT + 2), (x + 9, y + 16)
            bend = (x + 9, start[1]) if px != x + 9 else None
            points = (start, bend, end) if bend else (start, end)
            lines.append(Line(points, arrow=False))
    return boxes, lines, (width, len(rows) * ROW_HEIGHT + 8)


def _tree(page: TimelinePage, selected: str | None) -> None:
    with st.expander("Tree: where history forks", icon=":material/account_tree:"):
        st.caption(
            "One column per branch, newest on top; grey rows are off the branch the chat "
            "shows. Click a dot to pick that checkpoint."
        )
        boxes, lines, size = tree_layout(page.rows, selected)
        picked = diagram("tree", boxes, lines, size, "Checkpoint tree: click a dot", "tree")
        if picked and picked != selected:
            select_checkpoint(picked)
            st.rerun()


def subgraph_label(checkpoint: SubgraphCheckpoint, node: str) -> str:
    """A subgraph checkpoint's row: indented under the parent step, plain text throughout."""
    goes = ", ".join(_node(n) for n in checkpoint.next_nodes) or "end"
    icon = SOURCE_ICONS.get(checkpoint.source, ":material/more_horiz:")
    return (
        f":material/subdirectory_arrow_right: {icon} **{plain(checkpoint.step)}** · "
        f"{plain(checkpoint.source or 'bookkeeping')} · inside {plain(node)} → {plain(goes)}"
    )


def _subgraph_rows(sub: SubgraphView, selected: str | None, ns: str) -> None:
    """The subgraph's own checkpoints, newest first, under the parent step that runs it."""
    with st.container(key=f"sub_rows_{sub.namespace}"):
        st.caption(
            f"Inside the next step, the subgraph {plain(sub.node)} "
            f"({len(sub.checkpoints)} checkpoints of its own): click one to see or replay it."
        )
        for checkpoint in sub.checkpoints:
            picked = checkpoint.checkpoint_id == selected and ns == sub.namespace
            if row_button(
                subgraph_label(checkpoint, sub.node),
                f"sub_{sub.namespace}_{checkpoint.checkpoint_id}",
                picked,
            ):
                select_checkpoint(checkpoint.checkpoint_id, sub.namespace)
                st.rerun()


def timeline_list(page: TimelinePage, selected: str | None, offset_key: str, ns: str = "") -> None:
    """Draw the page of rows, each subgraph's own checkpoints under the step that runs it;
    Newer/Older move the offset kept under `offset_key`. `ns`: the picked one's namespace."""
    st.html(CSS)
    st.caption(TIMELINE_HELP)
    what = "checkpoint" if page.total == 1 else "checkpoints"
    if page.written_by:
        what += f" written by {_node(page.written_by)}"
    st.caption(
        f"{page.total:,} {what} · {page.branches} branch"
        f"{'es' if page.branches != 1 else ''} · showing {page.offset + 1:,}–"
        f"{page.offset + len(page.rows):,}"
    )
    if page.branches > 1 and not page.written_by:
        _tree(page, selected)
    with st.container(key="jump_detail"):  # shown on narrow screens only (CSS)
        st.markdown(":material/arrow_upward: [The picked checkpoint's detail](#detail) is on top.")
    run = object()
    with st.container(key="timeline_rows"):
        for row in page.rows:
            if row.run_number != run:
                run = row.run_number
                st.markdown(f"**Run {run}**" if run else "**Edits and bookkeeping**")
            if row_button(
                row_label(row), f"cp_{row.checkpoint_id}", row.checkpoint_id == selected and not ns
            ):
                select_checkpoint(row.checkpoint_id)
                st.rerun()
            for sub in page.subgraphs.get(row.checkpoint_id, ()):
                _subgraph_rows(sub, selected, ns)
    newer, older = st.columns(2)
    if page.offset and newer.button("Newer", icon=":material/arrow_upward:", key="tl_newer"):
        st.session_state[offset_key] = max(0, page.offset - page.limit)
        st.rerun()
    if page.has_more and older.button("Older", icon=":material/arrow_downward:", key="tl_older"):
        st.session_state[offset_key] = page.offset + page.limit
        st.rerun()
