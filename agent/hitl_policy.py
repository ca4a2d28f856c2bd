"""Per-tool approval rules applied to your own graph's HITL requests (LangChain's middleware format).

The built-in agent applies its `ApprovalPolicy` inside its graph. Your graph asks about every call
its human-in-the-loop middleware guards, whatever Waypoint's settings say, so Waypoint answers in
your place where a rule decides: an auto-approved tool (or one "always allowed in this thread") is
answered with `approve`, a denied one with `reject` and `denial_text` as the message the model
reads. A rule applies only where the request's `allowed_decisions` has that decision; where it
does not, the call is asked about on its card, which says why the rule could not apply. A request
is answered once every call in it is decided, in one `Command(resume=...)`: the rules' decisions
go with yours (`LocalBackend.decide`), or alone when the rules decide every call.

Plain data only (pages call `verdicts` to draw the cards): nothing of LangChain or LangGraph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.choices import ApprovalPolicy
from agent.views import ToolCallView

BY_SETTING_ALLOW = "auto-approved by your setting"
BY_SETTING_DENY = "denied by your setting"
BY_THREAD = "approved: always allowed in this thread"


def denial_text(tool_name: str) -> str:
    """The tool result the model sees for a call the approval settings deny: never an open call."""
    return (
        f"Denied: the user's approval settings do not allow {tool_name}, so it did not run. "
        "Answer without it, and say what you could not look up."
    )


@dataclass(frozen=True)
class Verdict:
    """What the rules say of one call: a decision (`decision` set, `text` for the record) or
    asked (`decision` None; `problem` says why a rule that should have decided could not)."""

    call: ToolCallView
    decision: dict | None = None
    text: str = ""
    problem: str = ""


def verdict(call: ToolCallView, policy: ApprovalPolicy) -> Verdict:
    """The rule for `call` as a decision of the kind its request allows, or asked."""
    rule = policy.rule(call.name)
    allowed = call.allowed or ("approve", "edit", "reject")
    if rule == "deny":
        if "reject" in allowed:
            return Verdict(
                call, {"action": "reject", "reason": denial_text(call.name)}, BY_SETTING_DENY
            )
        return Verdict(
            call,
            problem=f"Your setting denies {call.name}, but this graph does not let it be "
            f"rejected here (it allows {', '.join(allowed)}): decide yourself.",
        )
    if rule == "allow":
        thread = call.name in policy.thread_allowed and call.name not in policy.auto_tools
        if "approve" in allowed:
            return Verdict(call, {"action": "approve"}, BY_THREAD if thread else BY_SETTING_ALLOW)
        why = "you always allow it in this thread" if thread else "your setting auto-approves it"
        return Verdict(
            call,
            problem=f"{call.name} was not approved for you although {why}: this graph does not "
            f"let it be approved here (it allows {', '.join(allowed)}). Decide yourself.",
        )
    return Verdict(call)


def verdicts(calls: Sequence[ToolCallView], policy: ApprovalPolicy) -> tuple[Verdict, ...]:
    """Each HITL call's verdict, in order (the built-in agent's calls are its graph's business)."""
    return tuple(verdict(call, policy) for call in calls if call.interrupt_id is not None)


def all_decided(found: Sequence[Verdict]) -> bool:
    return bool(found) and all(v.decision is not None for v in found)


def policy_label(found: Sequence[Verdict]) -> str:
    """The rules' decisions in a few words, for the timeline row of the step they answered:
    'web_search auto-approved by your setting, fetch denied by your setting'."""
    return ", ".join(f"{v.call.name} {v.text}" for v in found if v.decision is not None)
