"""Inspector: the selected thread's graph and checkpoints, any checkpoint's state and changes, and
time travel (edit and fork, fork to a new thread, replay, show a branch in the chat), plus export
and import. The graph navigates: a click on a node filters the timeline to what it wrote."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from agent.protocol import UnknownThread
from ui import resources
from ui.checkpoint_view import checkpoint_view
from ui.feedback import USER_ERRORS, show_problem
from ui.graph_view import graph_view
from ui.identity import current_user
from ui.message_editor import message_editor
from ui.safe_text import SENTENCE_CHARS, code, plain
from ui.session import (
    INSPECTOR_NOTICE,
    open_chat,
    select_thread,
    selected_checkpoint,
    selected_namespace,
    selected_thread,
    timeline_node,
)
from ui.state_editor import state_editor, subgraph_state_editor
from ui.timeline_list import PAGE_SIZE, row_note, timeline_list
from ui.transfer_panel import export_button, import_form

STATIC_BREAKPOINTS = (
    "This graph was compiled with breakpoints (`interrupt_before` / `interrupt_after`): a replay "
    "or a fork from a past checkpoint can pass through them without stopping. To stop there for "
    "sure, choose the node under Settings → Pause before: each run is given those."
)
REPLAY_HELP = (
    "Replay from here: runs the graph again from this checkpoint (LangGraph forks the history there). If "
    "the next node is `action`, the approval panel asks first: a tool never runs unasked."
)

SUBGRAPH_REPLAY_HELP = (
    "Replay from here: the subgraph goes on from this checkpoint; its steps before it are not "
    "run again. Waypoint forks the parent step that runs it and continues the subgraph there "
    "(LangGraph itself would rerun the whole subgraph: langgraph issue #8458)."
)
SUBGRAPH_ONLY_PARENT = (
    "Show in chat and Fork thread work on the parent's checkpoints: pick the parent step this "
    "subgraph runs in (the row above these) for them."
)

backend = resources.backend()
choices, options = st.session_state["choices"], st.session_state["options"]

st.title("Inspector")
show_problem()
thread_id = selected_thread()
thread = backend.find_thread(current_user(), thread_id) if thread_id else None
if thread is None:
    if thread_id:
        st.error(plain(UnknownThread(thread_id), SENTENCE_CHARS))
    else:
        st.info("Pick a thread in the sidebar to see its checkpoints, or import one.")
    import_form(backend)
    st.stop()

st.caption(f"Thread “{plain(thread.title)}” · {code(thread.id)}")
node = timeline_node()
offset_key = f"timeline_offset_{thread.id}_{node}"
offset = st.session_state.get(offset_key, 0)
page = backend.timeline(current_user(), thread.id, limit=PAGE_SIZE, offset=offset, written_by=node)
chosen = selected_checkpoint() or page.head_id
ns = selected_namespace() if selected_checkpoint() else ""
detail, problem = None, None
if chosen is not None:
    try:
        detail = backend.checkpoint_detail(current_user(), thread.id, chosen, ns)
    except USER_ERRORS as error:
        problem = error
if notice := st.session_state.pop(INSPECTOR_NOTICE, None):
    st.success(notice, icon=":material/check_circle:")

inside = f"{ns.split(':', 1)[0]}:" if ns else ""
left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader("Graph")
    graph = backend.graph_view()
    graph_view(
        replace(  # the breakpoints chosen for the next runs, beside the graph's own
            graph,
            pause_before=(*graph.pause_before, *options.pause_before),
            pause_after=(*graph.pause_after, *options.pause_after),
        ),
        # a subgraph's nodes are drawn inside it as `node:inner`
        next_nodes=tuple(f"{inside}{n}" for n in detail.next_nodes) if detail else (),
        wrote=tuple(f"{inside}{n}" for n in detail.row.written_by) if detail else (),
        filtered=node,
    )
    st.subheader("Timeline")
    if not page.rows:
        st.caption(
            "No checkpoints yet: send a message in the chat first."
            if not node
            else "This node wrote no checkpoint in this thread: click it again to see all."
        )
    timeline_list(page, chosen, offset_key, ns)
    with st.expander("Export or import", icon=":material/swap_vert:"):
        export_button(backend, thread)
        import_form(backend)

with right, st.container(key="inspector_detail"):
    if problem is not None:
        st.error(plain(problem, SENTENCE_CHARS))
    if detail is None:
        st.stop()
    row = detail.row
    st.subheader(f"Step {plain(row.step)} · {plain(row.source or 'bookkeeping')}", anchor="detail")
    if ns:
        st.caption(
            f":material/account_tree: A checkpoint of a subgraph's own · namespace {code(ns)}"
        )
    st.markdown(plain(row.label, SENTENCE_CHARS))
    if note := row_note(row):
        st.info(note, icon=":material/info:")
    if graph.static_breakpoints and row.next_nodes:
        st.caption(STATIC_BREAKPOINTS)
    replay, show, fork = st.columns(3)
    try:
        if replay.button(
            "Replay",
            icon=":material/replay:",
            type="primary",
            width="stretch",
            help=SUBGRAPH_REPLAY_HELP if ns else REPLAY_HELP,
            disabled=not row.next_nodes,
        ):
            backend.resume(
                current_user(), thread.id, choices, options, checkpoint_id=chosen, checkpoint_ns=ns
            )
            open_chat(thread.id)
        if show.button(
            "Show in chat",
            icon=":material/forum:",
            width="stretch",
            help="Show this branch in the chat: the conversation as it stands at this "
            "checkpoint. Sending from there continues this branch.",
            disabled=bool(ns),
        ):
            backend.show_branch(current_user(), thread.id, chosen)
            open_chat(thread.id)
        if fork.button(
            "Fork thread",
            icon=":material/fork_right:",
            width="stretch",
            help="Fork to a new thread: a new thread whose history is the steps that led "
            "here (not later ones, nor other branches); it continues from this point, asking "
            "again for any approval. This one stays as it is.",
            disabled=bool(ns),
        ):
            copy = backend.fork_thread(current_user(), thread.id, detail.checkpoint_id)
            select_thread(copy.id)
            open_chat(copy.id)
    except USER_ERRORS as error:
        st.error(plain(error, SENTENCE_CHARS))
    if ns:
        st.caption(SUBGRAPH_ONLY_PARENT)
    checkpoint_view(detail)
    info = backend.info(current_user())
    if ns:
        with st.expander(
            "Edit the subgraph's state here (creates a fork)", icon=":material/data_object:"
        ):
            subgraph_state_editor(backend, detail)
        st.stop()
    if info.chat_messages:
        with st.expander("Edit a message here (creates a fork)", icon=":material/edit:"):
            message_editor(backend, detail, choices)
    if info.graph_name:
        with st.expander("Edit the state here (creates a fork)", icon=":material/data_object:"):
            state_editor(backend, detail)
