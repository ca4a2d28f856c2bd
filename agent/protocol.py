"""What pages and `ui/` exchange with the engine: plain data, with the user on every thread call.

Every thread belongs to the user who created it (forks and imports too), and every call that
touches a thread says who is asking. Another user's thread answers exactly like a thread that does
not exist, so a guessed or shared id reveals nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

UserKind = Literal["local", "account", "visitor"]


@dataclass(frozen=True)
class User:
    """Who is asking. `id` is the stable owner key stored with each thread; `name` is for display.

    - local: the one person using Waypoint on their own machine (no login configured);
    - account: a person signed in through the deployment's OpenID Connect provider;
    - visitor: one browser's private, expiring space on a public deployment without accounts.
    """

    id: str
    name: str
    kind: UserKind = "account"
    email: str | None = None


LOCAL_USER = User(id="local", name="You", kind="local")
