"""A fake OpenAI-compatible chat server on 127.0.0.1, so tests drive the real clients offline.

The real `openai` client (through `langchain_openai.ChatOpenAI`) talks HTTP to this server exactly
as it would to OpenAI, Ollama or vLLM: chat completions streamed as Server-Sent Events over chunked
HTTP/1.1, tool calls as deltas (id and name first, arguments split across later deltas), errors as
OpenAI-style JSON with real status codes. Tests script the replies and read back what was sent.

    from tests.fake_openai import FakeOpenAI, error, hang, text, tool_calls

    with FakeOpenAI(api_key="sk-test") as server:          # free port, stopped on exit
        server.script(
            tool_calls(("web_search", {"query": "weather in SF"}),
                       ("web_search", {"query": "weather in LA"})),   # two parallel calls
            text("It is sunny in both.", delay=0.01),                 # a slow stream
        )
        model = ChatOpenAI(base_url=server.url, api_key="sk-test", model="gpt-4o-mini")
        ...
        assert server.requests[0].authorization == "Bearer sk-test"
        assert server.requests[1].messages[-1]["role"] == "tool"
        assert server.stream_ends  # time.time() as each complete stream sent its last event

Scripted replies are consumed one per accepted chat request, in order:
  `text(...)`, `tool_calls(...)`   a normal answer (streamed or not, as the client asks);
                                   `delay=` pauses between stream events, `cut_after=N` closes the
                                   connection after N events without finishing the stream,
                                   `end_after=N` ends the HTTP response cleanly after N events,
                                   with no finish reason and no `[DONE]` (a proxy giving up).
                                   Arguments given as a string are sent as they are (broken JSON).
  `empty()`                        a reply whose `choices` are empty (every chunk, if streamed).
  `error(status, ...)`             an OpenAI-style error (401, 404, 429 with `retry_after=`, 500).
  `hang()`                         read the request, then never answer (the client must time out).
With nothing scripted the server answers `default` if given, else a 400 that names the problem.
`echo_key=True` makes the 401 for a wrong key quote that key in full, as some servers do.

Like the real API, a request is refused before any script is used when: the key is wrong (when
`api_key` is set), the model is unknown (when `models` is set), or the messages contain an assistant
tool call without a matching tool message (or a tool message answering no call). Waypoint must never
send such a history, and this is where a test notices.

Nothing here can hang a test: every wait is bounded by `max_wait` and ends when the server closes,
and `close()` shuts down open connections. `fake_openai` below is a ready pytest fixture.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fake_http import FakeServer, RecordedRequest, RecordingHandler, ServerState, shut

_TOKEN = re.compile(r"\s*\S+")
_ARGS_PIECE = 7
_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass(frozen=True)
class Reply:
    """One scripted reply; build it with `text`, `tool_calls`, `empty`, `error` or `hang`."""

    content: str = ""
    calls: tuple[tuple[str, dict[str, Any] | str], ...] = ()
    status: int = 200
    message: str = ""
    code: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    cut_after: int | None = None
    end_after: int | None = None
    hang: bool = False
    empty: bool = False


def text(
    content: str, *, delay: float = 0.0, cut_after: int | None = None, end_after: int | None = None
) -> Reply:
    """An answer in words; streamed word by word, `delay` seconds apart."""
    return Reply(content=content, delay=delay, cut_after=cut_after, end_after=end_after)


def tool_calls(
    *calls: tuple[str, dict[str, Any] | str],
    content: str = "",
    delay: float = 0.0,
    cut_after: int | None = None,
    end_after: int | None = None,
) -> Reply:
    """An answer that calls tools, given as (name, arguments); several calls are parallel calls.

    Arguments are a dict (sent as JSON) or a string sent verbatim, such as `'{"query": "x'`.
    """
    return Reply(
        content=content, calls=tuple(calls), delay=delay, cut_after=cut_after, end_after=end_after
    )


def empty() -> Reply:
    """A 200 reply with `choices: []`: no message at all, only (when asked for) usage."""
    return Reply(empty=True)


def error(
    status: int,
    message: str | None = None,
    *,
    code: str | None = None,
    retry_after: float | None = None,
) -> Reply:
    """An HTTP error with an OpenAI-style body; `retry_after` (seconds) sets Retry-After headers."""
    return Reply(
        status=status,
        message=message or f"Fake server error {status}.",
        code=code,
        retry_after=retry_after,
    )


def hang() -> Reply:
    """Accept the request and never answer, until the server closes or `max_wait` passes."""
    return Reply(hang=True)


class OpenAIRequest(RecordedRequest):
    """A request as the server received it (header names in lower case)."""

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages", [])) if isinstance(self.body, dict) else []


@dataclass
class _State(ServerState):
    api_key: str | None
    models: tuple[str, ...] | None
    default: Reply | None
    echo_key: bool = False
    counter: int = 0
    stream_ends: list[float] = field(default_factory=list)


class FakeOpenAI(FakeServer[OpenAIRequest]):
    """The server: start it with `with FakeOpenAI() as server`, point clients at `server.url`."""

    url_path = "/v1"  # like https://api.openai.com/v1

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Sequence[str] | None = None,
        default: Reply | None = None,
        max_wait: float = 10.0,
        echo_key: bool = False,
    ):
        state = _State(
            api_key, None if models is None else tuple(models), default, echo_key, max_wait=max_wait
        )
        super().__init__(state, _Handler)

    @property
    def chat_requests(self) -> list[OpenAIRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def stream_ends(self) -> list[float]:
        """`time.time()` just after each complete streamed reply sent its last event, in order.

        For latency measurements (how long after the last token a UI shows it). A stream that was
        cut, failed or hung adds nothing; neither does a non-streamed reply.
        """
        with self._state.changed:
            return list(self._state.stream_ends)  # type: ignore[attr-defined]  # _State's

    def wait_for_stream_ends(self, count: int, timeout: float = 5.0) -> bool:
        """Block until `count` streams completed (False if `timeout` passed first)."""
        state = self._state
        with state.changed:
            return state.changed.wait_for(
                lambda: len(state.stream_ends) >= count,
                timeout,  # type: ignore[attr-defined]
            )


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running FakeOpenAI with no key check; registered for every test module by conftest."""
    with FakeOpenAI() as server:
        yield server


