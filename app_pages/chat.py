"""Chat: the selected thread's transcript, its live run, and the approval panel.

A message typed at the instant a run ends must still be sent. The run's end reaches the browser
late: the live fragment notices the Done event on its next tick (up to 0.15 s) and reruns the app,
and only that rerun's output changes the chat input's placeholder ("The agent is answering…" to
"Ask anything"). Streamlit derives an unkeyed widget's id from its parameters, the placeholder
among them, so a message submitted in that gap came back under the old id, the rerun drew an
input with a new id, `st.chat_input` returned None and the value was dropped with the stale id:
the message vanished without a trace. So the input has a fixed key: its id no longer depends on
the placeholder. It is read in the script body, not in an `on_submit` callback: the browser can
carry one submit in two reruns (the live fragment's timed rerun, when it fires between the
submit and its flush, and the submit's own app rerun), and Streamlit runs callbacks in fragment
reruns too, so a callback sent such a message twice; the body reads it in the app rerun only.
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import UnknownThread
from ui import resources
from ui.approval_panel import approval_panel
from ui.branch_controls import message_controls
from ui.feedback import attempt, show_problem
from ui.identity import current_user
from ui.live_run import live_run
from ui.own_graph import own_graph_state, own_graph_welcome
from ui.questions_panel import questions_panel
from ui.run_error import run_error, run_notice
from ui.run_queue import busy_placeholder, queued_messages, superseded_notice
from ui.run_record import NO_RUN_RECORD
from ui.safe_text import SENTENCE_CHARS, plain
from ui.session import select_thread, selected_thread
from ui.settings_chips import settings_chips
from ui.thread_watch import watch_thread
from ui.transcript import transcript
from ui.welcome import welcome

PROMPT_KEY = "chat_prompt"

backend = resources.backend()
choices, options = st.session_state["choices"], st.session_state["options"]
info = backend.info(current_user())


def send(text: str) -> None:
    """Send to the open thread; with none open, the message starts one (and only then is it
    stored: a message refused before its run leaves no thread behind)."""
    thread_id, user = selected_thread(), current_user()
    if thread_id:
        attempt(lambda: backend.send_message(user, thread_id, text, choices, options), unsent=text)
    else:
        attempt(
            lambda: select_thread(backend.start_thread(user, text, choices, options).thread_id),
            unsent=text,
        )


thread_id = selected_thread()
view = None
if thread_id:
    try:
        view = backend.thread_view(current_user(), thread_id)
    except UnknownThread as problem:
        st.error(plain(problem, SENTENCE_CHARS))
        select_thread(None)

if view is None or not view.messages and not view.values and not view.active_run_id:
    if info.graph_name:
        own_graph_welcome(info)
    else:
        welcome(send)
    if view is None:
        st.caption(
            "A new thread: nothing is saved until you send its first message, which names it "
            "and starts its first checkpoint."
        )
else:
    st.subheader(plain(view.thread.title))
    transcript(
        view.messages,
        running=bool(view.active_run_id),
        key=view.thread.id,
        controls=message_controls(backend, view, choices, options),
        report=view.report,
    )
    if view.report is None and view.messages:
        st.caption(NO_RUN_RECORD)
    own_graph_state(view)
    superseded_notice(view)
    if view.active_run_id:
        live_run(backend, view.active_run_id, view.live_input)
        queued_messages(view)
    elif view.questions:
        questions_panel(backend, view, options)
    elif view.pending_calls:
        run_notice(view.notice)
        approval_panel(backend, view, choices, options)
    else:
        run_error(backend, view, choices, options)
if view is not None and not view.active_run_id:
    watch_thread(backend, view)

show_problem()
settings_chips(
    backend,
    view.thread if view is not None else None,
    choices,
    options,
    own_graph=bool(info.graph_name),
    agent_server=info.agent_server,
)

if view is not None and view.active_run_id:
    placeholder = busy_placeholder(options, info.agent_server)
elif view is not None and (view.questions or view.waiting_for_approval) and info.graph_name:
    placeholder = "Answer the graph above first: it waits for you"
elif view is not None and view.waiting_for_approval:
    placeholder = "Sending now cancels the pending tool calls"
elif not info.chat_messages:
    placeholder = f"The graph's input as JSON, like {info.input_example}"
else:
    placeholder = "Ask anything"
prompt = st.chat_input(placeholder, key=PROMPT_KEY)
if prompt:
    send(prompt)
