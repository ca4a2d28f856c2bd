"""Who may reach this server: the guard against running as an open multi-user server by accident.

Without a login every browser shares one space (the local one-person tool). That is right on
127.0.0.1 and wrong on an address other machines can reach, unless the owner chose it. So a
non-local address needs a login (`[auth]` in secrets.toml), visitor mode, or WAYPOINT_ALLOW_OPEN.
"""

from __future__ import annotations

from agent.settings import Settings

LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local(address: str | None) -> bool:
    """True for loopback; an empty address means "all interfaces", which is not local."""
    return (address or "").strip().strip("[]").lower() in LOCAL_ADDRESSES


def exposure_problem(address: str | None, auth_configured: bool, settings: Settings) -> str | None:
    """The one sentence that refuses to serve, or None when this setup may serve."""
    if is_local(address) or auth_configured or settings.visitors or settings.allow_open:
        return None
    shown = address or "all interfaces"
    return (
        f"Waypoint is listening on {shown} with no login, so anyone who reaches it shares one "
        "space: configure [auth] in .streamlit/secrets.toml, turn on visitor mode "
        "(WAYPOINT_VISITORS=1), set WAYPOINT_ALLOW_OPEN=1 to serve it open on purpose, or "
        "serve on this machine only (`make run`, or `streamlit run app.py --server.address "
        "127.0.0.1`)."
    )
