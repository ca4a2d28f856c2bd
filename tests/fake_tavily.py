"""A fake Tavily search API on 127.0.0.1, so tests drive the real `tavily-python` client offline.

The real `TavilyClient` posts JSON to `{base_url}/search` with `Authorization: Bearer <key>`, and
reads `{"results": [{"title", "url", "content", "score", ...}], ...}` back; errors carry
`{"detail": {"error": "..."}}`, which the client turns into its own exceptions by status
(401 InvalidAPIKeyError, 403/432/433 ForbiddenError, 429 UsageLimitExceededError, 400
BadRequestError, anything else requests' HTTPError). This server answers the same way.

    from tests.fake_tavily import FakeTavily, error, hang, hit, results

    with FakeTavily(api_key="tvly-test") as server:         # free port, stopped on exit
        server.script(results(hit("LA weather", "https://w.example/la", "Sunny.")), error(429))
        backend = TavilySearch("tvly-test", base_url=server.url)
        ...
        assert server.requests[0].body["query"] == "weather in LA"

Scripted replies are consumed one per search request, in order: `results(...)`, `error(status,
detail)`, `hang()` (read the request, never answer: the client must time out) or `garbage()` (a 200
that is not JSON). With nothing scripted the server answers 400, naming the problem. A wrong key
(when `api_key` is set) is refused with 401 before any script is used. `refused_url()` gives a URL
where nothing listens, for connection-refused tests.

Nothing here can hang a test: a hanging reply waits at most `max_wait` and ends when the server
closes, and `close()` shuts down open connections.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted reply; build it with `results`, `error`, `hang` or `garbage`."""

    status: int = 200
    payload: Any = None
    hang: bool = False
    raw: bytes | None = None


def hit(title: str, url: str, content: str, score: float = 0.9) -> dict[str, Any]:
    """One search result as Tavily sends it."""
    return {"title": title, "url": url, "content": content, "score": score, "raw_content": None}


def results(*hits: dict[str, Any]) -> Reply:
    return Reply(payload={"results": list(hits)})


def error(status: int, detail: str = "") -> Reply:
    return Reply(status=status, payload={"detail": {"error": detail or f"fake error {status}"}})


def hang() -> Reply:
    return Reply(hang=True)


def garbage() -> Reply:
    return Reply(raw=b"<html>Bad gateway</html>")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _State:
    api_key: str | None
    max_wait: float
    script: deque[Reply] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stopping: threading.Event = field(default_factory=threading.Event)
    connections: set[socket.socket] = field(default_factory=set)


class FakeTavily:
    """The server: start it with `with FakeTavily() as server`, point clients at `server.url`."""

    def __init__(self, *, api_key: str | None = None, max_wait: float = 10.0):
        self._state = _State(api_key, max_wait)
        self._server: _Server | None = None

    def start(self) -> FakeTavily:
        self._server = _Server(("127.0.0.1", 0), _Handler, self._state)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def close(self) -> None:
        if self._server is None:
            return
        state = self._state
        state.stopping.set()
        self._server.shutdown()
        with state.changed:
            for connection in list(state.connections):
                _shut(connection)
            state.changed.wait_for(lambda: not state.connections, timeout=5)
        self._server.server_close()
        self._server = None

    def __enter__(self) -> FakeTavily:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """Base URL for the client, like https://api.tavily.com."""
        assert self._server is not None, "start the server first (use it as a context manager)"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        with self._state.changed:
            self._state.script.extend(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.changed:
            return list(self._state.requests)


@contextmanager
def refused_url() -> Iterator[str]:
    """A base URL whose port is bound but not listening, so connecting is refused at once."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"


def _shut(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, state: _State):
        super().__init__(address, handler)
        self.state = state

    def process_request(self, request: socket.socket, client_address: Any) -> None:
        with self.state.changed:
            self.state.connections.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (its timeout) is normal here."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        super().shutdown_request(request)
        with self.state.changed:
            self.state.connections.discard(request)
            self.state.changed.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.state.max_wait)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: failures show up as assertions in the tests, not as server logs."""

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        state = self.server.state
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with state.changed:
            state.requests.append(
                RecordedRequest(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            state.changed.notify_all()
        reply = self._reply(body)
        if reply.hang:
            state.stopping.wait(state.max_wait)
            self.close_connection = True
            return
        data = reply.raw if reply.raw is not None else json.dumps(reply.payload).encode()
        self.send_response(reply.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reply(self, body: Any) -> Reply:
        state = self.server.state
        expected = f"Bearer {state.api_key}"
        if state.api_key is not None and self.headers.get("authorization") != expected:
            return error(401, "Unauthorized: missing or invalid API key.")
        if self.path != "/search":
            return error(404, f"Not Found: {self.path}")
        if not isinstance(body, dict) or not str(body.get("query") or "").strip():
            return error(400, "Query is missing.")
        with state.changed:
            reply = state.script.popleft() if state.script else None
        if reply is None:
            return error(400, "fake_tavily: no scripted reply left for this request.")
        if reply.payload is not None and reply.status == 200:
            payload = {"query": body["query"], "follow_up_questions": None, "answer": None,
                       "images": [], **reply.payload, "response_time": 0.01}
            return Reply(payload=payload)
        return reply
