"""The web server's edge (agent/web_edge.py) in front of a stand-in for Streamlit's routes.

The stand-in answers like Streamlit does where it matters: the app's HTML for a page path, JSON
under `/_stcore/`, a 304 for an unchanged page, and st.login's callback as a redirect to the root
that sets `_streamlit_user` when the login worked. The browser flows are in
tests/test_browser_logins.py; here every rule is tried one at a time, bad input included.
"""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from agent.visitor_tokens import VISITOR_COOKIE, valid_token
from agent.web_edge import (
    RETURN_COOKIE,
    RETURN_SECONDS,
    USER_COOKIE,
    ReturnTarget,
    WaypointEdge,
    visitor_hours,
)

PAGE = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser navigation sends
THREAD = "3f2b8c1e-8f3a-4a52-9a51-3c1f0e6b2d7a"
CHECKPOINT = "1f0c7a2e-5b4d-6e8f-8001-a2b3c4d5e6f7"


def page(request: Request) -> Response:
    if request.query_params.get("unchanged"):
        return Response(status_code=304)
    return HTMLResponse("<html>the app</html>")


def health(_: Request) -> Response:
    return JSONResponse({"ok": True})


def callback(request: Request) -> Response:
    """st.login's callback: always back to the root; the identity cookie only when it worked."""
    response = RedirectResponse("/", status_code=302)
    if request.query_params.get("code") == "good":
        response.set_cookie(USER_COOKIE, "signed-identity", httponly=True, samesite="lax")
    return response


def client(*, logins: bool = False, hours: float | None = None, base: str = "") -> TestClient:
    prefix = f"/{base}" if base else ""
    routes = [
        Route(f"{prefix}/_stcore/health", health),
        Route(f"{prefix}/oauth2callback", callback),
        Route(f"{prefix}/", page),
        Route(f"{prefix}/{{name}}", page),
    ]
    edge = Middleware(WaypointEdge, logins=lambda: logins, hours=lambda: hours, base=base)
    return TestClient(Starlette(routes=routes, middleware=[edge]), follow_redirects=False)


def set_cookies(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def named(response, name: str) -> list[str]:
    return [cookie for cookie in set_cookies(response) if cookie.startswith(f"{name}=")]


def value_of(cookie: str) -> str:
    return cookie.split(";", 1)[0].split("=", 1)[1]


# --- the visitor cookie ---------------------------------------------------------------------------


def test_a_new_visitor_gets_a_token_only_the_server_can_read():
    response = client(hours=24).get("/", headers=PAGE)
    [cookie] = named(response, VISITOR_COOKIE)
    assert valid_token(value_of(cookie))
    attributes = cookie.split("; ")[1:]
    assert attributes == ["Max-Age=86400", "Path=/", "HttpOnly", "SameSite=Lax"]


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("https://testserver/", PAGE),  # served over https
        ("http://testserver/", {**PAGE, "x-forwarded-proto": "https"}),  # behind a TLS proxy
    ],
)
def test_over_https_the_cookie_is_secure(url, headers):
    [cookie] = named(client(hours=1).get(url, headers=headers), VISITOR_COOKIE)
    assert cookie.endswith("; Secure") and "Max-Age=3600" in cookie


def test_a_valid_token_is_kept_and_a_malformed_one_replaced():
    edge = client(hours=24)
    first = value_of(named(edge.get("/", headers=PAGE), VISITOR_COOKIE)[0])
    assert edge.cookies.get(VISITOR_COOKIE) == first  # the browser keeps it
    assert named(edge.get("/inspector?thread=x", headers=PAGE), VISITOR_COOKIE) == []
    edge.cookies.clear()
    edge.cookies.set(VISITOR_COOKIE, "not-a-token")
    [fresh] = named(edge.get("/", headers=PAGE), VISITOR_COOKIE)
    assert valid_token(value_of(fresh)) and value_of(fresh) != first


def test_only_page_loads_get_a_token():
    edge = client(hours=24)
    assert set_cookies(edge.get("/_stcore/health", headers=PAGE)) == []  # not a page
    assert set_cookies(edge.get("/")) == []  # a script's fetch, not a navigation
    assert set_cookies(edge.post("/", headers=PAGE)) == []
    # An unchanged page (304) is still a page load: a browser whose cookie expired gets one.
    assert named(edge.get("/?unchanged=1", headers=PAGE), VISITOR_COOKIE)


def test_no_token_outside_visitor_mode_nor_with_logins():
    assert set_cookies(client().get("/", headers=PAGE)) == []
    assert named(client(logins=True, hours=24).get("/", headers=PAGE), VISITOR_COOKIE) == []


# --- the way back after logging in ----------------------------------------------------------------


def log_in(edge: TestClient, link: str, code: str = "good"):
    """Open `link` logged out, then come back through st.login's callback."""
    opened = edge.get(link, headers=PAGE)
    return opened, edge.get(f"/oauth2callback?code={code}&state=s")


