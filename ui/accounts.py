"""The account pieces of the page: is a login configured, the login page, the sidebar's name and
Log out, and the visitor cookie.

Streamlit's own `st.login` does the OIDC work (redirects, tokens, a signed identity cookie);
this module only decides what to show around it. Names from the provider are drawn as plain text.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAuthError

from agent.protocol import new_token, valid_token

VISITOR_COOKIE = "waypoint_visitor"
_VISITOR_KEY = "visitor_token"
_LOGIN_PROBLEM = "login_problem"


def auth_configured() -> bool:
    """True when secrets.toml has an `[auth]` section: Waypoint then asks people to log in."""
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


def login_page() -> None:
    """What a logged-out person sees on a deployment with logins; stops the script there."""
    st.title("Waypoint")
    st.text(
        "This Waypoint is shared: log in to see your own threads. "
        "Each person's threads are private to them."
    )
    if problem := st.session_state.pop(_LOGIN_PROBLEM, None):
        st.error(problem, icon=":material/error:")
    st.button("Log in", type="primary", on_click=_log_in, key="login")
    st.stop()


def _log_in() -> None:
    """st.login, with a misconfigured [auth] told in Streamlit's own sentence, not a traceback."""
    try:
        st.login()
    except StreamlitAuthError as problem:
        st.session_state[_LOGIN_PROBLEM] = " ".join(str(problem).split())


def account_sidebar(name: str, can_log_out: bool) -> None:
    """Who is using Waypoint, in the sidebar, with Log out when there is a login to end."""
    st.caption("Signed in as")
    st.text(name)
    if can_log_out:
        st.button("Log out", icon=":material/logout:", on_click=st.logout, key="logout")


def visitor_token(hours: float) -> str:
    """This browser's visitor token: from the session, else its cookie, else a new one.

    A new token is written into a cookie by a tiny script of ours (the token is ours too:
    URL-safe base64, nothing from a user), so a refresh or another tab finds the same space.
    """
    remembered = st.session_state.get(_VISITOR_KEY)
    if valid_token(remembered):
        return remembered
    cookie = st.context.cookies.get(VISITOR_COOKIE)
    token = cookie if valid_token(cookie) else new_token()
    st.session_state[_VISITOR_KEY] = token
    if token != cookie:
        max_age = int(hours * 3600)
        st.html(
            f"<script>document.cookie = '{VISITOR_COOKIE}={token}; Max-Age={max_age}; "
            "Path=/; SameSite=Strict';</script>",
            unsafe_allow_javascript=True,
        )
    return token
