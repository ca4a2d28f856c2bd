"""A thread's checkpoint tree from (id, parent, metadata) rows: paths, tips, branches, runs.

Everything here works on plain rows (`agent.checkpoint_store.SkeletonRow`, or tuples in tests),
so any database's store can feed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.timeline.keys import RUN


@dataclass
class Skeleton:
    """Every checkpoint of a thread as ids, parents and metadata: one indexed query, no blobs."""

    ids: list[str]  # newest first
    parents: dict[str, str | None]
    metadata: dict[str, Mapping[str, Any]]
    children: dict[str, list[str]] = field(default_factory=dict)  # oldest first

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str | None, Mapping[str, Any]]]) -> Skeleton:
        """From (checkpoint_id, parent_id, metadata) rows, newest first (`SkeletonRow`s)."""
        ids: list[str] = []
        parents: dict[str, str | None] = {}
        metadata: dict[str, Mapping[str, Any]] = {}
        for checkpoint_id, parent_id, stored in rows:
            ids.append(checkpoint_id)
            parents[checkpoint_id] = parent_id
            metadata[checkpoint_id] = stored
        children: dict[str, list[str]] = {}
        for checkpoint_id in reversed(ids):
            parent_id = parents[checkpoint_id]
            if parent_id is not None and parent_id in parents:
                children.setdefault(parent_id, []).append(checkpoint_id)
        return cls(ids, parents, metadata, children)

    @property
    def latest(self) -> str | None:
        return self.ids[0] if self.ids else None

    def parent(self, checkpoint_id: str) -> str | None:
        parent_id = self.parents.get(checkpoint_id)
        return parent_id if parent_id in self.parents else None

    def tips(self) -> list[str]:
        """Checkpoints without children, newest first: one per branch."""
        return [c for c in self.ids if not self.children.get(c)]

    def forked(self) -> bool:
        return any(len(kids) > 1 for kids in self.children.values())

    def path(self, checkpoint_id: str) -> list[str]:
        """The root, ..., `checkpoint_id`."""
        path: list[str] = []
        seen: set[str] = set()
        current: str | None = checkpoint_id
        while current is not None and current not in seen:
            path.append(current)
            seen.add(current)
            current = self.parent(current)
        path.reverse()
        return path

    def common_ancestor(self, a: str, b: str) -> str | None:
        """The newest checkpoint on both paths from the root (None if they share none)."""
        on_a = set(self.path(a))
        current: str | None = b
        seen: set[str] = set()
        while current is not None and current not in seen:
            if current in on_a:
                return current
            seen.add(current)
            current = self.parent(current)
        return None

    def subtree(self, checkpoint_id: str) -> set[str]:
        found, stack = {checkpoint_id}, [checkpoint_id]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def branches(self, head: str | None) -> tuple[dict[str, int], list[str]]:
        """Each checkpoint's branch number, and each branch's tip.

        Branch 0 runs from the root to the newest tip at or after `head` (the branch the chat
        shows); the others follow, newest tip first, each taking the ancestors no earlier branch
        took, so a row's branch is the lane a tree drawing puts it in.
        """
        tips = self.tips()
        if head is not None and head in self.parents:
            ahead = self.subtree(head)
            shown = next((tip for tip in tips if tip in ahead), head)
            tips = [shown, *(tip for tip in tips if tip != shown)]
        lanes: dict[str, int] = {}
        for number, tip in enumerate(tips):
            current: str | None = tip
            while current is not None and current not in lanes:
                lanes[current] = number
                current = self.parent(current)
        return lanes, tips

    def run_numbers(self) -> dict[str, int]:
        numbers: dict[str, int] = {}
        for checkpoint_id in reversed(self.ids):
            run_id = self.metadata[checkpoint_id].get(RUN)
            if run_id and run_id not in numbers:
                numbers[run_id] = len(numbers) + 1
        return numbers


def bisect_path(path: Sequence[str], holds: Callable[[str], bool]) -> str | None:
    """The first checkpoint of `path` for which `holds` is true, given that once true it stays
    true to the end of the path (so the last one must hold); None when the last does not."""
    if not path or not holds(path[-1]):
        return None
    low, high = 0, len(path) - 1
    while low < high:
        middle = (low + high) // 2
        if holds(path[middle]):
            high = middle
        else:
            low = middle + 1
    return path[low]


@dataclass(frozen=True)
class TreeLayout:
    """What every row of one timeline page needs of the tree, computed once for the page."""

    skeleton: Skeleton
    head: str | None  # the checkpoint the chat shows
    lanes: dict[str, int]  # checkpoint -> its branch number (`Skeleton.branches`)
    tips: list[str]  # branch number -> its tip
    shown: frozenset[str]  # the head's path
    runs: dict[str, int]  # run id -> its number, oldest run 1

    @classmethod
    def of(cls, skeleton: Skeleton, head: str | None) -> TreeLayout:
        lanes, tips = skeleton.branches(head)
        shown = frozenset(skeleton.path(head)) if head else frozenset()
        return cls(skeleton, head, lanes, tips, shown, skeleton.run_numbers())
