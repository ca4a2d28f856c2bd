"""One checkpoint in the inspector: its messages, what changed, the raw state, metadata, the graph.

Everything is drawn from the engine's `CheckpointDetail`; text is rendered as Markdown or code,
never as HTML.
"""

from __future__ import annotations

import streamlit as st

from agent.graph import AgentGraph
from agent.timeline import call_text
from agent.views import CheckpointDetail, MessageView
from ui.graph_view import graph_view
from ui.transcript import transcript

DIFF_HELP = (
    "What this checkpoint's step changed in the state, compared with its parent checkpoint: "
    "messages by id (an edit keeps the id, so it shows as changed), then other channels."
)
WRITES_HELP = (
    "Pending writes are saved on a checkpoint for the step after it: results of tasks that "
    "finished, an interrupt asking for approval, or the human's answer to it."
)


def _message_line(message: MessageView) -> str:
    calls = ", ".join(f"`{call_text(c.name, c.args)}`" for c in message.tool_calls)
    body = message.text or calls or "(empty)"
    return f"**{message.role}** · `{message.id}`\n\n{body}"


def _diff(detail: CheckpointDetail) -> None:
    st.caption(DIFF_HELP)
    diff = detail.diff
    if diff.empty:
        st.info("Nothing changed: this checkpoint holds the same state as its parent.")
    for message in diff.added:
        st.success(_message_line(message), icon=":material/add:")
    for change in diff.changed:
        st.warning(_message_line(change.before), icon=":material/remove:")
        st.success(_message_line(change.after), icon=":material/edit:")
    for message in diff.removed:
        st.error(_message_line(message), icon=":material/delete:")
    if diff.channels:
        st.caption("Other channels written: " + ", ".join(f"`{c}`" for c in diff.channels))


def _metadata(detail: CheckpointDetail) -> None:
    st.markdown(f"**Checkpoint id** `{detail.checkpoint_id}`  \n**Parent** `{detail.parent_id}`")
    st.markdown(
        "**Next** "
        + (", ".join(f"`{n}`" for n in detail.next_nodes) or "nothing: the run ended here")
    )
    st.json(detail.metadata, expanded=False)
    st.caption(WRITES_HELP)
    if not detail.pending_writes:
        st.caption("No pending writes.")
    for write in detail.pending_writes:
        st.markdown(f"`{write.channel}` · {write.summary}  \n:gray[task {write.task_id}]")
    for interrupt in detail.interrupts:
        calls = ", ".join(f"`{call_text(c.name, c.args)}`" for c in interrupt.calls)
        st.warning(
            f"Interrupt `{interrupt.id}`: asks about {calls or 'a value'}",
            icon=":material/front_hand:",
        )


def checkpoint_view(detail: CheckpointDetail, graph: AgentGraph) -> None:
    messages, changes, raw, meta, drawing = st.tabs(
        ["Messages", "Changes", "State (JSON)", "Metadata and writes", "Graph"]
    )
    with messages:
        if detail.messages:
            transcript(detail.messages, key=f"inspector_{detail.thread_id}")
        else:
            st.caption("No messages yet at this checkpoint.")
        if detail.pending_calls:
            st.caption(
                "A run from here would ask for approval of: "
                + ", ".join(f"`{call_text(c.name, c.args)}`" for c in detail.pending_calls)
            )
    with changes:
        _diff(detail)
    with raw:
        st.json({"messages": list(detail.raw_messages), **detail.values}, expanded=1)
    with meta:
        _metadata(detail)
    with drawing:
        graph_view(graph, detail.next_nodes)
