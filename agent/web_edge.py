"""The web server's edge: the two things a shared Waypoint needs from HTTP responses, which a
Streamlit script cannot write (it talks over a websocket; `st.context.cookies` is read-only).

`WaypointEdge` is ASGI middleware in front of Streamlit's own routes (app.py serves it through
`st.App`). It touches only page loads (a browser navigation answered with the app's HTML) and
st.login's callback:

- The visitor cookie. In visitor mode a browser without a valid token gets a new one in a cookie
  the server sets: HttpOnly, so no script on the page (`document.cookie`) can read what opens the
  space; SameSite=Lax, so it comes along when a link from elsewhere opens the app but not on
  another site's requests (its websocket included); Secure over https. The page script reads it
  from the websocket's own request (`st.context.cookies`).
- The way back after logging in. st.login's callback always redirects to the app's root, so a
  link opened while logged out (`/inspector?thread=<id>`) is remembered in a short-lived HttpOnly
  cookie and the callback's redirect after a successful login points back at it. The target is
  rebuilt from our own page names and ids of the right shape, never copied from the request (no
  open redirect); whether the thread is the user's is checked by the page, as for any link.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.settings import load_settings
from agent.visitor_tokens import VISITOR_COOKIE, new_token, valid_token

log = logging.getLogger(__name__)

RETURN_COOKIE = "waypoint_return"
RETURN_SECONDS = 600  # a login takes minutes at most; an old link must not steer a later one
USER_COOKIE = "_streamlit_user"  # st.login's signed identity cookie, set by its callback
CALLBACK_PATH = "oauth2callback"  # st.login's redirect URI path
# Pages a login may return to, by URL path: the chat is the root. A new page that opens a thread
# from its link joins here.
RETURN_PAGES = ("", "inspector")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # thread and checkpoint ids: uuids, hex, URL-safe


@dataclass(frozen=True)
class ReturnTarget:
    """A page of ours and the thread (and checkpoint) its link named: all a login returns to."""

    page: str
    thread: str
    checkpoint: str | None = None

    @classmethod
    def from_query(cls, page: str, query: str) -> ReturnTarget | None:
        """The target of a page link, or None when the page or an id is not one of ours."""
        params = parse_qs(query)
        thread = (params.get("thread") or [""])[0]
        checkpoint = (params.get("checkpoint") or [""])[0]
        return cls.checked(page, thread, checkpoint or None)

    @classmethod
    def from_cookie(cls, value: str | None) -> ReturnTarget | None:
        if not value or value.count("/") != 2:
            return None
        page, thread, checkpoint = value.split("/")
        return cls.checked(page, thread, checkpoint or None)

    @classmethod
    def checked(cls, page: str, thread: str, checkpoint: str | None) -> ReturnTarget | None:
        if page not in RETURN_PAGES or not _ID.fullmatch(thread):
            return None
        if checkpoint is not None and not _ID.fullmatch(checkpoint):
            checkpoint = None
        return cls(page, thread, checkpoint)

    def cookie_value(self) -> str:
        return f"{self.page}/{self.thread}/{self.checkpoint or ''}"

    def location(self, base: str) -> str:
        """A path on this server (one leading slash, our page names only): never another site."""
        path = "/" + "/".join(part for part in (base, self.page) if part)
        query = f"thread={self.thread}"
        if self.checkpoint:
            query += f"&checkpoint={self.checkpoint}"
        return f"{path}?{query}"


def visitor_hours() -> float | None:
    """The lifetime of a visitor's space when visitor mode is on (read per page load, so a
    changed secret counts), else None. A setting that cannot be read sets no cookie: the page
    itself says what is wrong with it."""
    try:
        settings = load_settings()
    except ValueError:
        return None
    return settings.visitor_hours if settings.visitors else None


class WaypointEdge:
    """ASGI middleware: the visitor cookie and the return after login (see the module docstring).

    `logins` says whether st.login is configured (app.py asks `st.secrets`); `hours` is the
    visitor space's lifetime, or None outside visitor mode; `base` is Streamlit's
    `server.baseUrlPath`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        logins: Callable[[], bool],
        hours: Callable[[], float | None] = visitor_hours,
        base: str = "",
    ) -> None:
        self.app = app
        self.logins = logins
        self.hours = hours
        self.base = base.strip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path = self._page_path(scope["path"])
        headers = Headers(scope=scope)
        cookies = cookie_parser(headers.get("cookie", ""))
        secure = scope.get("scheme") == "https" or headers.get("x-forwarded-proto") == "https"
        if path == CALLBACK_PATH:
            edit = self._after_login(cookies, secure)
        elif path is not None and "text/html" in headers.get("accept", ""):
            query = scope.get("query_string", b"").decode("latin-1")
            edit = self._on_page_load(path, query, cookies, secure)
        else:
            edit = None
        if edit is None:
            await self.app(scope, receive, send)
            return

        async def edited(message: Message) -> None:
            if message["type"] == "http.response.start":
                edit(message)
            await send(message)

        await self.app(scope, receive, edited)

    def _page_path(self, path: str) -> str | None:
        """The path under Streamlit's base URL path, without slashes; None outside it."""
        prefix = f"/{self.base}" if self.base else ""
        if prefix and path != prefix and not path.startswith(prefix + "/"):
            return None
        return path[len(prefix) :].strip("/")

    def _on_page_load(
        self, path: str, query: str, cookies: dict[str, str], secure: bool
    ) -> Callable[[Message], None] | None:
        """What a page load adds to its answer: a visitor token, or (logged out, on a deployment
        with logins) the page link to come back to, or the removal of a stale one."""
        set_cookies: list[str] = []
        if self.logins():
            if USER_COOKIE not in cookies:
                target = ReturnTarget.from_query(path, query)
                if target is not None:
                    set_cookies.append(
                        self._cookie(RETURN_COOKIE, target.cookie_value(), RETURN_SECONDS, secure)
                    )
                elif RETURN_COOKIE in cookies:
                    set_cookies.append(self._cookie(RETURN_COOKIE, "", 0, secure))
        elif (hours := self.hours()) is not None and not valid_token(cookies.get(VISITOR_COOKIE)):
            set_cookies.append(self._cookie(VISITOR_COOKIE, new_token(), int(hours * 3600), secure))
        if not set_cookies:
            return None

        def add(message: Message) -> None:
            response = MutableHeaders(scope=message)
            html = response.get("content-type", "").startswith("text/html")
            # The app's page, or its unchanged copy (a 304 names no type); not an error page, a
            # redirect or a JSON answer that a browser was pointed at.
            if (message["status"] == 200 and html) or message["status"] == 304:
                for cookie in set_cookies:
                    response.append("set-cookie", cookie)

        return add

    def _after_login(
        self, cookies: dict[str, str], secure: bool
    ) -> Callable[[Message], None] | None:
        """On st.login's callback: a successful login goes back to the remembered link."""
        if RETURN_COOKIE not in cookies:
            return None
        target = ReturnTarget.from_cookie(cookies[RETURN_COOKIE])
        forget = self._cookie(RETURN_COOKIE, "", 0, secure)

        def point_back(message: Message) -> None:
            response = MutableHeaders(scope=message)
            logged_in = any(
                value.startswith(f"{USER_COOKIE}=") for value in response.getlist("set-cookie")
            )
            if target is not None and logged_in and message["status"] in (302, 303, 307):
                response["location"] = target.location(self.base)
                log.info("login returns to the %s page's thread link", target.page or "chat")
            response.append("set-cookie", forget)

        return point_back

    def _cookie(self, name: str, value: str, max_age: int, secure: bool) -> str:
        """A Set-Cookie value: HttpOnly and SameSite=Lax always, Secure over https. The values
        are ours (a token, page names, checked ids), so they need no quoting."""
        path = f"/{self.base}" if self.base else "/"
        cookie = f"{name}={value}; Max-Age={max_age}; Path={path}; HttpOnly; SameSite=Lax"
        return cookie + "; Secure" if secure else cookie
