"""The account pieces of the page: is a login configured, the login page, the sidebar's name and
Log out, and the visitor token.

Streamlit's own `st.login` does the OIDC work (redirects, tokens, a signed identity cookie);
this module only decides what to show around it. Names from the provider are drawn as plain text.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAuthError

from agent.protocol import VISITOR_COOKIE, new_token, valid_token

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
    if st.query_params.get("thread"):
        st.caption("You opened a link to a thread: after you log in, Waypoint opens it.")
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


def visitor_token() -> str:
    """This browser's visitor token: from its cookie, else one kept for this session only.

    The cookie is set by the server, HttpOnly (agent/web_edge.py, in front of every page load),
    and read here from the websocket's request: no script on the page can read or write it.
    Without it (a browser that refuses cookies) the space lasts as long as this tab's session.
    """
    cookie = st.context.cookies.get(VISITOR_COOKIE)
    if valid_token(cookie):
        return cookie
    remembered = st.session_state.get(_VISITOR_KEY)
    if not valid_token(remembered):
        remembered = st.session_state[_VISITOR_KEY] = new_token()
    return remembered


def visitor_cookie_kept() -> bool:
    """Whether this browser keeps the visitor cookie, so a refresh or a new tab finds the space."""
    return valid_token(st.context.cookies.get(VISITOR_COOKIE))
