"""Refuse every network connection that does not stay on this machine.

Tests must never reach the internet: the real client libraries talk to fake servers on 127.0.0.1.
A client library may swallow a refused connection and turn it into a friendly error, so refusing
is not enough to fail a test; every attempt is also recorded, and the conftest fails the test that
made one. Subprocesses (the Streamlit server of the browser tests) load the same guard through
`tests/guarded_site/sitecustomize.py` and append their attempts to the file named by
WAYPOINT_NETGUARD_LOG.
"""

from __future__ import annotations

import ipaddress
import os
import socket

ATTEMPTS: list[str] = []
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class NonLoopbackConnection(ConnectionRefusedError):
    """Raised instead of connecting anywhere but loopback."""


def _is_loopback_host(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    ATTEMPTS.append(what)
    log = os.environ.get("WAYPOINT_NETGUARD_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(what + "\n")
    raise NonLoopbackConnection(f"tests may only connect to loopback, not {what}")


def install() -> None:
    """Patch socket so that name lookups and connections outside loopback are refused."""
    if getattr(socket, "_waypoint_guarded", False):
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def _check_address(sock: socket.socket, address: object) -> None:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback_host(host):
            _refuse(f"connect {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        _check_address(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        _check_address(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object):
        if not _is_loopback_host(host):
            _refuse(f"resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo
    socket._waypoint_guarded = True  # type: ignore[attr-defined]
