"""An essay writer with its own state (no chat messages) that asks the human about its plan.

The shape of the LangGraph course's essay writer: `plan` outlines the essay, `review_plan` stops
with `interrupt()` to show the plan and ask for changes, then `write` drafts, `critique` comments,
and `write` revises until `max_revisions` drafts are written. The state is a few plain fields, so
a UI shows it as JSON; the question carries a `response_schema` (a Pydantic model), which
LangGraph hands to clients as JSON Schema so they can draw a form, and uses to check the answer.

Offline and deterministic: the "writing" is done by small templates, not by a model.

    python -m agent --graph examples/essay_writer.py:graph
"""

from __future__ import annotations

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, Field


class EssayState(TypedDict, total=False):
    task: str
    plan: list[str]
    draft: str
    critique: str
    revision: int
    max_revisions: int


class PlanReview(BaseModel):
    """The human's answer to "is this plan right?"."""

    approve: bool = Field(True, description="Write the essay from this plan.")
    plan: list[str] = Field(default_factory=list, description="The sections, changed if need be.")
    note: str = Field("", description="Anything the writer should keep in mind.")


def plan(state: EssayState) -> dict:
    task = state.get("task", "").strip().capitalize() or "The topic"
    return {
        "plan": [f"{task}: why it matters", f"{task}: how it works", f"{task}: what comes next"],
        "revision": 0,
        "max_revisions": state.get("max_revisions", 2),
    }


def review_plan(state: EssayState) -> dict:
    answer = interrupt(
        {
            "question": "Here is the plan. Approve it, or change the sections.",
            "plan": state["plan"],
        },
        response_schema=PlanReview,
    )
    if not answer.approve:
        return {"plan": [], "critique": answer.note or "The plan was not approved."}
    return {"plan": answer.plan or state["plan"], "critique": answer.note}


def after_review(state: EssayState) -> str:
    return "write" if state.get("plan") else END


def write(state: EssayState) -> dict:
    revision = state.get("revision", 0) + 1
    paragraphs = [f"{section}. " + _sentence(section, revision) for section in state["plan"]]
    if state.get("critique"):
        paragraphs.append(f"(Revised after: {state['critique']})")
    return {"draft": "\n\n".join(paragraphs), "revision": revision}


def _sentence(section: str, revision: int) -> str:
    return (
        f"This part covers {section.lower()} in plain words"
        + (", with an example" if revision > 1 else "")
        + "."
    )


def critique(state: EssayState) -> dict:
    words = len(state.get("draft", "").split())
    return {"critique": f"Draft {state['revision']} has {words} words: add one example per part."}


def after_critique(state: EssayState) -> str:
    return "write" if state.get("revision", 0) < state.get("max_revisions", 2) else END


builder = StateGraph(EssayState)
builder.add_node("plan", plan)
builder.add_node("review_plan", review_plan)
builder.add_node("write", write)
builder.add_node("critique", critique)
builder.add_edge(START, "plan")
builder.add_edge("plan", "review_plan")
builder.add_conditional_edges("review_plan", after_review, ["write", END])
builder.add_edge("write", "critique")
builder.add_conditional_edges("critique", after_critique, ["write", END])
graph = builder  # a builder, not compiled: Waypoint compiles it over its own checkpointer
