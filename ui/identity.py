"""Who is asking: the user every thread call carries (`agent.protocol.User`).

Without a login configured, Waypoint is a one-person tool on the user's own machine, and every
thread belongs to the local user.
"""

from __future__ import annotations

from agent.protocol import LOCAL_USER, User


def current_user() -> User:
    """The user of this browser session."""
    return LOCAL_USER
