"""What changed between two checkpoints: messages by id, and the other channels by version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from agent.message_views import message_view
from agent.timeline.versions import same_version
from agent.views import MessageChange, MessageView, StateDiff


def changed_channels(
    versions: Mapping[str, Any], parent_versions: Mapping[str, Any]
) -> tuple[str, ...]:
    """The channels other than `messages` whose version differs from the parent's, sorted."""
    return tuple(
        sorted(
            name
            for name in set(versions) | set(parent_versions)
            if name != "messages" and versions.get(name) != parent_versions.get(name)
        )
    )


def message_diff(
    before: Sequence[BaseMessage], after: Sequence[BaseMessage], channels: tuple[str, ...] = ()
) -> StateDiff:
    """Messages added, changed and removed (by id) from `before` to `after`."""
    old = {m.id: m for m in before}
    new_ids = {m.id for m in after}
    added: list[MessageView] = []
    changed: list[MessageChange] = []
    for message in after:
        previous = old.get(message.id)
        if previous is None:
            added.append(message_view(message))
        elif not same_version(previous, message):
            changed.append(
                MessageChange(before=message_view(previous), after=message_view(message))
            )
    removed = tuple(message_view(m) for m in before if m.id not in new_ids)
    return StateDiff(added=tuple(added), changed=tuple(changed), removed=removed, channels=channels)
