"""Visitor mode: a public demo or a class with no accounts, each browser in its own private space.

A browser's first visit draws a random token, kept in a cookie that lives as long as the space
(WAYPOINT_VISITOR_HOURS); a refresh or a new tab of that browser brings the cookie back, and with
it the space. The threads are owned by a hash of the token, never the token itself, so the
database holds nothing that opens a space. Spaces expire: `sweep` deletes a visitor's threads
once they are older than the space's lifetime, and the cookie is gone from the browser by then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.visitor_tokens import VISITOR_PREFIX

if TYPE_CHECKING:
    from agent.backend import LocalBackend

log = logging.getLogger(__name__)

BATCH = 500  # threads deleted per transaction: a long sweep never holds the database for long


class VisitorSweep:
    """Deletes expired visitor threads, at most once per `every` seconds however often asked.

    Asked on each visitor page run, so a deployment sweeps while it has visitors and costs nothing
    when it has none. A thread with a run going (here or in another process) is left for the next
    sweep; the others go in batches, each batch's checkpoints in one transaction.
    """

    def __init__(self, hours: float, every: float = 600.0, clock: Callable[[], float] = time.time):
        self.hours = hours
        self.every = every
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def maybe_run(self, backend: LocalBackend) -> int:
        """Sweep if the last sweep is older than `every`; how many threads it deleted."""
        now = self._clock()
        with self._lock:
            if self._last is not None and now - self._last < self.every:
                return 0
            self._last = now
        return self.run(backend, now)

    def run(self, backend: LocalBackend, now: float | None = None) -> int:
        """Delete every visitor thread created more than `hours` before `now`, `BATCH` threads
        per transaction (`LocalBackend.purge_threads`)."""
        cutoff = (self._clock() if now is None else now) - self.hours * 3600
        expired = backend.threads.created_before(VISITOR_PREFIX, cutoff)
        idle = [thread_id for _owner, thread_id in expired if not backend.is_running(thread_id)]
        for start in range(0, len(idle), BATCH):
            backend.purge_threads(idle[start : start + BATCH])
        if idle:
            log.info("visitor sweep deleted %d expired threads", len(idle))
        return len(idle)
