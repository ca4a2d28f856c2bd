"""Chat: the selected thread's transcript, its live run, and the approval panel."""

from __future__ import annotations

import streamlit as st

from agent.threads import UnknownThread
from ui import resources
from ui.approval_panel import approval_panel
from ui.branch_controls import message_controls
from ui.feedback import attempt, show_problem
from ui.live_run import live_run
from ui.run_error import run_error, run_notice
from ui.safe_text import SENTENCE_CHARS, plain
from ui.session import select_thread, selected_thread
from ui.thread_watch import watch_thread
from ui.transcript import transcript
from ui.welcome import welcome

backend = resources.backend()
choices, options = st.session_state["choices"], st.session_state["options"]


def send(text: str) -> None:
    thread_id = selected_thread() or backend.create_thread().id
    select_thread(thread_id)
    attempt(lambda: backend.send_message(thread_id, text, choices, options), unsent=text)


thread_id = selected_thread()
view = None
if thread_id:
    try:
        view = backend.thread_view(thread_id)
    except UnknownThread as problem:
        st.error(plain(problem, SENTENCE_CHARS))
        select_thread(None)

if view is None or not view.messages and not view.active_run_id:
    welcome(send)
else:
    st.subheader(plain(view.thread.title))
    transcript(
        view.messages,
        running=bool(view.active_run_id),
        key=view.thread.id,
        controls=message_controls(backend, view, choices, options),
    )
    if view.active_run_id:
        live_run(backend, view.active_run_id, view.live_input)
    elif view.pending_calls:
        run_notice(view.notice)
        approval_panel(backend, view, choices, options)
    else:
        run_error(backend, view, choices, options)
if view is not None and not view.active_run_id:
    watch_thread(backend, view)

show_problem()

if view is not None and view.active_run_id:
    placeholder = "The agent is answering: wait for it, or press Stop to send something else"
elif view is not None and view.waiting_for_approval:
    placeholder = "Sending now cancels the pending tool calls"
else:
    placeholder = "Ask anything"
prompt = st.chat_input(placeholder)
if prompt:
    send(prompt)
