"""A per-user run limit, so a shared deployment's owner keeps control of the model budget.

Counted in the database every app process shares, never in a process's memory: two app servers
over one database give a user one budget, not two, and a restart gives nothing back. Each run's
start is a row of `waypoint_run_starts` (run, user, time), written in the transaction that records
the run (`agent.run_store`, `begin`), kept for an hour and left alone when a thread is deleted, so
deleting threads frees no slot. The run store's own rows are no count: they go ten minutes after a
run ends, and with the thread.

Two processes taking a user's last slot at the same moment: the count and the insert run in one
transaction that first holds a lock, so the second start counts after the first one's row is
committed, and is refused. On SQLite that lock is `BEGIN IMMEDIATE` (the database's one write
lock: writers go in turn); on Postgres a transaction-scoped advisory lock keyed on the user
(`agent.run_store_postgres`), which other users' starts do not wait for. A unique constraint cannot
say "at most N in an hour", and SERIALIZABLE isolation would need a retry loop around every start.
Start times are wall-clock seconds of the starting process: servers on several hosts need their
clocks set (NTP), as for the run store's heartbeats.
"""

from __future__ import annotations

from typing import Any

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


def take(conn: Any, user_id: str, per_hour: int | None, run_id: str, now: float) -> None:
    """Record the start of `run_id` for `user_id`, or raise RunLimitReached (the user started
    `per_hour` runs in the last hour; `None` is no limit) and record nothing. Runs inside the
    caller's transaction (`conn.execute`, `?` placeholders), which must already hold the lock
    described above; starts older than the window are dropped first."""
    conn.execute("DELETE FROM waypoint_run_starts WHERE started_at <= ?", (now - WINDOW_SECONDS,))
    if per_hour is not None:
        # The per_hour-th newest start: when it leaves the window, a slot is free again.
        blocking = conn.execute(
            "SELECT started_at FROM waypoint_run_starts WHERE user_id = ? "
            "ORDER BY started_at DESC LIMIT 1 OFFSET ?",
            (user_id, per_hour - 1),
        ).fetchall()
        if blocking:
            raise RunLimitReached(per_hour, blocking[0][0] + WINDOW_SECONDS - now)
    conn.execute(
        "INSERT INTO waypoint_run_starts (run_id, user_id, started_at) VALUES (?, ?, ?)",
        (run_id, user_id, now),
    )


def give_back(conn: Any, run_id: str) -> None:
    """Free the slot of a run that never started (its preparation failed), in the caller's
    transaction."""
    conn.execute("DELETE FROM waypoint_run_starts WHERE run_id = ?", (run_id,))
