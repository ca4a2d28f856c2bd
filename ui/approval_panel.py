"""The approval panel: shown when the thread halted before `action`.

One card per pending tool call: approve, edit the arguments, answer in the tool's place, or reject
with a reason; then Continue. Decisions are validated before anything is written, and a problem is
shown inline. Not deciding ("Stop") leaves the thread waiting; the sidebar says so.
"""

from __future__ import annotations

import streamlit as st

from agent.approval import DecisionError
from agent.backend import InputError, LocalBackend
from agent.context import AgentChoices
from agent.runs import RunOptions, ThreadBusy
from agent.views import ThreadView

ACTIONS = {
    "approve": "Approve",
    "edit": "Edit",
    "mock": "Answer instead",
    "reject": "Reject",
}


def _decision(call_id: str, args_json: str) -> dict:
    action = st.radio("Decision", list(ACTIONS), format_func=ACTIONS.__getitem__, horizontal=True,
                      key=f"decide_{call_id}", label_visibility="collapsed")
    if action == "edit":
        return {"action": "edit", "args": st.text_area("Arguments (JSON)", args_json,
                                                        key=f"args_{call_id}")}
    if action == "mock":
        return {"action": "mock", "content": st.text_area(
            "The tool's answer", key=f"mock_{call_id}",
            help="This text becomes the tool's result; the tool does not run.")}
    if action == "reject":
        return {"action": "reject", "reason": st.text_input(
            "Reason (the model will see it)", key=f"reason_{call_id}")}
    return {"action": "approve"}


def approval_panel(
    backend: LocalBackend, view: ThreadView, choices: AgentChoices, options: RunOptions
) -> None:
    count = len(view.pending_calls)
    st.warning(
        f"The agent wants to run {count} tool call{'s' if count != 1 else ''}. It halted before "
        "the `action` node (a human-in-the-loop interrupt): nothing runs until you decide.",
        icon=":material/front_hand:",
    )
    decisions = {}
    for call in view.pending_calls:
        with st.container(border=True):
            st.markdown(f"**{call.name}**")
            st.code(call.args_json, language="json")
            decisions[call.id] = _decision(call.id, call.args_json)
    if st.button("Continue", type="primary", icon=":material/play_arrow:", key="approval_continue"):
        try:
            backend.decide(view.thread.id, decisions, choices, options)
            st.rerun()
        except (DecisionError, InputError, ThreadBusy) as problem:
            st.error(str(problem))
