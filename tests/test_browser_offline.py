"""Offline means nothing leaves the machine: the real app under `streamlit run` on the repository's
defaults (serve.py's and `.streamlit/config.toml`'s), driven by headless Chromium.

The browser records every request and websocket the page opens while a user chats, approves a
tool call and opens the Inspector; any URL that is not on loopback fails the test (the stock
`:material/explore:` favicon was one: Streamlit's browser code fetches it from fonts.gstatic.com).
The server side: it listens on 127.0.0.1 only, prints no network or external URL, refuses the
websocket to other origins (and to DNS rebinding) without looking up its own address, and its own
attempts to leave loopback are caught by the network guard it runs under (tests/netguard.py).
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests import netguard  # noqa: E402
from tests.app_server import running_app  # noqa: E402
from tests.browser_helpers import (  # noqa: E402
    WAIT_MS,
    expect,
    main,
    send,
)

# Schemes a browser resolves without the network.
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}
LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app on the repository's defaults; yields its URL and its data directory."""
    data_dir = tmp_path_factory.mktemp("offline")
    with running_app(data_dir) as url:
        yield url, data_dir


def leaves_the_machine(url: str) -> bool:
    parts = urlparse(url)
    if parts.scheme in LOCAL_SCHEMES:
        return False
    return not netguard._is_loopback_host(parts.hostname)


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port`, read from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == LISTEN and int(hex_port, 16) == port:
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    """/proc/net/tcp's hex form (32-bit words in host byte order) to an address string."""
    words = [bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8)]
    return str(ipaddress.ip_address(b"".join(words)))


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_the_server_listens_on_loopback_only_and_prints_no_network_url(served):
    url, data_dir = served
    assert listening_addresses(urlparse(url).port) == {"127.0.0.1"}
    banner = (data_dir / "streamlit.log").read_text()  # running_app waited for its URL line
    assert "Network URL" not in banner and "External URL" not in banner, banner
    urls = re.findall(r"URL: (\S+)", banner)
    assert urls == [f"http://127.0.0.1:{urlparse(url).port}"], banner
    netlog = data_dir / "netguard.log"
    assert not netlog.exists() or not netlog.read_text(), netlog.read_text()


def websocket_handshake(url: str, host: str, origin: str) -> int:
    """Open the app's websocket as a browser would from `origin`; return the HTTP status."""
    port = urlparse(url).port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_MS / 1000)
    try:
        connection.request(
            "GET",
            "/_stcore/stream",
            headers={
                "Host": host,
                "Origin": origin,
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
                "Sec-WebSocket-Version": "13",
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_other_origins_are_refused_without_the_server_looking_itself_up(served):
    """Any page the user visits may try the app's websocket: refused, and the refusal asks no
    one (stock Streamlit asks checkip.amazonaws.com for the machine's address first)."""
    url, data_dir = served
    port = urlparse(url).port
    assert websocket_handshake(url, f"127.0.0.1:{port}", url) == 101  # the app's own page
    assert websocket_handshake(url, f"127.0.0.1:{port}", "http://elsewhere.example") == 403
    # DNS rebinding: another site's name pointed at 127.0.0.1, so its page is "same-origin".
    rebound = f"http://rebound.example:{port}"
    assert websocket_handshake(url, f"rebound.example:{port}", rebound) == 403
    netlog = data_dir / "netguard.log"
    assert not netlog.exists() or not netlog.read_text(), netlog.read_text()


def test_a_chat_and_the_inspector_ask_nothing_beyond_loopback(browser, served):
    url, data_dir = served
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.on("websocket", lambda socket: seen.append(socket.url))
    try:
        page.goto(url)
        page.get_by_text("Try one of these").wait_for()
        send(page, "How do LangGraph threads work?")
        go = main(page).get_by_role("button", name="Continue")
        go.click()
        answer = main(page).get_by_test_id("stChatMessage").last
        expect(answer).to_contain_text("Sources")
        page.get_by_test_id("stSidebar").get_by_test_id("stSidebarNavLink").filter(
            has_text="Inspector"
        ).click()
        expect(main(page).get_by_role("heading", name="Timeline")).to_be_visible()
        main(page).locator('[class*="st-key-cp_"] button').first.click()
        expect(main(page).get_by_role("tab").first).to_be_visible()
    finally:
        context.close()
    assert any(u.startswith("ws") for u in seen), "the page's websocket was not recorded"
    assert [u for u in seen if leaves_the_machine(u)] == []
    netlog = data_dir / "netguard.log"
    assert not netlog.exists() or not netlog.read_text(), netlog.read_text()
