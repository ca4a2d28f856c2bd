"""What happened at a checkpoint, as the timeline's one-line label, from plain stored data.

What a step wrote is the parent's pending writes: a checkpoint's writes belong to the step run
from it (replays and edits never add writes to a checkpoint they fork from). So a label costs no
state rebuild, and the timeline lists 1,000 checkpoints without `get_state_history`, which
rebuilds every state (bench/history.py).

Who wrote a row: "loop" rows by the nodes that ran (`GraphShape.ran_between`); "input" rows by
the input (`__input__`); "update" rows by the `as_node` Waypoint recorded (unknown for foreign
updates); "fork" rows are copies, written by no node. With durability "exit" a run also leaves a
bookkeeping row with no `source` (step -2) that holds the run's writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.constants import START

from agent.approval import result_outcome, results_text
from agent.graph import ACTION, LLM
from agent.stream_events import message_text
from agent.timeline.keys import (
    APPLIED,
    AS_NODE,
    COUNT,
    DECIDED,
    INPUT,
    NULL_TASK_ID,
    OP,
    PART,
    POSITION,
    RESUME,
    SERVER_STOPPED,
    SOURCE_TITLE,
    STOPPED,
    TOOL,
)
from agent.timeline.text import (
    answer_text,
    as_messages,
    call_text,
    decisions_in,
    decisions_text,
    plural,
    preview,
)


def _described(messages: Sequence[BaseMessage], nodes: Sequence[str]) -> list[str]:
    """What a step's messages say, by the node that writes each kind (all kinds when unknown)."""
    every = not nodes
    # Your own graph's nodes: they write any kind of message, and are named as they are.
    own = [node for node in nodes if node not in (LLM, ACTION, START, INPUT)]
    parts: list[str] = []
    humans = [m for m in messages if isinstance(m, HumanMessage)]
    if humans and (every or START in nodes or INPUT in nodes):
        parts.append(
            "your message was added" if len(humans) == 1 else f"{len(humans)} messages were added"
        )
    if every or LLM in nodes or own:
        who = LLM if every or LLM in nodes else own[0]
        for message in messages:
            if not isinstance(message, AIMessage):
                continue
            if message.tool_calls:
                calls = ", ".join(call_text(c["name"], c["args"]) for c in message.tool_calls)
                parts.append(f"{who} asked {calls}")
            else:
                words = len(message_text(message).split())
                parts.append(f"{who} answered ({plural(words, 'word')})")
    results = [m for m in messages if isinstance(m, ToolMessage)]
    if results and (every or ACTION in nodes or own):
        who = ACTION if every or ACTION in nodes else own[0]
        ran = any(result_outcome(m) is None for m in results)
        parts.append(f"{who} {'returned' if ran else 'ran no tool:'} {results_text(results)}")
    return parts


def what_happened(
    metadata: Mapping[str, Any],
    checkpoint: Mapping[str, Any],
    *,
    ran: tuple[str, ...],
    parent_writes: Sequence[tuple[str, str, Any]],
    parent_metadata: Mapping[str, Any] | None,
) -> tuple[tuple[str, ...], str]:
    """(node(s) that wrote the checkpoint, a short human label).

    `ran` is what `GraphShape.ran_between` says of the parent and this checkpoint, `parent_writes`
    the parent's pending writes (task id, channel, value), `parent_metadata` None at the root.
    """
    source = metadata.get("source")
    if source == "input":
        started = (checkpoint.get("channel_values") or {}).get(START) or {}
        given = started.get("messages", []) if isinstance(started, Mapping) else []
        messages = as_messages(given)
        humans = [m for m in messages if isinstance(m, HumanMessage)]
        if len(humans) == 1:
            return (INPUT,), f"you asked “{preview(message_text(humans[0]))}”"
        if not messages and isinstance(started, Mapping) and started:  # a graph's own input
            return (INPUT,), f"new input: {', '.join(sorted(map(str, started)))}"
        return (INPUT,), f"new input ({plural(len(messages), 'message')})"
    if source == "loop":
        return ran, _step_label(ran, parent_writes, metadata)
    if source == "update":
        return update_label(metadata)
    if source == "fork":
        if parent_metadata is None:
            return (), "copy of a checkpoint"
        return (), f"replay from step {parent_metadata.get('step', '?')}"
    return (), "the run's steps, saved when it ended (durability exit)"


def _step_label(
    nodes: tuple[str, ...],
    writes: Sequence[tuple[str, str, Any]],
    metadata: Mapping[str, Any],
) -> str:
    """What a "loop" step did: its messages, and the decisions it applied (yours, and those your
    rules made for your graph's HITL request, which its run's metadata says)."""
    messages = [
        m for _, channel, value in writes if channel == "messages" for m in as_messages(value)
    ]
    parts = _described(messages, nodes)
    answers = [(task, v) for task, channel, v in writes if channel == RESUME]
    if ACTION in nodes:
        # The run's answer is written for the null task (and again per task, in a list).
        resumes = [v for task, v in answers if task == NULL_TASK_ID]
        resumes = resumes or [v for _, v in answers]
        decisions = decisions_in(resumes[0]) if resumes else {}
        if decisions:
            parts.insert(0, decisions_text(decisions))
    elif answers and nodes:  # your own graph's node, answered: the task's own answer
        mine = [v for task, v in answers if task != NULL_TASK_ID] or [v for _, v in answers]
        decided = metadata.get(DECIDED)
        parts.insert(0, decided if isinstance(decided, str) and decided else answer_text(mine[0]))
    if not parts:
        parts = [f"{' and '.join(nodes)} ran" if nodes else "a step ran"]
    return "; ".join(parts)


def update_label(metadata: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    """An `update_state` row: what Waypoint's own update did (its `waypoint_*` metadata)."""
    op = metadata.get(OP)
    as_node = metadata.get(AS_NODE)
    nodes = (str(as_node),) if as_node else ()
    position = metadata.get(POSITION, "?")
    tool = metadata.get(TOOL) or "the tool"
    count = int(metadata.get(COUNT) or 0)
    if op == "edit":
        part = metadata.get(PART)
        if part == "tool_args":
            return nodes, f"you changed the arguments of {tool} (message {position})"
        if part == "tool_result":
            return nodes, f"you rewrote the result of {tool} (message {position})"
        return nodes, f"you edited message {position}"
    if op == "resend":
        return nodes, f"you edited message {position} to send it again"
    if op == "regenerate":
        return nodes, f"you asked for a new answer (message {position} on removed)"
    if op == "cancel_calls":
        return nodes, f"you wrote instead of deciding: {plural(count, 'call')} cancelled"
    if op == "continue":
        return nodes, "you continued from this point"
    if op == STOPPED:
        return nodes, "you stopped the run here"
    if op == SERVER_STOPPED:
        if metadata.get(TOOL):
            return nodes, f"the server stopped while {metadata[TOOL]} ran: it is asked again"
        if metadata.get(APPLIED):
            return nodes, f"the server stopped; the saved results of {metadata[APPLIED]} kept"
        return nodes, "the server stopped during a run"
    if op == "allow_tool":
        return nodes, f"you chose to always allow {tool} in this thread"
    if op == "ask_again":
        return nodes, f"you took back “always allow {tool}”: its calls are asked again"
    if op == "fork_thread":
        title = metadata.get(SOURCE_TITLE) or "another thread"
        return nodes, f"forked from “{preview(title, 50)}”"
    return nodes, f"state updated as {as_node}" if as_node else "state updated"
