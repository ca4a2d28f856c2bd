"""The only things a browser session remembers: UI choices, never conversation content.

The selected thread lives in the URL (`?thread=…`) so that a refresh or a shared link reopens it.
No thread selected is the new, empty chat: a thread exists from its first message.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

THREAD_PARAM = "thread"
GRAPH_PARAM = "graph"  # which of your graphs, when WAYPOINT_GRAPH names several
GRAPH_KEY = "picked_graph"  # the same, remembered across page switches
CHECKPOINT_PARAM = "checkpoint"
NAMESPACE_PARAM = "ns"  # the picked checkpoint's subgraph namespace (none: the parent's)
NODE_PARAM = "node"
CHAT_PAGE = "app_pages/chat.py"
CHAT_REQUEST = "open_chat_requested"


def selected_thread() -> str | None:
    """The open thread: from the URL, or, after a page switch (whose links carry no query), the
    one this browser session had open, put back into the URL."""
    thread_id = st.query_params.get(THREAD_PARAM) or None
    if thread_id is None and (remembered := st.session_state.get(THREAD_PARAM)):
        st.query_params[THREAD_PARAM] = thread_id = remembered
    st.session_state[THREAD_PARAM] = thread_id
    return thread_id


def selected_graph() -> str | None:
    """The graph picked in the sidebar (None: the first), kept across page switches as the
    thread is."""
    graph = st.query_params.get(GRAPH_PARAM) or None
    if graph is None and (remembered := st.session_state.get(GRAPH_KEY)):
        st.query_params[GRAPH_PARAM] = graph = remembered
    st.session_state[GRAPH_KEY] = graph
    return graph


def select_graph(graph: str | None) -> None:
    """Switch graphs: each has its own threads, so no thread stays open."""
    st.session_state[GRAPH_KEY] = graph
    _set_param(GRAPH_PARAM, graph)
    select_thread(None)


def select_thread(thread_id: str | None) -> None:
    """Open a thread (or none); a checkpoint picked in another thread no longer applies."""
    if thread_id != selected_thread():
        st.query_params.pop(CHECKPOINT_PARAM, None)
        st.query_params.pop(NAMESPACE_PARAM, None)
    st.session_state[THREAD_PARAM] = thread_id
    _set_param(THREAD_PARAM, thread_id)


def _set_param(name: str, value: str | None) -> None:
    """Put `value` in the URL as `name`, or take `name` out of the URL when there is none."""
    if value:
        st.query_params[name] = value
    else:
        st.query_params.pop(name, None)


# A sentence the Inspector shows once, after an edit, a fork or an import took it elsewhere.
INSPECTOR_NOTICE = "inspector_notice"


def selected_checkpoint() -> str | None:
    """The checkpoint picked in the inspector, also in the URL so a link reopens it."""
    return st.query_params.get(CHECKPOINT_PARAM) or None


def selected_namespace() -> str:
    """The picked checkpoint's subgraph namespace, "" for one of the parent's."""
    return st.query_params.get(NAMESPACE_PARAM) or ""


def select_checkpoint(checkpoint_id: str | None, namespace: str = "") -> None:
    """Pick a checkpoint: the parent's, or with `namespace` one of a subgraph's own."""
    _set_param(CHECKPOINT_PARAM, checkpoint_id)
    _set_param(NAMESPACE_PARAM, namespace if checkpoint_id else None)


def new_thread() -> None:
    """The "New thread" button: the chat with no thread open. Nothing is stored yet: the first
    message creates the thread (`Backend.start_thread`), and its id then goes into the URL.

    The button sits in the sidebar, drawn before `st.navigation` knows the pages, so the switch
    to the chat is asked for here and made by `follow_page_request` once they are known.
    """
    select_thread(None)
    st.session_state[CHAT_REQUEST] = True
    st.rerun()


def follow_page_request(page: StreamlitPage) -> None:
    """Go to the chat when the sidebar asked for it (`new_thread`) on another page."""
    if st.session_state.pop(CHAT_REQUEST, False) and page.url_path:  # "": the chat (default)
        st.switch_page(CHAT_PAGE)


def open_chat(thread_id: str) -> None:
    """Go to the chat page on `thread_id` (where runs, approvals and branches are shown)."""
    st.switch_page(CHAT_PAGE, query_params={THREAD_PARAM: thread_id})


def timeline_node() -> str | None:
    """The graph node the inspector's timeline is filtered to (in the URL, so a link keeps it)."""
    return st.query_params.get(NODE_PARAM) or None


def filter_timeline(node: str | None) -> None:
    _set_param(NODE_PARAM, node)
