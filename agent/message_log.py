"""The `messages` channel: stored as deltas, so a checkpoint does not copy the conversation.

Stock `add_messages` keeps the whole list in every checkpoint, which makes storage grow with the
square of the conversation. A `DeltaChannel` stores only each step's new messages and rebuilds the
list by replaying them. Its reducer receives many writes at once (a whole thread's history on a
cold read), so `merge_message_writes` applies them in one pass, with exactly the result of applying
`add_messages` to each write in turn.

The channel never asks for a snapshot (a full copy of the list in a checkpoint) on a schedule:
LangGraph still writes one where correctness needs it (a new thread, a fork, an `Overwrite`), and
`agent.storage` makes the walk back to the last one cheap instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    BaseMessageChunk,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
    message_chunk_to_message,
)
from langgraph.channels import DeltaChannel
from langgraph.graph.message import REMOVE_ALL_MESSAGES

# Scheduled snapshots would copy the whole conversation every N updates: quadratic storage again.
NEVER = 2**62

# Namespace of the ids given to messages written without one (see `_derived_id`).
_ID_NAMESPACE = uuid.UUID("6f1d8c1e-8f3a-4a52-9a51-3c1f0e6b2d7a")


def messages_channel() -> DeltaChannel:
    """The channel behind `AgentState.messages`: `add_messages` semantics, stored as deltas."""
    return DeltaChannel(merge_message_writes, snapshot_frequency=NEVER)


def merge_message_writes(current: Sequence[Any], writes: Sequence[Any]) -> list[Any]:
    """Apply `writes` to `current` as successive `add_messages` calls would, in one pass.

    Append; a message whose id is already present replaces it in place; `RemoveMessage` deletes
    (an unknown id is an error); `REMOVE_ALL_MESSAGES` clears. One difference: a message that still
    has no id gets one derived from its content and the message before it instead of a random one,
    because a delta channel replays its writes on every read and the ids must come back the same.
    (LangGraph already gives message objects ids before it stores a write; this covers strings and
    tuples written as messages.)
    """
    log = _MessageLog(current)
    for write in writes:
        if not log.append_new(write):
            log.apply(write)
    return log.messages()


# Messages `append_new` takes as they are: the kinds a conversation is made of, never chunks.
_PLAIN = (HumanMessage, AIMessage, ToolMessage, SystemMessage)


class _MessageLog:
    """The list being rebuilt: removed messages leave holes, filled in once at the end."""

    def __init__(self, current: Sequence[Any]) -> None:
        self._reset(_with_ids(_coerce(list(current)), None))

    def _reset(self, messages: list[Any]) -> None:
        self.slots: list[Any] = messages
        # Every position of each id: `add_messages` replaces the last one and removes them all.
        self.positions: dict[str, list[int]] = {}
        for position, message in enumerate(messages):
            self.positions.setdefault(message.id, []).append(position)

    def append_new(self, write: Any) -> bool:
        """Append a write of one plain message with an id not seen yet, the step a conversation
        writes thousands of times (a cold read replays them all); False leaves it to `apply`."""
        if type(write) is not list or len(write) != 1 or type(write[0]) not in _PLAIN:
            return False
        message = write[0]
        if message.id is None or message.id in self.positions:
            return False
        self.positions[message.id] = [len(self.slots)]
        self.slots.append(message)
        return True

    def apply(self, write: Any) -> None:
        right = _with_ids(_coerce(write if isinstance(write, list) else [write]), self._last_id())
        clear_at = None
        for position, message in enumerate(right):
            if isinstance(message, RemoveMessage) and message.id == REMOVE_ALL_MESSAGES:
                clear_at = position
        if clear_at is not None:
            self._reset(right[clear_at + 1 :])
            return
        removed: set[str] = set()
        for message in right:
            positions = self.positions.get(message.id)
            if positions is None:
                if isinstance(message, RemoveMessage):
                    raise ValueError(
                        f"Attempting to delete a message with an ID that doesn't exist "
                        f"('{message.id}')"
                    )
                self.positions[message.id] = [len(self.slots)]
                self.slots.append(message)
            elif isinstance(message, RemoveMessage) and message.id:
                removed.add(message.id)
            else:
                removed.discard(message.id)
                self.slots[positions[-1]] = message
        for message_id in removed:
            for position in self.positions.pop(message_id):
                self.slots[position] = None

    def _last_id(self) -> str | None:
        for message in reversed(self.slots):
            if message is not None:
                return message.id
        return None

    def messages(self) -> list[Any]:
        return [message for message in self.slots if message is not None]


def _coerce(messages: list[Any]) -> list[Any]:
    """Message-likes (strings, tuples, dicts, chunks) as messages, as `add_messages` does."""
    if all(
        issubclass(kind, BaseMessage) and not issubclass(kind, BaseMessageChunk)
        for kind in set(map(type, messages))
    ):
        return messages
    return [message_chunk_to_message(message) for message in convert_to_messages(messages)]


def _with_ids(messages: list[Any], previous_id: str | None) -> list[Any]:
    for message in messages:
        if message.id is None:
            message.id = _derived_id(previous_id, message)
        previous_id = message.id
    return messages


def _derived_id(previous_id: str | None, message: BaseMessage) -> str:
    """Same message after the same predecessor, same id: replays agree, distinct messages differ."""
    key = f"{previous_id or ''}\x00{message.type}\x00{message.content!r}"
    return str(uuid.uuid5(_ID_NAMESPACE, key))
