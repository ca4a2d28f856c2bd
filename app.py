"""Waypoint: see and steer a LangGraph agent. Entry point for `streamlit run app.py`.

This file plays two parts. Streamlit runs it as the page script (as `__main__`) on every rerun:
`main()`. And because `streamlit run app.py` finds the `st.App` at the bottom, the web server
imports it (as `app`) and serves that: Streamlit's pages with Waypoint's HTTP edge in front
(agent/web_edge.py: the visitor cookie, set HttpOnly by the server, and the way back to a
`?thread=` link after logging in). Streamlit Community Cloud runs `streamlit run app.py` too.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.accounts import auth_configured

# A bundled file, not ":material/explore:": Streamlit's browser code fetches a material favicon
# from fonts.gstatic.com, and offline means nothing leaves the machine.
FAVICON = Path(__file__).parent / "assets" / "favicon.svg"


def main() -> None:
    """The page script: the shared sidebar, then the page the URL names.

    The page modules are imported here, not when the web server imports this file: their
    `st.cache_data` functions belong to the runtime, which starts after that import.
    """
    from ui import resources
    from ui.graph_picker import graph_picker
    from ui.identity import current_user, identity_sidebar
    from ui.session import follow_page_request
    from ui.settings_panel import settings_panel
    from ui.thread_list import thread_list

    st.set_page_config(page_title="Waypoint", page_icon=FAVICON, layout="wide")

    try:
        backend = resources.backend()
        refusal = backend.exposure_problem(st.get_option("server.address"), auth_configured())
        if refusal:
            raise RuntimeError(refusal)
        user = current_user()  # a logged-out person gets the login page here
    except (RuntimeError, ValueError) as problem:
        st.error(str(problem))
        st.stop()

    with st.sidebar:
        st.markdown("### :material/explore: Waypoint")
        identity_sidebar(user)
        graph_picker(backend.info(user))
        thread_list(backend)
        st.divider()
        choices, options = settings_panel(backend, user)
    st.session_state["choices"], st.session_state["options"] = choices, options

    page = st.navigation(
        [
            st.Page("app_pages/chat.py", title="Chat", icon=":material/chat:", default=True),
            st.Page("app_pages/inspector.py", title="Inspector", icon=":material/history:"),
            st.Page("app_pages/lesson.py", title="Lesson", icon=":material/school:"),
        ]
    )
    follow_page_request(page)  # "New thread" pressed on another page opens the chat
    page.run()


if __name__ == "__main__":  # Streamlit runs the page script as `__main__`
    main()
else:  # the web server imports `app`: Streamlit's routes, with Waypoint's edge in front
    from starlette.middleware import Middleware

    from agent.web_edge import WaypointEdge

    app = st.App(
        __file__,
        middleware=[
            Middleware(
                WaypointEdge,
                logins=auth_configured,
                base=st.get_option("server.baseUrlPath") or "",
            )
        ],
    )
