"""Edit your own graph's state at a past checkpoint: its channels as JSON, written as a node.

The same time travel as the message editor: LangGraph's `update_state` on this checkpoint writes
a new one after it (a fork); the original stays in the timeline. Which node the update is written
as decides what runs next (LangGraph continues as if that node had just finished), so it is a
choice here, defaulting to what LangGraph infers. The engine checks the JSON against the state's
keys and schema: a value that does not fit gets a sentence and nothing is written.
"""

from __future__ import annotations

import json

import streamlit as st

from agent.protocol import Backend, CheckpointDetail
from ui.fork_button import save_as_fork
from ui.identity import current_user
from ui.safe_text import LABEL_CHARS, plain

STATE_HELP = (
    "Change any channel of the state (not the messages: edit those one by one above). Saving "
    "calls `graph.update_state(config, values, as_node=...)` on this checkpoint: a new "
    "checkpoint after it, a fork. Replay from it to see what the graph does next."
)
INFERRED = "(as LangGraph infers)"


def state_editor(backend: Backend, detail: CheckpointDetail) -> None:
    st.caption(STATE_HELP)
    key = detail.checkpoint_id
    typed = st.text_area(
        "State channels (JSON)",
        json.dumps(detail.values, ensure_ascii=False, indent=2, default=str),
        height=220,
        key=f"state_{key}",
        help="Only the channels you keep here are written; remove the ones you do not change.",
    )
    nodes = [node for node in backend.graph_view().nodes if not node.startswith("__")]
    as_node = st.selectbox(
        "Write it as the node",
        [INFERRED, *nodes],
        key=f"state_as_{key}",
        format_func=lambda name: plain(name, LABEL_CHARS),
        help="The run goes on as if this node had just written the change: what follows it "
        "runs next.",
    )
    save_as_fork(
        f"state_go_{key}",
        lambda: backend.edit_state(
            current_user(),
            detail.thread_id,
            detail.checkpoint_id,
            typed,
            None if as_node == INFERRED else as_node,
        ),
        "Saved as a new checkpoint after this one (a fork); the original stays in the timeline. "
        "Replay runs the graph on from it; the chat shows it.",
    )


SUBGRAPH_STATE_HELP = (
    "Change the subgraph's own channels. Saving forks the parent step that runs the subgraph and "
    "calls `update_state` on a copy of this checkpoint in the fork's subgraph namespace; the "
    "original stays as it was. Replay from the new checkpoint continues the subgraph from the edit."
)


def subgraph_state_editor(backend: Backend, detail: CheckpointDetail) -> None:
    """The same editor for a checkpoint inside a subgraph, written as one of the subgraph's nodes."""
    st.caption(SUBGRAPH_STATE_HELP)
    key = f"{detail.checkpoint_ns}_{detail.checkpoint_id}"
    typed = st.text_area(
        "Subgraph state channels (JSON)",
        json.dumps(detail.values, ensure_ascii=False, indent=2, default=str),
        height=220,
        key=f"sub_state_{key}",
        help="Only the channels you keep here are written; remove the ones you do not change.",
    )
    node = detail.checkpoint_ns.split(":", 1)[0]
    inner = [
        name.removeprefix(f"{node}:")
        for name in backend.graph_view().nodes
        if name.startswith(f"{node}:") and not name.removeprefix(f"{node}:").startswith("__")
    ]
    as_node = st.selectbox(
        "Write it as the subgraph's node",
        [INFERRED, *inner],
        key=f"sub_state_as_{key}",
        format_func=lambda name: plain(name, LABEL_CHARS),
        help="The subgraph goes on as if this node had just written the change.",
    )
    save_as_fork(
        f"sub_state_go_{key}",
        lambda: backend.edit_subgraph_state(
            current_user(),
            detail.thread_id,
            detail.checkpoint_ns,
            detail.checkpoint_id,
            typed,
            None if as_node == INFERRED else as_node,
        ),
        "Saved as a new subgraph checkpoint, in a fork of the parent step; the original stays in "
        "the timeline. Replay continues the subgraph from it.",
    )
