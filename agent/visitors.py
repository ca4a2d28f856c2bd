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

from agent.protocol import User
from agent.runs import ThreadBusy
from agent.threads import UnknownThread
from agent.visitor_tokens import VISITOR_PREFIX

if TYPE_CHECKING:
    from agent.backend import LocalBackend

log = logging.getLogger(__name__)


class VisitorSweep:
    """Deletes expired visitor threads, at most once per `every` seconds however often asked.

    Asked on each visitor page run, so a deployment sweeps while it has visitors and costs nothing
    when it has none. A thread with a run going is left for the next sweep.
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
        """Delete every visitor thread created more than `hours` before `now`."""
        cutoff = (self._clock() if now is None else now) - self.hours * 3600
        deleted = 0
        for owner, thread_id in backend.threads.created_before(VISITOR_PREFIX, cutoff):
            try:
                backend.delete_thread(User(id=owner, name="Visitor", kind="visitor"), thread_id)
            except (ThreadBusy, UnknownThread):
                continue  # running now (next sweep), or deleted meanwhile
            deleted += 1
        if deleted:
            log.info("visitor sweep deleted %d expired threads", deleted)
        return deleted
