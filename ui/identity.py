"""Who is asking: the one place a page learns its user.

Three setups, one answer type. With `[auth]` in secrets.toml it is the logged-in person (Streamlit's
`st.login`; a logged-out person gets the login page instead); in visitor mode it is this browser's
private, expiring space; otherwise it is the local one-person user, and the sidebar says so.
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import LOCAL_USER, User, visitor_owner
from ui import resources
from ui.accounts import (
    account_sidebar,
    auth_configured,
    login_page,
    visitor_cookie_kept,
    visitor_token,
)


def _logged_in_user() -> User:
    """The logged-in person: the stable id is issuer + subject, as OIDC defines a person."""
    if not st.user.get("is_logged_in"):
        login_page()
    issuer, subject = str(st.user.get("iss") or ""), str(st.user.get("sub") or "")
    email = st.user.get("email")
    name = st.user.get("name") or email or subject
    return User(
        id=f"oidc:{issuer}|{subject}",
        name=str(name),
        kind="account",
        email=str(email) if email else None,
    )


def current_user() -> User:
    """The user of this session; draws the login page and stops when someone must log in first."""
    if auth_configured():
        return _logged_in_user()
    backend = resources.backend()
    info = backend.info()
    if info.visitors:
        token = visitor_token()
        backend.sweep_visitors()
        return User(id=visitor_owner(token), name="Visitor", kind="visitor")
    return LOCAL_USER


def identity_sidebar(user: User) -> None:
    """The sidebar's account lines: who, and how private their threads are."""
    if user.kind == "account":
        account_sidebar(user.name, can_log_out=True)
    elif user.kind == "visitor":
        hours = resources.backend().info(user).visitor_hours
        if visitor_cookie_kept():
            st.caption(
                f"Visitor: your threads are private to this browser and deleted after "
                f"{hours:g} hours."
            )
        else:
            st.caption(
                "Visitor: your threads are private to this tab. This browser keeps no cookie "
                "for Waypoint, so a refresh or a new tab starts an empty space; allow cookies "
                "for this site to keep it."
            )
    else:
        st.caption("Local mode: no login, one person's threads on this machine.")
