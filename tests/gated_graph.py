"""`slow_chat`: a chat graph for the Agent Server tests whose run waits at a gate the test opens.

A run on it writes a tool call (`think`), then waits in `wait` until the test opens the thread's
gate (a file named after the thread in WAYPOINT_TEST_GATES, made by `open_gate`), then answers
(`answer`, quoting the message it answers). So a test can send a second message while the first
run is certainly going, at a known step (a tool call without its result yet), with no sleep on
its side: the run waits on a condition, and the test waits on the run's events. `wait` is async,
so the server's interrupt or rollback cancels it where it waits.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph

GATES_ENV = "WAYPOINT_TEST_GATES"
GATE_TIMEOUT = 60.0  # seconds a run waits for its gate before it answers anyway
POLL = 0.05  # seconds between looks at the gate (the server's own wait, not the test's)


def gate(directory: Path, thread_id: str) -> Path:
    return directory / thread_id


def open_gate(directory: Path, thread_id: str) -> None:
    """Let every run of this thread past `wait`, now and later."""
    gate(directory, thread_id).touch()


def _last_human(state: MessagesState) -> str:
    human = [m for m in state["messages"] if isinstance(m, HumanMessage)]
    return str(human[-1].content) if human else ""


def think(state: MessagesState) -> dict:
    call = {"name": "wait_for_gate", "args": {"about": _last_human(state)}, "id": str(uuid.uuid4())}
    return {"messages": [AIMessage(content="", tool_calls=[call], id=str(uuid.uuid4()))]}


async def wait(state: MessagesState, config: RunnableConfig) -> dict:
    thread_id = str(config["configurable"]["thread_id"])
    path = gate(Path(os.environ[GATES_ENV]), thread_id)
    deadline = asyncio.get_running_loop().time() + GATE_TIMEOUT
    while not path.exists() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(POLL)
    call = state["messages"][-1].tool_calls[0]  # type: ignore[union-attr]
    return {"messages": [ToolMessage("The gate opened.", tool_call_id=call["id"])]}


def answer(state: MessagesState) -> dict:
    return {"messages": [AIMessage(content=f"Answered: {_last_human(state)}")]}


builder = StateGraph(MessagesState)
builder.add_node("think", think)
builder.add_node("wait", wait)
builder.add_node("answer", answer)
builder.add_edge(START, "think")
builder.add_edge("think", "wait")
builder.add_edge("wait", "answer")
builder.add_edge("answer", END)
graph = builder.compile()
