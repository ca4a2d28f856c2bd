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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.fake_http import FakeServer, RecordedRequest, RecordingHandler, ServerState


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


@dataclass
class _State(ServerState):
    api_key: str | None


class FakeTavily(FakeServer[RecordedRequest]):
    """The server: start it with `with FakeTavily() as server`, point clients at `server.url`."""

    url_path = ""  # like https://api.tavily.com

    def __init__(self, *, api_key: str | None = None, max_wait: float = 10.0):
        super().__init__(_State(api_key, max_wait=max_wait), _Handler)


@contextmanager
def refused_url() -> Iterator[str]:
    """A base URL whose port is bound but not listening, so connecting is refused at once."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"


class _Handler(RecordingHandler):
    def do_POST(self) -> None:
        state = self.server.state
        reply = self._reply(self.read_and_record())
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
            payload = {
                "query": body["query"],
                "follow_up_questions": None,
                "answer": None,
                "images": [],
                **reply.payload,
                "response_time": 0.01,
            }
            return Reply(payload=payload)
        return reply