# --- server internals ----------------------------------------------------------------------------


class _Cut(Exception):
    """Raised to drop the connection mid-stream, as a crashed server or proxy would."""


class _Handler(RecordingHandler):
    record_class = OpenAIRequest

    # --- routing ---

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = self.read_and_record()
        try:
            self._route(body)
        except (_Cut, BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            shut(self.connection)

    def _route(self, body: Any) -> None:
        state = self.server.state
        path = self.path.split("?", 1)[0].rstrip("/")
        if (
            state.api_key is not None
            and self.headers.get("authorization") != f"Bearer {state.api_key}"
        ):
            given = (self.headers.get("authorization") or "").removeprefix("Bearer ")
            shown = f"{given[:3]}****{given[-4:]}" if len(given) > 8 else "****"
            if state.echo_key:
                shown = given
            return self._error(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        if self.command == "GET" and path == "/v1/models":
            names = ("gpt-4o-mini",) if state.models is None else state.models
            data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
            return self._json(200, {"object": "list", "data": data})
        if self.command != "POST" or path != "/v1/chat/completions":
            return self._error(
                404, f"Unknown request URL: {self.command} {self.path}.", code="unknown_url"
            )
        problem = _invalid(body, state.models)
        if problem:
            status, message, param = problem
            return self._error(status, message, param=param)
        with state.changed:
            reply = state.script.popleft() if state.script else state.default
            state.counter += 1
            number = state.counter
        if reply is None:
            return self._error(
                400,
                "fake_openai: no scripted reply left for this request; "
                "call server.script(...) or pass default=.",
            )
        if reply.hang:
            state.stopping.wait(state.max_wait)
            raise _Cut
        if reply.status != 200:
            return self._error(
                reply.status, reply.message, code=reply.code, retry_after=reply.retry_after
            )
        if body.get("stream"):
            return self._stream(reply, body, number)
        return self._json(200, _completion(reply, body, number))

    # --- responses ---

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        param: str | None = None,
    ) -> None:
        kind, default_code = _ERROR_TYPES.get(status, ("server_error", None))
        payload = {
            "error": {
                "message": message,
                "type": kind,
                "param": param,
                "code": code or default_code,
            }
        }
        headers = {}
        if retry_after is not None:
            headers = {
                "retry-after": str(max(1, round(retry_after))),
                "retry-after-ms": str(int(retry_after * 1000)),
            }
        self._json(status, payload, headers)

    def _stream(self, reply: Reply, body: dict[str, Any], number: int) -> None:
        state = self.server.state
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        self.end_headers()
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        for sent, event in enumerate(_events(reply, body, number, include_usage)):
            if reply.cut_after is not None and sent >= reply.cut_after:
                raise _Cut
            if reply.end_after is not None and sent >= reply.end_after:
                self.wfile.write(b"0\r\n\r\n")
                return
            if sent and reply.delay and state.stopping.wait(reply.delay):
                raise _Cut
            self._chunk(f"data: {json.dumps(event)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        with state.changed:
            state.stream_ends.append(time.time())
            state.changed.notify_all()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def _invalid(body: Any, models: tuple[str, ...] | None) -> tuple[int, str, str | None] | None:
    """Why the real API would refuse this request (status, message, param), or None."""
    if not isinstance(body, dict):
        return 400, "We could not parse the JSON body of your request.", None
    model = body.get("model")
    if not model:
        return 400, "you must provide a model parameter", "model"
    if models is not None and model not in models:
        return 404, f"The model `{model}` does not exist or you do not have access to it.", None
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, "[] is too short - 'messages'", "messages"
    open_calls: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in open_calls:
                return (
                    400,
                    (
                        "Invalid parameter: messages with role 'tool' must be a response to a "
                        "preceeding message with 'tool_calls'."
                    ),
                    f"messages.[{index}].role",
                )
            open_calls.remove(message["tool_call_id"])
            continue
        if open_calls:
            return 400, _unanswered(open_calls), f"messages.[{index}].role"
        if role == "assistant":
            open_calls = [call["id"] for call in message.get("tool_calls") or []]
    if open_calls:
        return 400, _unanswered(open_calls), "messages"
    return None


def _unanswered(ids: list[str]) -> str:
    return (
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        "each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        + ", ".join(ids)
    )


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
    completion = len(_TOKEN.findall(reply.content)) + 10 * len(reply.calls)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _arguments(args: dict[str, Any] | str) -> str:
    return args if isinstance(args, str) else json.dumps(args)


def _call_id(number: int, index: int) -> str:
    return f"call_fake_{number}_{index}"


def _completion(reply: Reply, body: dict[str, Any], number: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.calls:
        message["tool_calls"] = [
            {
                "id": _call_id(number, i),
                "type": "function",
                "function": {"name": name, "arguments": _arguments(args)},
            }
            for i, (name, args) in enumerate(reply.calls)
        ]
    return {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": []
        if reply.empty
        else [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.calls else "stop",
            }
        ],
        "usage": _usage(body, reply),
    }


def _events(
    reply: Reply, body: dict[str, Any], number: int, include_usage: bool
) -> Iterator[dict[str, Any]]:
    """The stream's data events, shaped like OpenAI's chat.completion.chunk objects."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        event = {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            event["usage"] = None
        return event

    if reply.empty:
        yield {**chunk({}), "choices": []}
    else:
        yield chunk({"role": "assistant", "content": ""})
    for token in _TOKEN.findall(reply.content):
        yield chunk({"content": token})
    for index, (name, args) in enumerate(reply.calls):
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": _call_id(number, index),
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            }
        )
        arguments = _arguments(args)
        for start in range(0, len(arguments), _ARGS_PIECE):
            piece = arguments[start : start + _ARGS_PIECE]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    if not reply.empty:
        yield chunk({}, "tool_calls" if reply.calls else "stop")
    if include_usage:
        yield {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [],
            "usage": _usage(body, reply),
        }
