"""Visitor tokens and the owner ids made from them: plain functions pages use (`agent.protocol`).

A token is the browser's secret, in a cookie the server sets HttpOnly (agent/web_edge.py) so that
no script on the page can read it; the owner id stored with the threads is a hash of it, so the
database holds nothing that opens a space.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import TypeGuard

VISITOR_PREFIX = "visitor:"
VISITOR_COOKIE = "waypoint_visitor"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def new_token() -> str:
    """A fresh visitor token: 192 random bits, URL- and cookie-safe, 32 characters."""
    return secrets.token_urlsafe(24)


def valid_token(token: object) -> TypeGuard[str]:
    """A cookie's value is used only when it has the shape `new_token` makes."""
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


def visitor_owner(token: str) -> str:
    """The owner id stored with a visitor's threads: a hash, so the index cannot open the space."""
    return VISITOR_PREFIX + hashlib.sha256(token.encode("ascii")).hexdigest()[:32]


def is_visitor(owner: str | None) -> bool:
    return bool(owner) and (owner or "").startswith(VISITOR_PREFIX)
