"""The approval panel: shown when the thread halted before `action`.

One card per pending tool call: approve, edit the arguments, answer in the tool's place, or reject
with a reason; then Continue. An approval can also "always allow" that tool in this thread: the
thread keeps it (a chip above the chat input shows it and takes it back) and the timeline labels
the step with it. Stop folds the panel away and leaves the thread halted; the sidebar
marks it as waiting.

Your own graph's HITL request goes under your per-tool rules (`agent.hitl_policy`): a call a rule
decides gets no card, only a line saying so, and its decision goes with yours; when the rules
decide every call, the engine answers by itself once the asking run has ended (the page follows
it), and a button sends the same answer at once. A rule that cannot apply (the request does not
allow its decision) leaves the card, which says why.

One click on Continue submits exactly what is typed. A text box sends its value only when it loses
focus, and the click is what takes the focus away: a button disabled until then would swallow that
first click. So Continue is never disabled; the click's own run reads the values it committed and
checks every decision then, sending nothing and saying why when one is wrong. A wrong edit is also
shown as soon as it is committed (Tab, Ctrl+Enter).

The layout must not move between the press and the release of that click, or the click is lost:
the press's own rerun (the text committed) must not shift the button. So problems are drawn under
the buttons, never above, and that area never shrinks on a rerun without a click: a problem the
text no longer has is shown as fixed, in the same place and at least as long, until the next
click (shrinking content under a page scrolled to its end scrolls the button away).
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import (
    AgentChoices,
    Backend,
    RunOptions,
    ThreadView,
    ToolCallView,
    Verdict,
    verdicts,
)
from ui.feedback import USER_ERRORS
from ui.identity import current_user
from ui.long_text import PAGE_CHARS
from ui.safe_text import SENTENCE_CHARS, clip, plain

ACTIONS = {
    "approve": "Approve",
    "edit": "Edit",
    "mock": "Answer instead",
    "reject": "Reject",
}
ACTION_HELP = {
    "approve": "**Approve** runs the call as it is.",
    "edit": "**Edit** runs it with the arguments you write (the model's message is replaced, "
    "keeping its id).",
    "mock": "**Answer instead** skips the tool: your text becomes its result.",
    "reject": "**Reject** skips it and tells the model why.",
}
# Session-only memory of the halts the user stopped at (by checkpoint id), to show them folded.
STOPPED_KEY = "approval_stopped"
# The problems drawn under the buttons in the last run, by halt checkpoint and call id.
PROBLEMS_KEY = "approval_problems"


def _decision(call: ToolCallView) -> dict:
    """The decision's radio, then its box and a caption saying what the box does.

    Every decision draws the same two elements under the radio, so switching from one to another
    replaces them in place: a decision with one element fewer would leave the other's last one on
    the page, faded, until the run ends, and its removal then moves Continue under a click.
    """
    action = st.radio(
        "Decision",
        [action for action in ACTIONS if not call.allowed or action in call.allowed],
        format_func=ACTIONS.__getitem__,
        horizontal=True,
        key=f"decide_{call.id}",
        label_visibility="collapsed",
    )
    if action == "edit":
        args = st.text_area("Arguments (JSON)", call.args_json, key=f"args_{call.id}")
        st.caption("Checked against the tool's schema before anything is sent.")
        return {"action": "edit", "args": args}
    if action == "mock":
        content = st.text_area(
            "The tool's answer",
            key=f"mock_{call.id}",
            placeholder="What the model should read as the tool's result",
        )
        st.caption("This text becomes the tool's result; the tool does not run.")
        return {"action": "mock", "content": content}
    if action == "reject":
        reason = st.text_input(
            "Reason (the model will see it)",
            key=f"reason_{call.id}",
            placeholder="e.g. search the docs instead",
        )
        st.caption("The tool does not run; the model reads your reason and goes on from there.")
        return {"action": "reject", "reason": reason}
    always = st.checkbox(
        f"Always allow {plain(call.name)} in this thread",
        key=f"always_{call.id}",
    )
    st.caption(
        "From now on its calls run without asking in this thread; a chip above the chat input "
        "shows it, and Ask again there takes it back."
        if always
        else "Runs this call only; the next one is asked again."
    )
    return {"action": "approve", "always_allow": True} if always else {"action": "approve"}


def _call_card(call: ToolCallView, why_asked: str = "") -> dict:
    """Draw one call's card; return the decision as typed (checked by the caller)."""
    with st.container(border=True):
        st.markdown(f"**{plain(call.name)}**")
        if call.description:
            st.caption(plain(call.description, SENTENCE_CHARS))
        if why_asked:
            st.caption(plain(why_asked, SENTENCE_CHARS))
        st.code(clip(call.args_json, PAGE_CHARS), language="json", wrap_lines=True)
        return _decision(call)


def _unwritten(decision: dict) -> bool:
    """An answer not typed yet: not an error to shout about until the user clicks Continue."""
    return decision["action"] == "mock" and not decision["content"].strip()


