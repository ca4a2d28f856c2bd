"""A fence on one run's checkpoint writes, so a run that Stop abandoned can never write again.

A sync graph cannot be interrupted inside a blocking call (a provider that does not answer, a slow
tool), so Stop does not wait for it: the run is settled at once and its worker is left to end on
its own. Everything that worker could still write goes through the run's own clone of the saver
(`gated`), whose writes pass the run's `WriteGate`. Closing the gate waits for the writes already
under way, then refuses every later one, so once a run has ended its thread holds exactly what it
held at that moment, and a new run on the thread never meets a stale write.

    gate = WriteGate()
    config["configurable"]["__pregel_checkpointer"] = gated(graph.checkpointer, gate)
    ...
    gate.close(timeout=10)  # the run's writes are over
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, ChannelVersions, Checkpoint

Saver = TypeVar("Saver", bound=BaseCheckpointSaver)


class WriteRefused(RuntimeError):
    """A checkpoint write from a run that has already ended (it was stopped or timed out)."""

    def __init__(self) -> None:
        super().__init__("This run has ended, so it can no longer write checkpoints.")


class WriteGate:
    """Counts writes in progress; once closed, refuses new ones."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._open = True
        self._writing = 0

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the gate open for one write; raises WriteRefused when it is closed."""
        with self._changed:
            if not self._open:
                raise WriteRefused()
            self._writing += 1
        try:
            yield
        finally:
            with self._changed:
                self._writing -= 1
                self._changed.notify_all()

    def close(self, timeout: float) -> bool:
        """Refuse new writes and wait for those under way; False if they outlasted `timeout`."""
        with self._changed:
            self._open = False
            return self._changed.wait_for(lambda: self._writing == 0, timeout)


class _GatedWrites:
    """Mixin: a saver's write methods pass the gate first (reads are untouched)."""

    _write_gate: WriteGate

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: Any,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        with self._write_gate.writing():
            return super().put(config, checkpoint, metadata, new_versions)  # type: ignore[misc]

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        with self._write_gate.writing():
            super().put_writes(config, writes, task_id, task_path)  # type: ignore[misc]

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: Any,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        with self._write_gate.writing():
            return await super().aput(config, checkpoint, metadata, new_versions)  # type: ignore[misc]

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        with self._write_gate.writing():
            await super().aput_writes(config, writes, task_id, task_path)  # type: ignore[misc]


_GATED_CLASSES: dict[type, type] = {}


def _gated_class(saver_class: type) -> type:
    """One gated subclass per saver class (made once, so clones share it)."""
    made = _GATED_CLASSES.get(saver_class)
    if made is None:
        made = type(f"Gated{saver_class.__name__}", (_GatedWrites, saver_class), {})
        made = _GATED_CLASSES.setdefault(saver_class, made)
    return made


def gated(saver: Saver, gate: WriteGate) -> Saver:
    """A shallow clone of `saver` (same connection, lock and caches) whose writes pass `gate`.

    A clone, as LangGraph's own `with_allowlist` makes one, so the shared saver is never changed.
    """
    clone = copy.copy(saver)
    clone.__class__ = _gated_class(type(saver))
    clone._write_gate = gate  # type: ignore[attr-defined]
    return clone
