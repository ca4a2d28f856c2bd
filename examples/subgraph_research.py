"""A graph with a subgraph: the parent plans and writes, a `research` subgraph gathers and checks.

    parent:    START -> plan -> research -> report -> END
    research:  START -> gather -> check -> summarize -> END

`research` is a compiled StateGraph used as a node, sharing the `topic` and `notes` keys with the
parent. Its `check` step asks the human, with `interrupt()`, which of the gathered sources to keep:
the question comes from inside the subgraph, so its checkpoint lives in the subgraph's namespace
(`research:<task id>`), which `get_state(config, subgraphs=True)` shows under the parent's step.

Offline: the sources are Waypoint's offline search.

    python -m agent --graph examples/subgraph_research.py:graph
"""

from __future__ import annotations

from typing import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from agent.search.offline import OfflineSearch

SEARCH = OfflineSearch()


class ResearchState(TypedDict, total=False):
    topic: str
    sources: list[dict]
    notes: list[str]


class ReportState(TypedDict, total=False):
    topic: str
    questions: list[str]
    notes: list[str]
    report: str


def gather(state: ResearchState) -> dict:
    hits = SEARCH.search(state.get("topic", ""), max_results=3)
    return {"sources": [{"title": h.title, "snippet": h.snippet} for h in hits]}


def check(state: ResearchState) -> dict:
    titles = [source["title"] for source in state.get("sources", [])]
    keep = interrupt(
        {"question": "Which sources should the report use?", "sources": titles},
        response_schema={
            "type": "array",
            "items": {"type": "string", "enum": titles},
            "description": "The titles to keep (all of them if you send an empty list).",
        },
    )
    chosen = [title for title in keep if title in titles] if isinstance(keep, list) else []
    return {"sources": [s for s in state["sources"] if not chosen or s["title"] in chosen]}


def summarize(state: ResearchState) -> dict:
    return {"notes": [f"{s['title']}: {s['snippet'][:160]}" for s in state.get("sources", [])]}


research_builder = StateGraph(ResearchState)
research_builder.add_node("gather", gather)
research_builder.add_node("check", check)
research_builder.add_node("summarize", summarize)
research_builder.add_edge(START, "gather")
research_builder.add_edge("gather", "check")
research_builder.add_edge("check", "summarize")
research_builder.add_edge("summarize", END)
research = research_builder.compile()


def plan(state: ReportState) -> dict:
    topic = state.get("topic", "").strip() or "LangGraph persistence"
    return {"topic": topic, "questions": [f"What is {topic}?", f"Why does {topic} matter?"]}


def report(state: ReportState) -> dict:
    lines = [f"Report on {state['topic']}", *(f"- {note}" for note in state.get("notes", []))]
    return {"report": "\n".join(lines)}


builder = StateGraph(ReportState)
builder.add_node("plan", plan)
builder.add_node("research", research)
builder.add_node("report", report)
builder.add_edge(START, "plan")
builder.add_edge("plan", "research")
builder.add_edge("research", "report")
builder.add_edge("report", END)
graph = builder.compile()
