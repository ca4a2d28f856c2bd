"""The run record: what each run did, kept after it ends, placed under the turn it answered.

The live step strip (`llm 1.2s → action 0.1s → llm`) is built from a run's events, and those are
dropped minutes after the run (`agent.run_store`). Checkpoints keep the messages and decisions but
not the timings: with durability "exit" they do not even have a checkpoint per step, and no
checkpoint holds the time to first token. So at its end each run writes one report (`RunReport`:
steps with their times and tokens, human decisions, time to first token, total time, and the
LangGraph calls it made as text) into the run store, next to its row, in the transaction that
records its end. The store keeps reports after it drops the events, in the database every app
process shares: the record survives a restart and shows on another app server. A run whose
process died gets its report from the process that finds it dead (`lost_report`): what its stored
events show, and that the rest was lost with it.

Which turn a report belongs to is read from what it wrote (its AI message ids, the tool calls it
answered), so a report follows the conversation the chat shows: a branch that is not shown does
not show its runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from agent.events import Error, Event, Step, ToolResult
from agent.text import preview
from agent.views import (
    DecisionRecord,
    MessageView,
    RunReport,
    StepRecord,
    ThreadReport,
    TurnReport,
)

ARG_CHARS = 40  # an edited argument's new value is shown up to this many characters
REASON_CHARS = 80


@dataclass(frozen=True)
class Prelude:
    """What the backend did before the graph started: its own LangGraph calls (state updates,
    as text), the decisions the run carries, and the checkpoint the run starts from."""

    calls: tuple[str, ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    from_checkpoint: str | None = None
    sent: str | None = None  # the id of the message the run was started with, if any


def _changed_args(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    changed = [key for key in after if before.get(key) != after[key]]
    changed += [key for key in before if key not in after]
    parts = []
    for key in changed:
        value = after.get(key, "removed")
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key} {preview(shown, ARG_CHARS)}")
    return ", ".join(parts) or "same arguments"


def decision_records(
    calls: Sequence[Mapping[str, Any]], decisions: Mapping[str, Mapping[str, Any]]
) -> tuple[DecisionRecord, ...]:
    """Each validated decision (`agent.approval`) as the record says it."""
    records = []
    for call in calls:
        decision = decisions[call["id"]]
        action = decision["action"]
        if action == "edit":
            text = "edited by you: " + _changed_args(call["args"], decision["args"])
        elif action == "mock":
            text = "answered by you"
        elif action == "reject":
            reason = preview(decision["reason"], REASON_CHARS)
            text = f"rejected: {reason}" if reason else "rejected"
        else:
            text = "approved"
        records.append(DecisionRecord(action, text, call["name"], call["id"]))
    return tuple(records)


def cancelled_records(calls: Iterable[Mapping[str, Any]]) -> tuple[DecisionRecord, ...]:
    """Pending calls closed because a new message was sent instead of a decision."""
    return tuple(
        DecisionRecord("cancel", "cancelled: you sent a new message", c["name"], c["id"])
        for c in calls
    )


def build_report(
    *,
    run_id: str,
    engine: str,
    status: str,
    started_at: float,
    seconds: float,
    first_token_seconds: float | None,
    events: Sequence[Event],
    calls: Sequence[str],
    prelude: Prelude,
) -> RunReport:
    """The report of a run that just ended, from its events and what it was started with."""
    steps = [e for e in events if isinstance(e, Step)]
    estimated = any(s.estimated for s in steps if s.tokens_in is not None)
    reported = any(s.tokens_in is not None for s in steps)
    decisions = prelude.decisions
    if status == "cancelled":
        decisions += (DecisionRecord("stop", "stopped by you"),)
    error = next((e.message for e in reversed(events) if isinstance(e, Error)), None)
    message_ids = [i for s in steps for i in s.message_ids]
    return RunReport(
        id=run_id,
        engine=engine,
        status=status,
        started_at=started_at,
        seconds=round(seconds, 3),
        first_token_seconds=None if first_token_seconds is None else round(first_token_seconds, 3),
        steps=tuple(
            StepRecord(s.node, round(s.seconds, 3), s.summary, s.tokens_in, s.tokens_out)
            for s in steps
        ),
        decisions=decisions,
        calls=tuple(calls),
        from_checkpoint=prelude.from_checkpoint,
        usage="estimated" if estimated else "reported" if reported else "none",
        error=error,
        sent=prelude.sent,
        message_ids=tuple(dict.fromkeys(message_ids)),
        call_ids=tuple(
            dict.fromkeys(
                [e.call_id for e in events if isinstance(e, ToolResult)]
                + [d.call_id for d in decisions if d.call_id and d.action != "cancel"]
            )
        ),
    )


def lost_report(
    run_id: str, started_at: float, last_seen: float, events: Sequence[Event], sent: str | None
) -> RunReport:
    """The report of a run whose process died, written by the process that found it dead: the
    steps its stored events show, up to its last heartbeat. Its calls and decisions were in the
    dead process's memory, so the record says they are lost rather than showing none."""
    return build_report(
        run_id=run_id,
        engine="",
        status="lost",
        started_at=started_at,
        seconds=max(0.0, last_seen - started_at),
        first_token_seconds=None,
        events=events,
        calls=(),
        prelude=Prelude(sent=sent),
    )


def encode_report(report: RunReport) -> dict[str, Any]:
    """Plain JSON-able form of a report (the run store writes it)."""
    return asdict(report)


def decode_report(data: Mapping[str, Any]) -> RunReport:
    """The report `encode_report` gave."""
    fields = dict(data)
    fields["steps"] = tuple(StepRecord(**s) for s in fields.get("steps", ()))
    fields["decisions"] = tuple(DecisionRecord(**d) for d in fields.get("decisions", ()))
    for name in ("calls", "message_ids", "call_ids"):
        fields[name] = tuple(fields.get(name, ()))
    return RunReport(**fields)


def thread_report(messages: Sequence[MessageView], reports: Iterable[RunReport]) -> ThreadReport:
    """The reports of the shown conversation, grouped by turn (oldest first).

    A turn is one of your messages and what follows it up to the next one; its reports are drawn
    under its last answer (or under your message while nothing answered it yet). A report goes to
    the turn of what it wrote; one that wrote nothing (stopped before the model's first step) to
    the turn of the message it sent. A report whose messages are not shown (another branch, or a
    deleted one) is left out.
    """
    turn_of: dict[str, int] = {}
    anchors: list[str] = []
    for message in messages:
        if message.role == "human" or not anchors:
            anchors.append(message.id)
        elif message.role == "ai":
            anchors[-1] = message.id
        turn = len(anchors) - 1
        turn_of[message.id] = turn
        for call in message.tool_calls:
            turn_of[call.id] = turn
    runs: dict[int, list[RunReport]] = {}
    for report in reports:
        wrote = (*report.message_ids, *report.call_ids)
        found = [turn_of[i] for i in wrote or (report.sent or "",) if i in turn_of]
        if found:
            runs.setdefault(found[0], []).append(report)
    return ThreadReport(
        tuple(TurnReport(anchors[turn], tuple(kept)) for turn, kept in sorted(runs.items()))
    )
