"""The run record under each finished turn: what ran, how long, how many tokens, who decided.

It is drawn from the reports the engine kept (`ThreadView.report`), never from the live events a
page saw, so it reads the same after a reload, a restart or on another app server. Folded by
default: the label is the step strip (`llm 1.2 s → action 0.1 s → llm 0.8 s`) with the turn's
totals; opened, each run lists its steps, tokens and your decisions, and "What LangGraph did"
shows the calls it made as Python (`st.code`, plain text).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import streamlit as st

from agent.protocol import RunReport, Step, StepRecord, ThreadReport, TurnReport
from ui.safe_text import code, plain

USAGE_NOTES = {
    "reported": "tokens as the provider reported them",
    "estimated": "estimated by the demo model at about 4 characters a token, not counted",
    "none": "the provider reported no token usage",
}
STATUS_TEXT = {
    "done": "answered",
    "halted": "halted before `action` for approval",
    "cancelled": "stopped by you",
    "error": "ended with an error",
    "lost": "cut short: the app server running it stopped",
}


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _tokens(tokens_in: int | None, tokens_out: int | None, usage: str) -> str:
    if tokens_in is None and tokens_out is None:
        return "tokens not reported"
    mark = "≈" if usage == "estimated" else ""
    return f"{mark}{tokens_in or 0:,} tokens in, {mark}{tokens_out or 0:,} out"


def strip_label(steps: Sequence[Step | StepRecord]) -> str:
    """`llm 1.2 s → action 0.1 s → llm 0.8 s`, as plain text (live steps or recorded ones)."""
    return " → ".join(f"{s.node} {_seconds(s.seconds)}" for s in steps)


def _label(turn: TurnReport) -> str:
    steps = [step for run in turn.runs for step in run.steps]
    parts = [strip_label(steps) or "no step finished"]
    if turn.first_token_seconds is not None:
        parts.append(f"first token {_seconds(turn.first_token_seconds)}")
    parts.append(f"total {_seconds(turn.seconds)}")
    if turn.tokens_in is not None:
        mark = "≈" if turn.usage == "estimated" else ""
        parts.append(f"{mark}{(turn.tokens_in or 0) + (turn.tokens_out or 0):,} tokens")
    return "Run record: " + " · ".join(parts)


def _step_line(step: StepRecord, usage: str) -> str:
    line = f"{code(step.node)} {_seconds(step.seconds)} · {plain(step.summary)}"
    if step.node == "llm":
        line += " · " + _tokens(step.tokens_in, step.tokens_out, usage)
    return line


def _run(run: RunReport, number: int, count: int) -> None:
    heading = f"Run {number} of {count}" if count > 1 else "The run"
    status = STATUS_TEXT.get(run.status, run.status)
    engine = f" ({plain(run.engine)} engine)" if run.engine else ""
    st.markdown(f"**{heading}**{engine}: {status}")
    lines = [_step_line(step, run.usage) for step in run.steps]
    lines += [
        f"{code(d.tool)}: {plain(d.text)}" if d.tool else plain(d.text) for d in run.decisions
    ]
    if lines:
        st.markdown("\n".join(f"- {line}" for line in lines))
    facts = [f"total {_seconds(run.seconds)}"]
    if run.first_token_seconds is not None:
        facts.insert(0, f"first token after {_seconds(run.first_token_seconds)}")
    facts.append(_tokens(run.tokens_in, run.tokens_out, run.usage))
    st.caption(" · ".join(facts) + f" ({USAGE_NOTES[run.usage]})")
    if run.error:
        st.caption(f"Error: {plain(run.error)}")
    if not run.calls:
        st.caption(
            "What LangGraph did was lost with the app server that ran it: the steps above are "
            "those it had recorded."
            if run.status == "lost"
            else "What LangGraph did was not recorded for this run."
        )
        return
    where = (
        f"from checkpoint {code(run.from_checkpoint)}"
        if run.from_checkpoint
        else "on a new thread (no checkpoint yet)"
    )
    st.caption(f"What LangGraph did, {where}:")
    st.code("\n\n".join(run.calls), language="python", wrap_lines=True)


# Under a conversation on an Agent Server, whose threads carry no Waypoint run record.
NO_RUN_RECORD = (
    "No run record here: the Agent Server keeps its runs itself, so the step strip under each "
    "turn (times, tokens, your decisions) is recorded only where Waypoint runs the graph."
)


def run_record(turn: TurnReport) -> None:
    """The turn's record, folded: the step strip and totals; opened, each run in full."""
    with st.expander(plain(_label(turn)), icon=":material/timeline:"):
        for number, run in enumerate(turn.runs, start=1):
            _run(run, number, len(turn.runs))


def thread_totals(report: ThreadReport | None) -> None:
    """One line for the shown conversation: runs, time, first-token times, tokens."""
    runs = report.runs if report is not None else ()
    if report is None or not runs:
        return
    totals = report.totals
    parts = [f"{len(runs)} run{'s' if len(runs) != 1 else ''}", f"{_seconds(totals.seconds)}"]
    if report.first_token_seconds:
        median = statistics.median(report.first_token_seconds)
        parts.append(f"first token after {_seconds(median)} (median of turns)")
    parts.append(_tokens(totals.tokens_in, totals.tokens_out, totals.usage))
    st.caption("This conversation: " + " · ".join(parts) + f" ({USAGE_NOTES[totals.usage]}).")
