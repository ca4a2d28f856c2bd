"""The approval panel: shown when the thread halted before `action`.

One card per pending tool call: approve, edit the arguments, answer in the tool's place, or reject
with a reason; then Continue. Each decision is checked as it is typed (bad JSON or a wrong field
gets an inline error) and Continue sends nothing while any is wrong. Stop folds the panel away and
leaves the thread halted; the sidebar marks it as waiting.
"""

from __future__ import annotations

import streamlit as st

from agent.backend import LocalBackend
from agent.context import AgentChoices
from agent.runs import RunOptions
from agent.views import ThreadView, ToolCallView
from ui.feedback import USER_ERRORS
from ui.long_text import PAGE_CHARS
from ui.safe_text import SENTENCE_CHARS, clip, plain

ACTIONS = {
    "approve": "Approve",
    "edit": "Edit",
    "mock": "Answer instead",
    "reject": "Reject",
}
ACTION_HELP = (
    "**Approve** runs the call as it is. **Edit** runs it with the arguments you write (the model's "
    "message is replaced, keeping its id). **Answer instead** skips the tool: your text becomes its "
    "result. **Reject** skips it and tells the model why."
)
# Session-only memory of the halts the user stopped at (by checkpoint id), to show them folded.
STOPPED_KEY = "approval_stopped"


def _decision(call: ToolCallView) -> dict:
    action = st.radio(
        "Decision",
        list(ACTIONS),
        format_func=ACTIONS.__getitem__,
        horizontal=True,
        key=f"decide_{call.id}",
        label_visibility="collapsed",
    )
    if action == "edit":
        args = st.text_area(
            "Arguments (JSON)",
            call.args_json,
            key=f"args_{call.id}",
            help="Checked against the tool's schema before anything is sent.",
        )
        return {"action": "edit", "args": args}
    if action == "mock":
        content = st.text_area(
            "The tool's answer",
            key=f"mock_{call.id}",
            placeholder="What the model should read as the tool's result",
            help="This text becomes the tool's result; the tool does not run.",
        )
        return {"action": "mock", "content": content}
    if action == "reject":
        reason = st.text_input(
            "Reason (the model will see it)",
            key=f"reason_{call.id}",
            placeholder="e.g. search the docs instead",
        )
        return {"action": "reject", "reason": reason}
    return {"action": "approve"}


def _call_card(
    backend: LocalBackend, call: ToolCallView, choices: AgentChoices
) -> tuple[dict, bool]:
    """Draw one call's card; return its decision and whether it is valid."""
    with st.container(border=True):
        st.markdown(f"**{plain(call.name)}**")
        st.code(clip(call.args_json, PAGE_CHARS), language="json", wrap_lines=True)
        decision = _decision(call)
        problem = backend.decision_problem(call, decision, choices)
        # An answer not typed yet is not an error to shout about; Continue just waits for it.
        unwritten = decision["action"] == "mock" and not decision["content"].strip()
        if problem and not unwritten:
            st.error(plain(problem, SENTENCE_CHARS), icon=":material/edit_off:")
    return decision, problem is None


def approval_panel(
    backend: LocalBackend, view: ThreadView, choices: AgentChoices, options: RunOptions
) -> None:
    stopped = st.session_state.setdefault(STOPPED_KEY, set())
    count = len(view.pending_calls)
    calls = f"{count} tool call{'s' if count != 1 else ''}"
    if view.checkpoint_id in stopped:
        st.info(
            f"Stopped before {calls}: the thread waits for your decision, and nothing runs "
            "until you decide.",
            icon=":material/pause_circle:",
        )
        if st.button("Review the pending calls", key="approval_review"):
            stopped.discard(view.checkpoint_id)
            st.rerun()
        return
    st.warning(
        f"The agent wants to run {calls}. It halted before the `action` node (a "
        "human-in-the-loop interrupt): nothing runs until you decide.",
        icon=":material/front_hand:",
    )
    st.caption(ACTION_HELP)
    decisions, valid = {}, True
    for call in view.pending_calls:
        decisions[call.id], ok = _call_card(backend, call, choices)
        valid = valid and ok
    go, stop = st.columns(2)
    if go.button(
        "Continue",
        type="primary",
        icon=":material/play_arrow:",
        key="approval_continue",
        disabled=not valid,
        width="stretch",
    ):
        try:
            backend.decide(view.thread.id, decisions, choices, options)
            st.rerun()
        except USER_ERRORS as problem:
            st.error(plain(problem, SENTENCE_CHARS))
    if stop.button(
        "Stop",
        icon=":material/stop_circle:",
        key="approval_stop",
        width="stretch",
        help="Leave the thread halted; it stays marked in the sidebar until you decide.",
    ):
        stopped.add(view.checkpoint_id)
        st.rerun()
