"""A LangGraph Agent Server's JSON (langgraph-sdk's dicts) -> Waypoint's plain views and events.

The server sends threads, states, checkpoints and stream parts as JSON. Everything here turns
that JSON into what the in-process engine would have had (LangChain messages, LangGraph
`Interrupt`s, "messages"/"updates" stream pairs), so the helpers `LocalBackend` uses
(`agent.message_views`, `agent.interrupts`, `agent.stream_events`, `agent.timeline.tree`) build
the views here too. Pure functions: no network, easy to test on recorded JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)
from langgraph.types import Interrupt

from agent.interrupts import interrupt_views

# agent.timeline first: it imports agent.interrupts, which imports agent.timeline.text, a cycle
# that breaks when agent.interrupts is the first of the two to load.
from agent.jsonable import jsonable
from agent.timeline.tree import Skeleton
from agent.views import (
    CheckpointRow,
    SubgraphCheckpoint,
    SubgraphView,
    ThreadInfo,
    ThreadStatus,
    ToolCallView,
)

OWNER = "waypoint_owner"  # thread metadata: the user id the thread belongs to
TITLE = "title"
DEFAULT_TITLE = "New thread"
# The server's thread status -> the sidebar's badge.
_STATUS: dict[str, ThreadStatus] = {
    "idle": "idle",
    "busy": "running",
    "interrupted": "waiting",
    "error": "error",
}
# The server's run status -> Waypoint's ("halted" is told from the stream: a run that stopped at an
# interrupt ends "success" on the server).
RUN_STATUS = {
    "pending": "running",
    "running": "running",
    "success": "done",
    "interrupted": "cancelled",
    "error": "error",
    "timeout": "error",
}


def timestamp(value: Any) -> float:
    """An ISO time from the server as seconds since the epoch (0 when it sent none)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value).timestamp()
    return 0.0


def owner_of(thread: Mapping[str, Any]) -> str | None:
    metadata = thread.get("metadata") or {}
    owner = metadata.get(OWNER)
    return owner if isinstance(owner, str) else None


def thread_info(thread: Mapping[str, Any], messages_key: str | None) -> ThreadInfo:
    metadata = thread.get("metadata") or {}
    values = thread.get("values")
    found = values.get(messages_key) if isinstance(values, Mapping) and messages_key else None
    return ThreadInfo(
        id=str(thread["thread_id"]),
        title=str(metadata.get(TITLE) or DEFAULT_TITLE),
        created_at=timestamp(thread.get("created_at")),
        updated_at=timestamp(thread.get("updated_at")),
        message_count=len(found) if isinstance(found, list) else 0,
        status=_STATUS.get(str(thread.get("status")), "idle"),
        owner=owner_of(thread) or "",
    )


_MESSAGE_TYPES: dict[str, type[BaseMessage]] = {
    "human": HumanMessage,
    "ai": AIMessage,
    "tool": ToolMessage,
    "system": SystemMessage,
}


def messages_from_json(items: list[Any]) -> list[BaseMessage]:
    """The server's message dicts as LangChain messages, every field kept (`convert_to_messages`
    alone drops an AI message's `usage_metadata` and a tool message's `response_metadata`)."""
    messages = []
    for item in items:
        kind = _MESSAGE_TYPES.get(str(item.get("type"))) if isinstance(item, Mapping) else None
        if kind is None:
            messages.extend(convert_to_messages([item]))
        else:
            messages.append(kind(**{k: v for k, v in item.items() if k != "type"}))
    return messages


def messages_of(values: Any, messages_key: str | None) -> list[BaseMessage]:
    """The messages channel of a state's values, as LangChain messages."""
    if not messages_key or not isinstance(values, Mapping):
        return []
    found = values.get(messages_key)
    return messages_from_json(found) if isinstance(found, list) else []


def other_values(values: Any, messages_key: str | None) -> dict[str, Any]:
    """The channels other than the messages, JSON-able."""
    if not isinstance(values, Mapping):
        return {}
    return {str(k): jsonable(v) for k, v in values.items() if k != messages_key}


def interrupt(item: Mapping[str, Any]) -> Interrupt:
    """One interrupt's JSON as LangGraph's `Interrupt` (with the JSON Schema of its answer)."""
    schema = item.get("response_schema")
    return Interrupt(
        value=item.get("value"),
        id=str(item.get("id")),
        response_schema=dict(schema) if isinstance(schema, Mapping) else None,
    )


def interrupts_of(state: Mapping[str, Any]) -> list[Interrupt]:
    """The interrupts a state waits on (the server lists subgraphs' too), as LangGraph's own."""
    found = state.get("interrupts") or []
    return [interrupt(item) for item in found if isinstance(item, Mapping)]


def pending_calls(interrupts: Sequence[Interrupt]) -> tuple[ToolCallView, ...]:
    """The tool calls the interrupts ask about: HITL requests (LangChain's human-in-the-loop
    middleware format), or Waypoint's own agent's `{"calls": [...]}`."""
    return tuple(call for view in interrupt_views(interrupts) for call in view.calls)


def checkpoint_id_of(state: Mapping[str, Any]) -> str | None:
    checkpoint = state.get("checkpoint") or {}
    found = checkpoint.get("checkpoint_id") or state.get("checkpoint_id")
    return str(found) if found else None


def parent_id_of(state: Mapping[str, Any]) -> str | None:
    parent = state.get("parent_checkpoint") or {}
    found = parent.get("checkpoint_id") if isinstance(parent, Mapping) else None
    return str(found) if found else None


# --- stream parts ------------------------------------------------------------------------------