def _show_problems(
    shown: dict[str, str], problems: dict[str, str | None], decisions: dict, clicked: bool
) -> dict[str, str]:
    """One message per wrong decision, under the buttons; return what is shown now.

    After a click each says that nothing was sent. Without one, a problem the text no longer has
    stays in its place as fixed (see the module's docstring), so the area never shrinks.
    """
    count, now = len(problems), {}
    for number, (call_id, problem) in enumerate(problems.items(), 1):
        where = [f"call {number} of {count}"] if count > 1 else []
        if problem and (clicked or not _unwritten(decisions[call_id])):
            lead = ", ".join((["Nothing was sent"] if clicked else []) + where)
            now[call_id] = f"{lead[:1].upper()}{lead[1:]}: {problem}" if lead else problem
            st.error(plain(now[call_id], SENTENCE_CHARS), icon=":material/edit_off:")
        elif problem and call_id in shown:  # an answer still unwritten: the message stays as is
            now[call_id] = shown[call_id]
            st.error(plain(shown[call_id], SENTENCE_CHARS), icon=":material/edit_off:")
        elif call_id in shown and not clicked:
            now[call_id] = shown[call_id]
            st.success(plain(f"Fixed: {shown[call_id]}", SENTENCE_CHARS), icon=":material/check:")
    return now


def _by_rules(
    backend: Backend,
    view: ThreadView,
    choices: AgentChoices,
    options: RunOptions,
    decided: list[Verdict],
) -> None:
    """Your rules decide every call of the request: say how, and send it now if you like."""
    said = "; ".join(f"{v.call.name} {v.text}" for v in decided)
    st.info(
        f"Your settings answer every call your graph asks about here: {plain(said)}. Waypoint "
        "sends that for you once the run that asked has ended; if the settings changed since "
        "it asked, send it now.",
        icon=":material/rule:",
    )
    if st.button("Send these answers now", icon=":material/send:", key="approval_rules"):
        try:
            backend.decide(current_user(), view.thread.id, {}, choices, options)
            st.rerun()
        except USER_ERRORS as problem:
            st.error(plain(str(problem), SENTENCE_CHARS))


def approval_panel(
    backend: Backend, view: ThreadView, choices: AgentChoices, options: RunOptions
) -> None:
    stopped = st.session_state.setdefault(STOPPED_KEY, set())
    found = {
        v.call.id: v
        for v in verdicts(view.pending_calls, choices.approval.allowing(view.thread.allowed_tools))
    }
    decided = [v for v in found.values() if v.decision is not None]
    if found and len(decided) == len(view.pending_calls):
        _by_rules(backend, view, choices, options, decided)
        return
    pending = tuple(
        call
        for call in view.pending_calls
        if call.id not in found or found[call.id].decision is None
    )
    count = len(pending)
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
    own = view.pending_calls[0].interrupt_id is not None  # your graph's HITL request
    where = (
        f"The graph asks first, in `{plain(', '.join(view.next_nodes) or 'a node')}` (an interrupt "
        "in the format of LangChain's human-in-the-loop middleware)"
        if own
        else "It halted before the `action` node (a human-in-the-loop interrupt)"
    )
    st.warning(
        f"The agent wants to run {calls}. {where}: nothing runs until you decide.",
        icon=":material/front_hand:",
    )
    offered = {action for call in pending for action in call.allowed or ACTIONS}
    st.caption(" ".join(text for action, text in ACTION_HELP.items() if action in offered))
    for rule in decided:
        st.caption(f"{plain(rule.call.name)}: {plain(rule.text)}, sent with your decisions.")
    decisions = {
        call.id: _call_card(call, found[call.id].problem if call.id in found else "")
        for call in pending
    }
    go, stop = st.columns(2)
    clicked = go.button(
        "Continue",
        type="primary",
        icon=":material/play_arrow:",
        key="approval_continue",
        width="stretch",
    )
    if stop.button(
        "Stop",
        icon=":material/stop_circle:",
        key="approval_stop",
        width="stretch",
        help="Leave the thread halted; it stays marked in the sidebar until you decide.",
    ):
        stopped.add(view.checkpoint_id)
        st.rerun()
    # Checked in this run, with the values the click committed: never a verdict from before it.
    problems = {
        call.id: backend.decision_problem(call, decisions[call.id], choices) for call in pending
    }
    shown = st.session_state.get(PROBLEMS_KEY, {}).get(view.checkpoint_id, {})
    shown = _show_problems(shown, problems, decisions, clicked)
    st.session_state[PROBLEMS_KEY] = {view.checkpoint_id: shown}
    if clicked and not any(problems.values()):
        try:
            backend.decide(current_user(), view.thread.id, decisions, choices, options)
            st.rerun()
        except USER_ERRORS as problem:
            st.error(plain(str(problem), SENTENCE_CHARS))