def test_a_link_opened_logged_out_is_where_the_login_returns():
    edge = client(logins=True)
    opened, back = log_in(edge, f"/inspector?thread={THREAD}&checkpoint={CHECKPOINT}")
    [remembered] = named(opened, RETURN_COOKIE)
    assert f"Max-Age={RETURN_SECONDS}" in remembered and "HttpOnly" in remembered
    assert back.status_code == 302
    assert back.headers["location"] == f"/inspector?thread={THREAD}&checkpoint={CHECKPOINT}"
    assert [value_of(c) for c in named(back, RETURN_COOKIE)] == [""], "used once, then forgotten"
    assert "Max-Age=0" in named(back, RETURN_COOKIE)[0]


def test_the_chat_link_returns_to_the_root_with_its_thread():
    _, back = log_in(client(logins=True), f"/?thread={THREAD}")
    assert back.headers["location"] == f"/?thread={THREAD}"


def test_a_failed_login_keeps_streamlits_redirect_and_forgets_the_link():
    _, back = log_in(client(logins=True), f"/?thread={THREAD}", code="bad")
    assert back.headers["location"] == "/"
    assert [value_of(c) for c in named(back, RETURN_COOKIE)] == [""]


def test_a_later_page_load_without_a_link_forgets_the_old_one():
    edge = client(logins=True)
    edge.get(f"/inspector?thread={THREAD}", headers=PAGE)
    assert named(edge.get("/", headers=PAGE), RETURN_COOKIE)[0].startswith(f"{RETURN_COOKIE}=;")
    edge.cookies.delete(RETURN_COOKIE)
    assert edge.get("/oauth2callback?code=good").headers["location"] == "/"


def test_a_logged_in_page_load_remembers_nothing():
    edge = client(logins=True)
    edge.cookies.set(USER_COOKIE, "signed-identity")
    assert named(edge.get(f"/?thread={THREAD}", headers=PAGE), RETURN_COOKIE) == []


@pytest.mark.parametrize(
    "link",
    [
        "/?thread=//evil.example",
        "/?thread=https://evil.example/",
        "/?thread=%2F%2Fevil.example",
        "/?thread=a%0d%0aSet-Cookie:%20x=1",
        "/?thread=" + "a" * 65,
        "/?thread=",
        f"/settings?thread={THREAD}",  # not a page a login returns to
        f"/inspector/x?thread={THREAD}",
    ],
)
def test_a_link_that_is_not_ours_is_not_remembered(link):
    opened, back = log_in(client(logins=True), link)
    assert named(opened, RETURN_COOKIE) == []
    assert back.headers["location"] == "/"


@pytest.mark.parametrize(
    "forged",
    [
        "//evil.example/",
        "inspector/@evil.example/",
        "inspector/x/y/z",
        "https:/evil.example/",
        f"../{THREAD}/",
        "inspector//",
    ],
)
def test_a_forged_return_cookie_never_leaves_the_app(forged):
    edge = client(logins=True)
    edge.cookies.set(RETURN_COOKIE, forged)
    back = edge.get("/oauth2callback?code=good")
    assert back.headers["location"] == "/"
    assert named(back, RETURN_COOKIE), "the bad cookie is cleared too"


def test_a_bad_checkpoint_id_keeps_the_thread():
    _, back = log_in(client(logins=True), f"/inspector?thread={THREAD}&checkpoint=//x")
    assert back.headers["location"] == f"/inspector?thread={THREAD}"


def test_under_a_base_url_path_everything_stays_under_it():
    edge = client(logins=True, base="waypoint")
    opened = edge.get(f"/waypoint/inspector?thread={THREAD}", headers=PAGE)
    assert "Path=/waypoint;" in named(opened, RETURN_COOKIE)[0]
    back = edge.get("/waypoint/oauth2callback?code=good")
    assert back.headers["location"] == f"/waypoint/inspector?thread={THREAD}"
    visitors = client(hours=1, base="waypoint")
    assert set_cookies(visitors.get("/elsewhere", headers=PAGE)) == []


def test_a_target_is_always_a_path_on_this_server():
    for page in ("", "inspector"):
        location = ReturnTarget(page, THREAD).location("")
        assert location.startswith("/") and not location.startswith("//")
    assert ReturnTarget.checked("https://evil.example", THREAD, None) is None


def test_visitor_mode_and_its_hours_come_from_the_settings(monkeypatch):
    monkeypatch.setenv("WAYPOINT_VISITORS", "false")
    assert visitor_hours() is None
    monkeypatch.setenv("WAYPOINT_VISITORS", "true")
    monkeypatch.setenv("WAYPOINT_VISITOR_HOURS", "2")
    assert visitor_hours() == 2.0
    # A setting that cannot be read sets no cookie (the page says what is wrong with it).
    monkeypatch.setenv("WAYPOINT_VISITOR_HOURS", "soon")
    assert visitor_hours() is None
