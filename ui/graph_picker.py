"""The sidebar's line about the graph this app drives: yours (with a picker when a langgraph.json
names several), or nothing for the built-in research agent."""

from __future__ import annotations

import streamlit as st

from agent.protocol import BackendInfo
from ui.safe_text import LABEL_CHARS, SENTENCE_CHARS, plain
from ui.session import select_graph


def graph_picker(info: BackendInfo) -> None:
    if not info.graph_name:
        return
    if len(info.graphs) > 1:
        index = info.graphs.index(info.graph_name) if info.graph_name in info.graphs else 0
        picked = st.selectbox(
            "Graph",
            info.graphs,
            index=index,
            format_func=lambda name: plain(name, LABEL_CHARS),
            help="The graphs your langgraph.json names; each keeps its own threads.",
            key="graph_picker",
        )
        if picked != info.graph_name:
            select_graph(None if picked == info.graphs[0] else picked)
            st.rerun()
    else:
        st.markdown(f"Graph: **{plain(info.graph_name, LABEL_CHARS)}**")
    if info.graph_description:
        st.caption(plain(info.graph_description, SENTENCE_CHARS))
