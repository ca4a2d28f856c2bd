"""Sibling versions of a message (the chat's `< 2 / 3 >` switcher), over any way of reading states.

- Two versions of the conversation are siblings at position i when they hold the same messages
  before i (same ids and the same contents) and differ at i: another message there (a regenerated
  answer, a question sent from an earlier point), or the same id with other content (an edited
  message keeps its id). So "same id or same position" are both covered.
- The versions compared are the shown state (the branch head, or the latest checkpoint) and every
  branch tip (checkpoint without children) that does not descend from the shown checkpoint: what
  follows the shown checkpoint is its own future, not an alternative. A tip that only extends or
  repeats the shown conversation is no sibling either.
- Switching to a version shows its newest tip (like ChatGPT, the latest conversation on that
  branch); the shown version keeps the shown checkpoint.
- Versions are numbered by when they first appeared (the first checkpoint on their own path whose
  state holds them), so the numbers do not change with the branch you look from: the original is
  1, each edit or regeneration comes after. Two versions are ordered at their common ancestor: the
  one it already holds is older; if it holds neither, each one's first checkpoint after it is
  found by a short galloping search (once a version is in a path's state it stays there).
- Cost: the state of each branch tip is read (on a cold process, each branch's first read decodes
  the snapshot LangGraph wrote where it forked), plus a few reads per fork; `agent.timeline.reader`
  caches the answer until the tree or the branch head changes. A thread that never forked costs
  one stamp query.

The search takes the tree and a `messages_at(checkpoint_id)` function, so it runs as well over a
dict of lists (tests/test_timeline_algorithms.py) as over a database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cmp_to_key

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent.timeline.text import message_preview
from agent.timeline.tree import Skeleton, bisect_path
from agent.views import MessageVersion, MessageVersions

MessagesAt = Callable[[str], list[BaseMessage]]  # a checkpoint's messages, never changed in place


def version_key(message: BaseMessage) -> str:
    """What makes two messages the same version: id and content (an edit keeps the id)."""
    calls = message.tool_calls if isinstance(message, AIMessage) else ()
    tool = (message.tool_call_id, message.status) if isinstance(message, ToolMessage) else None
    return json.dumps(
        [
            message.id,
            message.type,
            message.content,
            [[c.get("id"), c.get("name"), c.get("args")] for c in calls],
            tool,
        ],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )


def same_version(a: BaseMessage, b: BaseMessage) -> bool:
    """Same id and same content: what `version_key` compares, without building the keys."""
    if a is b:  # read-back messages are shared between reads of one branch
        return True
    if a.id != b.id or type(a) is not type(b) or a.content != b.content:
        return False
    if isinstance(a, AIMessage) and isinstance(b, AIMessage):
        return [(c.get("id"), c.get("name"), c.get("args")) for c in a.tool_calls] == [
            (c.get("id"), c.get("name"), c.get("args")) for c in b.tool_calls
        ]
    if isinstance(a, ToolMessage) and isinstance(b, ToolMessage):
        return (a.tool_call_id, a.status) == (b.tool_call_id, b.status)
    return True


def divergence(
    a: Sequence[BaseMessage], b: Sequence[BaseMessage], upto: int | None = None
) -> int | None:
    """The first position (below `upto`, if given) where the two conversations hold different
    versions, or None when one is the other's beginning."""
    if upto is not None:
        a, b = a[:upto], b[:upto]
    for position, (left, right) in enumerate(zip(a, b, strict=False)):
        if not same_version(left, right):
            return position
    return None


def sibling_versions(
    skeleton: Skeleton, head: str, messages_at: MessagesAt
) -> tuple[MessageVersions, ...]:
    """The sibling versions of each message shown at `head` that has any (the module's rule)."""
    return _Search(skeleton, messages_at).versions(head)


class _Search:
    """One computation of sibling versions: the tree, how to read a state, and what it found."""

    def __init__(self, skeleton: Skeleton, messages_at: MessagesAt):
        self.skeleton = skeleton
        self.messages_at = messages_at
        # (checkpoint, after) -> the first checkpoint after `after` on its path holding its version
        self.births: dict[tuple[str, str, int], str] = {}

    def versions(self, head: str) -> tuple[MessageVersions, ...]:
        skeleton, messages_at = self.skeleton, self.messages_at
        shown = messages_at(head)
        future = skeleton.subtree(head)
        # position -> version key -> tips holding it, newest first
        found: dict[int, dict[str, list[str]]] = {}
        for tip in skeleton.tips():
            if tip in future:
                continue
            messages = messages_at(tip)
            position = divergence(shown, messages)
            if position is None or position >= len(shown) or position >= len(messages):
                continue
            holders = found.setdefault(position, {})
            holders.setdefault(version_key(messages[position]), []).append(tip)
        result = []
        for position in sorted(found):
            targets = {version_key(shown[position]): head}
            for key, tips_of in found[position].items():
                targets.setdefault(key, tips_of[0])

            def older(a: str, b: str, position: int = position, targets=targets) -> int:
                return self.older(targets[a], targets[b], position)

            ordered = sorted(targets, key=cmp_to_key(older))
            versions = []
            for key in ordered:
                message = messages_at(targets[key])[position]
                versions.append(
                    MessageVersion(
                        checkpoint_id=targets[key],
                        message_id=message.id or "",
                        preview=message_preview(message),
                    )
                )
            result.append(
                MessageVersions(
                    message_id=shown[position].id or "",
                    position=position,
                    index=ordered.index(version_key(shown[position])),
                    versions=tuple(versions),
                )
            )
        return tuple(result)

    def holds(self, checkpoint_id: str, wanted: Sequence[BaseMessage]) -> bool:
        """Whether the state at a checkpoint begins with `wanted` (same versions)."""
        messages = self.messages_at(checkpoint_id)
        return len(messages) >= len(wanted) and divergence(messages, wanted, len(wanted)) is None

    def older(self, a: str, b: str, position: int) -> int:
        """-1 when the version at `position` that `a` holds appeared before the one `b` holds.

        Their common ancestor settles most pairs with one read: a version it already holds is the
        older one (the other appeared after the fork). Otherwise both appeared after it, and each
        one's first checkpoint is searched from there (usually a step or two).
        """
        fork = self.skeleton.common_ancestor(a, b)
        wanted_a = self.messages_at(a)[: position + 1]
        wanted_b = self.messages_at(b)[: position + 1]
        if fork is not None:
            if self.holds(fork, wanted_a):
                return -1
            if self.holds(fork, wanted_b):
                return 1
        first_a = self.first_after(a, fork, wanted_a, position)
        first_b = self.first_after(b, fork, wanted_b, position)
        return -1 if first_a < first_b else 1 if first_b < first_a else 0

    def first_after(
        self, target: str, after: str | None, wanted: Sequence[BaseMessage], position: int
    ) -> str:
        """The first checkpoint after `after` on `target`'s path that holds `wanted`: a galloping
        search (1, 2, 4, ... steps) then bisection, since once held it stays held."""
        memo = (target, after or "", position)
        if memo in self.births:
            return self.births[memo]
        path = self.skeleton.path(target)
        segment = path[path.index(after) + 1 :] if after in path else path
        if not segment:
            return target
        low, probe, stride = -1, 0, 1

        def holds(checkpoint_id: str) -> bool:
            return self.holds(checkpoint_id, wanted)

        while probe < len(segment) - 1 and not holds(segment[probe]):
            low, probe, stride = probe, min(probe + stride, len(segment) - 1), stride * 2
        found = bisect_path(segment[low + 1 : probe + 1], holds) or target
        self.births[memo] = found
        return found
