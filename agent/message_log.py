"""The `messages` channel: stored as deltas, so a checkpoint does not copy the conversation.

Stock `add_messages` keeps the whole list in every checkpoint, which makes storage grow with the
square of the conversation. A `DeltaChannel` stores only each step's new messages and rebuilds the
list by replaying them; its reducer must accept a batch of writes at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.channels import DeltaChannel
from langgraph.graph.message import add_messages


def merge_message_batches(current: list[Any], batches: Sequence[Any]) -> list[Any]:
    """Apply each write with `add_messages` semantics (append, replace by id, remove)."""
    merged = current
    for batch in batches:
        merged = add_messages(merged, batch)
    return merged


def messages_channel() -> DeltaChannel:
    return DeltaChannel(merge_message_batches, snapshot_frequency=1_000_000)
