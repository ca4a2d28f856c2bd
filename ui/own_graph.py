"""The chat for your own graph: what it is before the first run, and its state beside the
messages (a graph may keep no messages at all: then its state is the conversation)."""

from __future__ import annotations

import streamlit as st

from agent.protocol import BackendInfo, ThreadView
from ui.long_text import json_view
from ui.safe_text import LABEL_CHARS, SENTENCE_CHARS, code, plain


def own_graph_welcome(info: BackendInfo) -> None:
    st.title(plain(info.graph_name, LABEL_CHARS))
    if info.graph_description:
        st.markdown(plain(info.graph_description, SENTENCE_CHARS))
    if info.chat_messages:
        st.markdown(
            "Your graph keeps chat messages: type below and each message becomes a human "
            "message in its state. Every step is saved as a checkpoint; a node that calls "
            "`interrupt()` stops the run until you answer here."
        )
    else:
        st.markdown(
            "Your graph keeps no chat messages, so a run starts from its input as JSON, "
            f"for example {code(info.input_example)}. Its state shows here as it runs; a node "
            "that calls `interrupt()` stops the run until you answer here."
        )


def own_graph_state(view: ThreadView) -> None:
    """The graph's other channels, as JSON: open when it has no messages to show instead."""
    if not view.values:
        return
    with st.expander("State (the channels other than messages)", expanded=not view.messages):
        json_view(view.values, "state", f"own_state_{view.thread.id}", expanded=True)
