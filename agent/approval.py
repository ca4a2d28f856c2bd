"""Approval: which tool calls need a human, and what a human may decide about each one.

The graph asks inside the `action` node, with LangGraph's dynamic `interrupt()`, rather than with a
static `interrupt_before=["action"]`. A static breakpoint fires once, when a run first reaches the
node; resuming from a past checkpoint (or a fork) whose next node is `action` would run the tools
without asking. Asking at the top of the node asks every time the node is about to run a tool,
whatever the run started from. The node runs no tool before the answer, so to the user it is still
"halted before action".

Decisions travel as plain dicts (they are checkpointed as the interrupt's resume value):
``{"action": "approve"}``, ``{"action": "edit", "args": {...}}``,
``{"action": "mock", "content": "..."}``, ``{"action": "reject", "reason": "..."}``.
An approval may add ``"always_allow": true`` ("always allow in this thread"): the clean decision
names the tool there (``{"action": "approve", "always_allow": "web_search"}``), so the checkpointed
resume value, and the timeline's label of it, say which tool the thread now allows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError

from agent.errors import DecisionError
from agent.limits import MAX_TOOL_RESULT_CHARS, too_long

DecisionAction = Literal["approve", "edit", "mock", "reject"]
# In the response_metadata of a tool result a person wrote ("Answer instead"): the transcript
# marks it as theirs, never as the tool's output. Providers do not send a tool result's metadata.
ANSWERED_BY_HUMAN = "answered_by_human"
# In the response_metadata of a result written for a call that did not run: why it did not.
OUTCOME = "waypoint_outcome"
Outcome = Literal["denied", "rejected", "cancelled"]
_OUTCOME_TEXT = {
    "answered": "answered by you (not run)",
    "denied": "denied by your settings (not run)",
    "rejected": "rejected by you (not run)",
    "cancelled": "cancelled: you sent a new message (not run)",
    "failed": "failed",
}
_OUTCOME_STARTS = (
    ("denied", "Denied: the user's approval settings"),
    ("rejected", "Rejected by the user"),
    ("cancelled", "Cancelled by the user"),
)
DECISION_ACTIONS: tuple[str, ...] = ("approve", "edit", "mock", "reject")
ALWAYS = "always_allow"  # on an approval: allow this tool in this thread from now on


def args_object(args: object, subject: str = "The arguments") -> dict[str, Any]:
    """Edited arguments as a dict: parsed when they are JSON text; DecisionError saying what is
    wrong (`subject` names them) when they are not an object."""
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError as error:
            raise DecisionError(
                f"{subject} are not valid JSON ({error.msg} at line {error.lineno}, "
                f'column {error.colno}). Write an object such as {{"query": "..."}}.'
            ) from None
    if not isinstance(args, Mapping):
        raise DecisionError(f'{subject} must be a JSON object, such as {{"query": "..."}}.')
    return dict(args)


def validate_args(tool: BaseTool, args: object) -> dict[str, Any]:
    """Check edited arguments against the tool's schema; return them normalised.

    Raises DecisionError naming the fields that are wrong, so the UI can show it inline and send
    nothing.
    """
    args = args_object(args)
    written = json.dumps(args, ensure_ascii=False, default=str)
    if problem := too_long(written, MAX_TOOL_RESULT_CHARS, "The arguments"):
        raise DecisionError(problem)
    schema = tool.tool_call_schema
    if schema is None or isinstance(schema, dict) or not issubclass(schema, BaseModel):
        return args
    try:
        schema.model_validate(args)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in problem['loc']) or 'arguments'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise DecisionError(f"The arguments do not fit {tool.name}: {problems}.") from error
    allowed = set(schema.model_fields)
    unknown = sorted(set(args) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed))
        raise DecisionError(f"{tool.name} has no argument {', '.join(unknown)}; it takes {takes}.")
    return args


def validate_decisions(
    decisions: Mapping[str, Mapping[str, Any]],
    calls: Sequence[Mapping[str, Any]],
    tools: Iterable[BaseTool],
) -> dict[str, dict[str, Any]]:
    """Check that every pending call has exactly one well-formed decision.

    `calls` are the pending tool calls (dicts with id, name, args). Returns clean decisions; raises
    DecisionError otherwise, before anything is written.
    """
    _check_shape(decisions)
    by_name = {tool.name: tool for tool in tools}
    pending_ids = [call["id"] for call in calls]
    unknown = sorted(set(decisions) - set(pending_ids))
    if unknown:
        raise DecisionError(f"No pending tool call has the id {', '.join(unknown)}.")
    missing = [call_id for call_id in pending_ids if call_id not in decisions]
    if missing:
        raise DecisionError(
            f"Decide every pending tool call before continuing ({len(missing)} still open)."
        )
    clean: dict[str, dict[str, Any]] = {}
    for call in calls:
        decision = decisions[call["id"]]
        action = decision.get("action")
        if action == "approve":
            clean[call["id"]] = {"action": "approve"}
            # Only a tool of this run: a name the model made up is never stored as allowed.
            wanted = decision.get(ALWAYS) is True or decision.get(ALWAYS) == call["name"]
            if wanted and call["name"] in by_name:
                clean[call["id"]][ALWAYS] = call["name"]
        elif action == "edit":
            tool = by_name.get(call["name"])
            if tool is None:
                raise DecisionError(f"The tool {call['name']!r} is not available in this run.")
            clean[call["id"]] = {
                "action": "edit",
                "args": validate_args(tool, decision.get("args")),
            }
        elif action == "mock":
            content = _text(decision, "content", "the answer the tool should give").strip()
            if not content:
                raise DecisionError(
                    "Write the answer the tool should give, or choose another action."
                )
            if problem := too_long(content, MAX_TOOL_RESULT_CHARS, "The answer"):
                raise DecisionError(problem)
            clean[call["id"]] = {"action": "mock", "content": content}
        elif action == "reject":
            reason = _text(decision, "reason", "the reason").strip()
            if problem := too_long(reason, MAX_TOOL_RESULT_CHARS, "The reason"):
                raise DecisionError(problem)
            clean[call["id"]] = {"action": "reject", "reason": reason}
        else:
            raise DecisionError(
                f"Unknown decision {action!r}; choose one of {', '.join(DECISION_ACTIONS)}."
            )
    return clean


def _check_shape(decisions: object) -> None:
    """Decisions map call ids (text) to decision objects with a text "action"."""
    example = '{"<call id>": {"action": "approve"}}'
    if not isinstance(decisions, Mapping):
        raise DecisionError(f"Give the decisions as a mapping such as {example}.")
    for call_id, decision in decisions.items():
        if not isinstance(call_id, str):
            raise DecisionError(
                f"A decision is keyed by {call_id!r}; key it by the call's id (text)."
            )
        if not isinstance(decision, Mapping) or not isinstance(decision.get("action"), str):
            raise DecisionError(
                f"The decision for {call_id!r} is not a decision; give an object with an action, "
                f"one of {', '.join(DECISION_ACTIONS)}, such as {example}."
            )


def _text(decision: Mapping[str, Any], key: str, what: str) -> str:
    value = decision.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DecisionError(f"Give {what} as text, not as {type(value).__name__}.")
    return value


def always_allowed(decisions: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """The tools clean decisions allow in the thread from now on."""
    return frozenset(
        str(d[ALWAYS]) for d in decisions.values() if d.get("action") == "approve" and d.get(ALWAYS)
    )


def rejection_text(reason: str) -> str:
    """The tool result the model sees for a rejected call: it must learn why."""
    return (
        f"Rejected by the user: {reason}" if reason else "Rejected by the user (no reason given)."
    )


CANCELLED_TEXT = "Cancelled by the user: they sent a new message instead of deciding on this call."


def not_run(call: Mapping[str, Any], text: str, outcome: Outcome) -> ToolMessage:
    """The result of a call that did not run (denied, rejected, cancelled): an error result the
    model reads, marked with why, so the step's label can say it rather than "failed"."""
    return ToolMessage(
        text,
        tool_call_id=call["id"],
        name=call["name"],
        status="error",
        response_metadata={OUTCOME: outcome},
    )


