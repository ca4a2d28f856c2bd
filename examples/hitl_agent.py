"""A tool-using agent whose tools are guarded the way LangChain's human-in-the-loop middleware does.

`langchain.agents.create_agent(..., middleware=[HumanInTheLoopMiddleware(interrupt_on=...)])`
halts after the model with one `interrupt()` whose value is a HITL request,

    {"action_requests": [{"name": "web_search", "args": {...}, "description": "..."}],
     "review_configs": [{"action_name": "web_search", "allowed_decisions": ["approve", ...]}]}

and resumes with `Command(resume={"decisions": [{"type": "approve"}, ...]})`, one decision per
request, in order: `approve`, `edit` (with `edited_action: {"name", "args"}`) or `reject` (with a
`message` the model reads). The `langchain` release that ships the middleware needs a newer
langchain-core than this project can install, so this graph produces the same payload itself: a
UI that answers it answers the middleware too.

Runs offline: Waypoint's demo model and offline search. `web_search` may be approved, edited or
rejected; a tool missing from `INTERRUPT_ON` would run without asking.

    python -m agent --graph examples/hitl_agent.py:graph
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

from agent.demo_model import DemoChatModel
from agent.search.offline import OfflineSearch
from agent.tools import make_web_search_tool

TOOLS: list[BaseTool] = [make_web_search_tool(OfflineSearch())]
# The middleware's `interrupt_on`: which tools ask, and which decisions each allows.
INTERRUPT_ON: dict[str, list[str]] = {"web_search": ["approve", "edit", "reject"]}
MODEL = DemoChatModel(token_delay=0.01).bind_tools(TOOLS)


def model(state: MessagesState) -> dict:
    return {"messages": [MODEL.invoke(state["messages"])]}


def _last_calls(messages: list[AnyMessage]) -> tuple[AIMessage | None, list[dict]]:
    last = messages[-1] if messages else None
    if isinstance(last, AIMessage) and last.tool_calls:
        return last, [dict(call) for call in last.tool_calls]
    return None, []


class HumanInTheLoop:
    """The middleware's shape: a node running its bound `after_model`, and `interrupt_on` saying
    which tools ask (Waypoint reads it to offer a per-tool setting for each of them)."""

    def __init__(self, interrupt_on: dict[str, list[str]]):
        self.interrupt_on = interrupt_on

    def after_model(self, state: MessagesState) -> dict:
        return review(state, self.interrupt_on)


def review(state: MessagesState, interrupt_on: dict[str, list[str]]) -> dict:
    """The middleware's `after_model` hook: ask about the guarded calls, apply the decisions."""
    ai, calls = _last_calls(state["messages"])
    guarded = [call for call in calls if call["name"] in interrupt_on]
    if ai is None or not guarded:
        return {}
    request = {
        "action_requests": [
            {
                "name": call["name"],
                "args": call["args"],
                "description": f"Tool execution requires approval\n\nTool: {call['name']}",
            }
            for call in guarded
        ],
        "review_configs": [
            {"action_name": call["name"], "allowed_decisions": interrupt_on[call["name"]]}
            for call in guarded
        ],
    }
    response = interrupt(request)
    decisions = _decisions(response, guarded, interrupt_on)
    kept, rejected = [], []
    by_id = dict(zip((call["id"] for call in guarded), decisions, strict=True))
    for call in calls:
        decision = by_id.get(call["id"], {"type": "approve"})
        if decision["type"] == "edit":
            edited = decision["edited_action"]
            kept.append({**call, "name": edited["name"], "args": edited["args"]})
        elif decision["type"] == "reject":
            kept.append(call)
            rejected.append(
                ToolMessage(
                    decision.get("message") or f"The user rejected the call to {call['name']}.",
                    tool_call_id=call["id"],
                    name=call["name"],
                    status="error",
                )
            )
        else:
            kept.append(call)
    # Same id: the messages reducer replaces the model's message with the reviewed calls.
    return {"messages": [ai.model_copy(update={"tool_calls": kept}), *rejected]}


def _decisions(
    response: Any, guarded: list[dict], interrupt_on: dict[str, list[str]]
) -> list[dict]:
    """The resume value checked as the middleware checks it: one allowed decision per request."""
    decisions = response.get("decisions") if isinstance(response, dict) else None
    if not isinstance(decisions, list) or len(decisions) != len(guarded):
        raise ValueError(
            f"Resume with {{'decisions': [...]}}, one decision for each of the {len(guarded)} "
            "action requests."
        )
    for decision, call in zip(decisions, guarded, strict=True):
        kind = decision.get("type") if isinstance(decision, dict) else None
        if kind not in interrupt_on[call["name"]]:
            raise ValueError(
                f"Decision {kind!r} is not allowed for {call['name']}: "
                f"choose one of {', '.join(interrupt_on[call['name']])}."
            )
        if kind == "edit" and not isinstance(decision.get("edited_action"), dict):
            raise ValueError("An edit decision needs edited_action: {'name': ..., 'args': {...}}.")
    return decisions


def tools(state: MessagesState) -> dict:
    """Run every call of the last model message that no ToolMessage answers yet."""
    messages = state["messages"]
    ai_index = max(i for i, m in enumerate(messages) if isinstance(m, AIMessage))
    answered = {m.tool_call_id for m in messages[ai_index:] if isinstance(m, ToolMessage)}
    by_name = {t.name: t for t in TOOLS}
    results = []
    for call in messages[ai_index].tool_calls:  # type: ignore[union-attr]
        if call["id"] in answered:
            continue
        chosen = by_name.get(call["name"])
        if chosen is None:
            content = f"Error: there is no tool named {call['name']!r}."
            results.append(ToolMessage(content, tool_call_id=call["id"], status="error"))
        else:
            results.append(chosen.invoke({**call, "type": "tool_call"}))
    return {"messages": results}


def after_review(state: MessagesState) -> str:
    messages = state["messages"]
    ai_index = max((i for i, m in enumerate(messages) if isinstance(m, AIMessage)), default=-1)
    if ai_index < 0 or not messages[ai_index].tool_calls:  # type: ignore[union-attr]
        return END
    answered = {m.tool_call_id for m in messages[ai_index:] if isinstance(m, ToolMessage)}
    calls = messages[ai_index].tool_calls  # type: ignore[union-attr]
    return "tools" if any(call["id"] not in answered for call in calls) else "model"


builder = StateGraph(MessagesState)
builder.add_node("model", model)
builder.add_node("review", HumanInTheLoop(INTERRUPT_ON).after_model)
builder.add_node("tools", tools)
builder.add_edge(START, "model")
builder.add_edge("model", "review")
builder.add_conditional_edges("review", after_review, ["tools", "model", END])
builder.add_edge("tools", "model")
graph = builder.compile()
