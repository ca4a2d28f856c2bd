"""A per-user run limit, so a shared deployment's owner keeps control of the model budget.

Counted per user id over a sliding hour, in this process: starting a run takes a slot or is
refused with a sentence saying when the next slot frees up.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from agent.errors import Conflict

WINDOW_SECONDS = 3600.0


class RunLimitReached(Conflict):
    """A user started as many runs in the last hour as the deployment allows."""

    def __init__(self, limit: int, wait_seconds: float):
        minutes = max(1, round(wait_seconds / 60))
        super().__init__(
            f"You have started {limit} run{'s' if limit != 1 else ''} in the last hour, the most this deployment allows; "
            f"try again in about {minutes} minute{'s' if minutes != 1 else ''}."
        )
        self.limit = limit
        self.wait_seconds = wait_seconds


class RunLimiter:
    """Allow at most `per_hour` runs per user in any hour; `None` means no limit."""

    def __init__(self, per_hour: int | None, clock: Callable[[], float] = time.monotonic):
        self.per_hour = per_hour
        self._clock = clock
        self._starts: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def take(self, user_id: str) -> None:
        """Count a run for `user_id`, or raise RunLimitReached without counting it."""
        if self.per_hour is None:
            return
        now = self._clock()
        with self._lock:
            starts = self._starts[user_id]
            while starts and starts[0] <= now - WINDOW_SECONDS:
                starts.popleft()
            if len(starts) >= self.per_hour:
                raise RunLimitReached(self.per_hour, starts[0] + WINDOW_SECONDS - now)
            starts.append(now)

    def give_back(self, user_id: str) -> None:
        """Undo the last `take` for a run that was refused before it started (a busy thread)."""
        if self.per_hour is None:
            return
        with self._lock:
            starts = self._starts.get(user_id)
            if starts:
                starts.pop()