def result_outcome(message: ToolMessage) -> str | None:
    """Why a tool result is not the tool's output ("answered", "denied", "rejected",
    "cancelled", "failed"), or None when the tool ran. Error results written before the outcome
    mark existed count as "failed"."""
    if message.response_metadata.get(ANSWERED_BY_HUMAN):
        return "answered"
    outcome = message.response_metadata.get(OUTCOME)
    if outcome in _OUTCOME_TEXT:
        return str(outcome)
    if message.status != "error":
        return None
    text = message.text if isinstance(message.text, str) else ""
    # Results stored before the mark existed are known by the texts above.
    return next((kind for kind, start in _OUTCOME_STARTS if text.startswith(start)), "failed")


def results_text(results: Sequence[ToolMessage]) -> str:
    """What a step's tool results were: "1 result", "web_search denied by your settings (not
    run)", "1 result, web_search rejected by you (not run)"."""
    outcomes = [(message, result_outcome(message)) for message in results]
    ran = sum(outcome is None for _, outcome in outcomes)
    parts = [f"{ran} result{'' if ran == 1 else 's'}"] if ran or not results else []
    parts += [f"{m.name or 'a tool'} {_OUTCOME_TEXT[o]}" for m, o in outcomes if o is not None]
    return ", ".join(parts)
