"""Every `interrupt()` a graph asks, as plain views, and the resume value that answers it.

Three shapes are told apart:
- Waypoint's own agent asks `{"calls": [...]}` before its `action` node runs the tools;
- LangChain's human-in-the-loop middleware asks a HITL request, `{"action_requests": [...],
  "review_configs": [...]}`, and takes `{"decisions": [...]}` back, one per request, of the
  decisions each tool allows (`approve`, `edit`, `reject`);
- anything else is a question with its own payload (and, with LangGraph's `response_schema`, the
  JSON Schema of the answer it expects), answered with any JSON value.

The first two become tool calls for the approval panel; a HITL call's id is the interrupt's id
and the request's place (`<interrupt id>#<n>`), so decisions find their way back. Several
interrupts (parallel nodes, subgraphs) are answered together by id, `Command(resume={id: value})`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.types import Interrupt

from agent.approval import ALWAYS, args_object
from agent.errors import DecisionError
from agent.jsonable import jsonable
from agent.views import InterruptView, ToolCallView

HITL_DECISIONS = ("approve", "edit", "reject")
MAX_ANSWER_CHARS = 20_000


def is_hitl_request(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("action_requests"), list)
        and isinstance(value.get("review_configs"), list)
    )


def hitl_calls(interrupt: Interrupt) -> tuple[ToolCallView, ...]:
    """A HITL request's actions as tool calls, each with the decisions its tool allows."""
    value = interrupt.value
    allowed = {
        config.get("action_name"): tuple(
            d for d in config.get("allowed_decisions", HITL_DECISIONS) if d in HITL_DECISIONS
        )
        for config in value["review_configs"]
        if isinstance(config, Mapping)
    }
    return tuple(
        ToolCallView(
            id=f"{interrupt.id}#{number}",
            name=str(request.get("name", "")),
            args=dict(request.get("args") or {}),
            allowed=allowed.get(request.get("name"), HITL_DECISIONS),
            interrupt_id=interrupt.id,
            description=str(request.get("description") or ""),
        )
        for number, request in enumerate(value["action_requests"])
        if isinstance(request, Mapping)
    )


def interrupt_views(interrupts: Sequence[Interrupt]) -> tuple[InterruptView, ...]:
    """The questions a checkpoint waits on, with the tool calls they ask about (if any)."""
    views = []
    for interrupt in interrupts:
        value = interrupt.value
        if is_hitl_request(value):
            calls = hitl_calls(interrupt)
        elif isinstance(value, Mapping):
            calls = tuple(
                ToolCallView(id=c["id"], name=c["name"], args=dict(c["args"]))
                for c in value.get("calls", [])
            )
        else:
            calls = ()
        schema = getattr(interrupt, "response_schema", None)
        views.append(
            InterruptView(
                id=interrupt.id,
                value=jsonable(value),
                calls=calls,
                schema=jsonable(schema) if isinstance(schema, Mapping) else None,
            )
        )
    return tuple(views)


def questions(interrupts: Sequence[Interrupt]) -> tuple[InterruptView, ...]:
    """The interrupts that are not about tool calls: answered in the graph's own terms."""
    return tuple(view for view in interrupt_views(interrupts) if not view.calls)


def hitl_resume(
    calls: Sequence[ToolCallView], decisions: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, dict], dict[str, dict]]:
    """The HITL responses for `decisions` (by call id), by interrupt id, and the decisions as
    Waypoint records them (`agent.run_record`). DecisionError when a call has no decision, one
    its tool does not allow, or an edit that is not a JSON object."""
    responses: dict[str, dict] = {}
    checked: dict[str, dict] = {}
    for number, call in enumerate(calls, 1):
        where = f"call {number} ({call.name})" if len(calls) > 1 else call.name
        decision = decisions.get(call.id)
        if decision is None:
            raise DecisionError(f"Decide {where} too: every call needs a decision.")
        answer = _hitl_decision(call, decision, where)
        responses.setdefault(str(call.interrupt_id), {"decisions": []})["decisions"].append(answer)
        checked[call.id] = {
            "action": answer["type"],
            "args": answer.get("edited_action", {}).get("args", call.args),
            "reason": answer.get("message", ""),
        }
        if answer["type"] == "approve" and decision.get(ALWAYS):
            checked[call.id][ALWAYS] = call.name  # allowed in the thread from now on
    return responses, checked


def _hitl_decision(call: ToolCallView, decision: Mapping[str, Any], where: str) -> dict:
    action = decision.get("action")
    if action not in call.allowed:
        choices = ", ".join(call.allowed)
        raise DecisionError(f"{where} allows only {choices}: choose one of those.")
    if action == "approve":
        return {"type": "approve"}
    if action == "reject":
        reason = str(decision.get("reason") or "").strip()
        return {"type": "reject", "message": reason} if reason else {"type": "reject"}
    args = args_object(decision.get("args"), f"The arguments for {where}")
    return {"type": "edit", "edited_action": {"name": call.name, "args": args}}


def parse_answer(text: str) -> Any:
    """An answer typed for a question: JSON when it reads as JSON, else the text itself."""
    text = text.strip()
    if not text:
        raise DecisionError("Write an answer first: JSON, or plain text.")
    if len(text) > MAX_ANSWER_CHARS:
        raise DecisionError(f"The answer is longer than {MAX_ANSWER_CHARS:,} characters.")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