def stream_pairs(event: str, data: Any) -> Iterator[tuple[str, Any]]:
    """A server stream part as the (mode, chunk) pair `graph.stream` would have yielded, for
    `agent.stream_events.StreamTranslator`: "messages" as (message chunk, metadata), "updates"
    with their messages and interrupts rebuilt."""
    if event == "messages" and isinstance(data, list) and len(data) == 2:
        message, metadata = data
        if isinstance(message, Mapping) and message.get("id"):
            content = message.get("content") or ""
            chunk = AIMessageChunk(content=content, id=str(message["id"]))
            yield "messages", (chunk, metadata if isinstance(metadata, Mapping) else {})
    elif event == "updates" and isinstance(data, Mapping):
        yield "updates", {node: _update(node, value) for node, value in data.items()}


def _update(node: str, value: Any) -> Any:
    if node == "__interrupt__" and isinstance(value, list):
        return [interrupt(item) for item in value if isinstance(item, Mapping)]
    if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
        return {**value, "messages": messages_from_json(value["messages"])}
    return value


# --- the timeline ------------------------------------------------------------------------------


def skeleton(history: Sequence[Mapping[str, Any]]) -> Skeleton:
    """The checkpoint tree of a thread's history (newest first, as the server pages it)."""
    return Skeleton.from_rows(
        (str(checkpoint_id_of(state)), parent_id_of(state), state.get("metadata") or {})
        for state in history
    )


def _written_by(state: Mapping[str, Any], parent: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The nodes whose step wrote this checkpoint: what its parent had next, for a loop step."""
    source = (state.get("metadata") or {}).get("source")
    if source == "loop" and parent is not None:
        return tuple(parent.get("next") or ())
    return ()


def _label(state: Mapping[str, Any], written_by: tuple[str, ...]) -> str:
    metadata = state.get("metadata") or {}
    source, step = metadata.get("source"), metadata.get("step")
    asked = " and asked you a question" if state.get("interrupts") else ""
    if source == "input":
        return "the input arrived"
    if source == "update":
        return "the state was edited (update_state)"
    if source == "fork":
        return "a copy of a checkpoint, where a run started again"
    if step == 0:
        return "start put the input into the state" + asked
    if written_by:
        return f"{', '.join(written_by)} ran{asked}"
    return "a step" + asked


def checkpoint_rows(
    history: Sequence[Mapping[str, Any]], tree: Skeleton
) -> tuple[CheckpointRow, ...]:
    """Every checkpoint as a timeline row, newest first (branch 0 ends at the latest)."""
    by_id = {str(checkpoint_id_of(state)): state for state in history}
    lanes, tips = tree.branches(None)
    shown = set(tree.path(tree.latest)) if tree.latest else set()
    run_numbers: dict[str, int] = {}
    for checkpoint_id in reversed(tree.ids):
        run_id = (by_id[checkpoint_id].get("metadata") or {}).get("run_id")
        if run_id and run_id not in run_numbers:
            run_numbers[run_id] = len(run_numbers) + 1
    rows = []
    for checkpoint_id in tree.ids:
        state = by_id[checkpoint_id]
        metadata = state.get("metadata") or {}
        parent_id = tree.parent(checkpoint_id)
        written_by = _written_by(state, by_id.get(parent_id) if parent_id else None)
        run_id = metadata.get("run_id")
        lane = lanes.get(checkpoint_id, 0)
        rows.append(
            CheckpointRow(
                checkpoint_id=checkpoint_id,
                parent_id=parent_id,
                step=int(metadata.get("step", 0) or 0),
                source=str(metadata.get("source") or ""),
                written_by=written_by,
                next_nodes=tuple(state.get("next") or ()),
                created_at=timestamp(state.get("created_at")),
                label=_label(state, written_by),
                run_id=str(run_id) if run_id else None,
                run_number=run_numbers.get(run_id) if run_id else None,
                children=len(tree.children.get(checkpoint_id, ())),
                branch=lane,
                branch_tip=tips[lane] if lane < len(tips) else checkpoint_id,
                on_shown_branch=checkpoint_id in shown,
                is_head=checkpoint_id == tree.latest,
                is_latest=checkpoint_id == tree.latest,
                halted=bool(pending_calls(interrupts_of(state))),
            )
        )
    return tuple(rows)


def subgraph_namespace(task: Mapping[str, Any]) -> str | None:
    """The checkpoint namespace of the subgraph a task runs (`get_state(subgraphs=True)`)."""
    state = task.get("state")
    checkpoint = state.get("checkpoint") if isinstance(state, Mapping) else None
    namespace = checkpoint.get("checkpoint_ns") if isinstance(checkpoint, Mapping) else None
    return str(namespace) if namespace else None


def subgraph_view(task: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> SubgraphView:
    """A subgraph paused inside the parent's step: where it stands, and its own checkpoints
    (`history`, newest first, read in its namespace)."""
    state = task["state"]
    return SubgraphView(
        node=str(task.get("name") or ""),
        namespace=subgraph_namespace(task) or "",
        next_nodes=tuple(state.get("next") or ()),
        values=other_values(state.get("values"), None),
        interrupts=interrupt_views(
            [interrupt(i) for i in task.get("interrupts") or () if isinstance(i, Mapping)]
        ),
        checkpoints=tuple(
            SubgraphCheckpoint(
                checkpoint_id=str(checkpoint_id_of(item)),
                step=int((item.get("metadata") or {}).get("step", 0) or 0),
                source=str((item.get("metadata") or {}).get("source") or ""),
            )
            for item in history
        ),
    )
