"""Sidebar thread selector: new, search, switch, rename, delete.

"New thread" stores nothing: it opens the empty chat, and the first message creates the thread,
so leaving an empty chat leaves no row behind.

Reads only the thread index (never checkpoint blobs), so it stays fast with thousands of threads.
"""

from __future__ import annotations

import time

import streamlit as st

from agent.protocol import Backend, ThreadInfo
from ui.feedback import USER_ERRORS, attempt
from ui.identity import current_user
from ui.row_button import row_button
from ui.safe_text import SENTENCE_CHARS, plain
from ui.session import new_thread, select_thread, selected_thread

BADGES = {
    "running": ":blue[● running]",
    "waiting": ":orange[● needs approval]",
    "error": ":red[● error]",
    "idle": "",
}
# Your own graph's threads wait for approvals and for answers to its questions alike.
OWN_GRAPH_WAITING = ":orange[● waits for you]"
PAGE = 30
BADGE_REFRESH_SECONDS = 1.0


def relative_time(timestamp: float, now: float | None = None) -> str:
    seconds = max(0, int((now or time.time()) - timestamp))
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _label(thread: ThreadInfo, own_graph: bool) -> str:
    badge = BADGES.get(thread.status, "")
    if own_graph and thread.status == "waiting":
        badge = OWN_GRAPH_WAITING
    return f"{plain(thread.title)}  \n:gray[{relative_time(thread.updated_at)}] {badge}"


def _manage(backend: Backend, thread: ThreadInfo) -> None:
    with st.popover("Rename or delete", width="stretch"):
        title = st.text_input("Title", thread.title, key=f"rename_{thread.id}")
        if st.button("Rename", key=f"do_rename_{thread.id}"):
            try:
                backend.rename_thread(current_user(), thread.id, title)
                st.rerun()
            except USER_ERRORS as problem:
                st.error(plain(problem, SENTENCE_CHARS))
        st.divider()
        sure = st.checkbox(
            "Yes, delete this thread and all its checkpoints", key=f"confirm_delete_{thread.id}"
        )
        if st.button("Delete thread", type="primary", disabled=not sure, key=f"delete_{thread.id}"):
            select_thread(None)
            attempt(lambda: backend.delete_thread(current_user(), thread.id))


def thread_list(backend: Backend) -> None:
    if st.button("New thread", icon=":material/add:", width="stretch", type="primary"):
        new_thread()
    # While one of the user's runs is in progress the list redraws itself, so "running" badges
    # never go stale (other people's runs are none of this list's business).
    refresh = BADGE_REFRESH_SECONDS if backend.any_run_active(current_user()) else None
    st.fragment(_threads, run_every=refresh)(backend)


def _threads(backend: Backend) -> None:
    search = st.text_input(
        "Search threads",
        key="thread_search",
        placeholder="Search by title",
        label_visibility="collapsed",
    )
    current = selected_thread()
    shown = st.session_state.get("threads_shown", PAGE)
    threads = backend.list_threads(current_user(), search=search, limit=shown)
    own_graph = bool(backend.info(current_user()).graph_name)
    if not threads:
        st.caption("No threads match." if search else "No threads yet: ask something to start one.")
    for thread in threads:
        chosen = thread.id == current
        if row_button(_label(thread, own_graph), f"thread_{thread.id}", chosen):
            select_thread(thread.id)
            st.rerun()
        if chosen:
            _manage(backend, thread)  # right under the open thread, where the eye already is
    total = backend.count_threads(current_user(), search=search)
    if total > len(threads) and st.button(
        f"Show more ({total - len(threads):,} older)",
        key="threads_more",
        type="tertiary",
        width="stretch",
    ):
        st.session_state["threads_shown"] = shown + PAGE
        st.rerun()
