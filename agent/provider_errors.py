"""Provider failures, described for people: what happened, and what to do about it.

A run that fails shows one sentence in the chat, not a traceback. The exceptions come from several
layers (langchain-openai wraps the openai SDK, which wraps httpx2, which wraps the socket), and the
useful fact is often a few causes deep: the openai SDK reports a stream cut mid-answer as a plain
"Connection error." whose cause is `httpx2.RemoteProtocolError`. So `describe_error` walks the
whole cause chain, and matches transport errors by class name, which also covers httpx, requests
and the standard library without importing them.

Other integrations (the Tavily search, say) add their own rules with `register_describer` instead
of editing this file. Every message passes through `redact`, so an API key that a server or a
library echoed in its error text never reaches the screen or a log: keys of a known shape by
pattern, and the keys the caller names (the model's own) whatever their shape.

A described failure travels as `ProviderFailure`, an exception whose only text is that redacted
sentence: what the llm node raises instead of the provider's exception, so LangGraph persists
nothing else (see `agent.llm_guard`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from http import HTTPStatus

import openai
from langchain_core.exceptions import ContextOverflowError, ModelError


@dataclass(frozen=True)
class ProviderError:
    """A failure as the user sees it.

    `error_type` is a short slug for the UI and tests: auth, quota, rate_limit, server, timeout,
    connection, stream_cut, not_found, bad_request, context_length or unknown. `retryable` says
    whether sending the same request again may work.
    """

    message: str
    error_type: str
    retryable: bool


class CleanError(Exception):
    """An exception whose text is Waypoint's own (no provider text, no secret).

    The llm node lets these through as they are; any other exception is described and replaced.
    """


class ProviderFailure(CleanError):
    """A provider failure reduced to its description: safe to persist, show and log."""

    def __init__(self, problem: ProviderError):
        super().__init__(problem.message)
        self.problem = problem


Describer = Callable[[BaseException], ProviderError | None]
_registered: list[Describer] = []


def register_describer(describer: Describer) -> Describer:
    """Consult `describer` before the built-in rules; it returns None for errors it does not know.

    Registering the same function twice has no effect, so it can be called from a factory that runs
    more than once. Returns the describer, so it also works as a decorator.
    """
    if describer not in _registered:
        _registered.append(describer)
    return describer


def describe_error(exc: BaseException, secrets: Iterable[str] = ()) -> ProviderError:
    """The user-facing description of `exc`, with any secret in its text redacted.

    `secrets` are values to remove wherever they appear (the API key the request used).
    """
    if isinstance(exc, ProviderFailure):
        return exc.problem
    chain = list(_chain(exc))
    secrets = tuple(secrets)
    for describe in (*_registered, _describe_status, _describe_transport, _describe_model_error):
        for link in chain:
            problem = describe(link)
            if problem is not None:
                return replace(problem, message=redact(problem.message, secrets))
    return ProviderError(
        redact(
            f"Unexpected {type(exc).__name__}: {_clip(str(exc)) or 'no details'}. Try again; if "
            "it happens again, start a new thread or report it with this message.",
            secrets,
        ),
        "unknown",
        False,
    )


_SECRETS = (
    (
        re.compile(r"\b(?:sk|rk|pk|tvly|lsv2|gsk|xai|hf|ghp|glpat)[-_][A-Za-z0-9*_\-]{6,}"),
        "[redacted]",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=*\-]*[A-Za-z0-9_~+/=*\-]"), "Bearer [redacted]"),
    (
        re.compile(
            r"(?i)((?:api[_-]?key|access[_-]?token|token|secret|password)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"'&,;]+"
        ),
        r"\1[redacted]",
    ),
)


MIN_SECRET_CHARS = 8  # shorter "secrets" (a placeholder, a typo) are common words: leave them


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without `secrets` or anything that looks like an API key, bearer token or
    key=value secret."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, "[redacted]")
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


# --- rules ---------------------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) and status >= 400 else None


def _server_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return _clip(body["message"])
    message = getattr(exc, "message", None)
    return _clip(message if isinstance(message, str) else str(exc))


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_name(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _retry_after(exc: BaseException) -> str:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = headers.get("retry-after")
    return f" about {value} seconds" if value and value.isdigit() else " a moment"


def _describe_status(exc: BaseException) -> ProviderError | None:
    """An HTTP error answer: openai's APIStatusError, httpx's HTTPStatusError, requests'
    HTTPError."""
    status = _status_of(exc)
    if status is None:
        return None
    said = _server_message(exc)
    code = getattr(exc, "code", None)
    if isinstance(exc, ContextOverflowError) or code == "context_length_exceeded":
        return ProviderError(
            "The conversation is too long for this model's context window. Start a new thread, "
            "or fork this one from an earlier checkpoint to continue with less history.",
            "context_length",
            False,
        )
    if status == 401:
        return ProviderError(
            f"The model server rejected the API key (401 Unauthorized: {said}). Check the key in "
            "OPENAI_API_KEY or in the settings, or choose the offline demo model.",
            "auth",
            False,
        )
    if status == 403:
        return ProviderError(
            f"This API key may not use that model or endpoint (403 Forbidden: {said}). Check the "
            "key's project and permissions, or choose another model.",
            "auth",
            False,
        )
    if status == 404:
        return ProviderError(
            f"The model server does not know this model or address (404 Not Found: {said}). Check "
            "the model name, and for a compatible server that the base URL ends in /v1.",
            "not_found",
            False,
        )
    if status == 429 and code == "insufficient_quota":
        return ProviderError(
            f"The account has no quota left (429: {said}). Check its plan and billing, or choose "
            "the offline demo model.",
            "quota",
            False,
        )
    if status == 429:
        return ProviderError(
            f"The model server is rate-limiting requests (429 Too Many Requests: {said}) and the "
            f"retries ran out. Wait{_retry_after(exc)} and try again.",
            "rate_limit",
            True,
        )
    if status == 408:
        return _timeout()
    if status >= 500:
        return ProviderError(
            f"The model server failed ({_status_name(status)}: {said}), and retrying did not "
            "help. The problem is on the server's side: try again in a moment.",
            "server",
            True,
        )
    if "tool_call" in said:
        return ProviderError(
            f"The model server refused the conversation because a tool call has no result "
            f"({said}). Decide the pending tool call, or fork from an earlier checkpoint.",
            "bad_request",
            False,
        )
    return ProviderError(
        f"The model server refused the request ({_status_name(status)}: {said}). Check the model "
        "name and settings; for a compatible server, check that it supports tool calling.",
        "bad_request",
        False,
    )


# Transport failures by class name (any class in the MRO), most specific meaning first.
_CUT = {
    "RemoteProtocolError",
    "IncompleteRead",
    "ChunkedEncodingError",
    "ReadError",
    "ConnectionResetError",
    "BrokenPipeError",
}
_TIMEOUT = {
    "TimeoutException",
    "TimeoutError",
    "Timeout",
    "ReadTimeout",
    "ConnectTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "StreamChunkTimeoutError",
}
_CONNECTION = {
    "ConnectError",
    "ConnectionRefusedError",
    "gaierror",
    "NewConnectionError",
    "NameResolutionError",
    "ConnectionError",
}


def _timeout() -> ProviderError:
    return ProviderError(
        "The model server took too long to answer, so the request was stopped. It may be busy or "
        "loading the model: try again, or pick a smaller or faster model.",
        "timeout",
        True,
    )


def _describe_transport(exc: BaseException) -> ProviderError | None:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _CUT:
        return ProviderError(
            "The connection to the model server closed before the reply was complete, so the "
            "reply was dropped. Try again; if it keeps happening, check the server (it may have "
            "crashed, restarted or hit a limit).",
            "stream_cut",
            True,
        )
    if names & _TIMEOUT:
        return _timeout()
    if names & _CONNECTION:
        return _cannot_connect(exc)
    return None


def _cannot_connect(exc: BaseException) -> ProviderError:
    try:
        url = exc.request.url  # type: ignore[attr-defined]
        where = f" at {url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when no request is set
        where = ""
    return ProviderError(
        f"Could not connect to the model server{where}. Check that it is running and that the "
        "base URL is right, or choose the offline demo model.",
        "connection",
        True,
    )


def _describe_model_error(exc: BaseException) -> ProviderError | None:
    """Provider errors whose cause said nothing more specific."""
    if isinstance(exc, openai.APITimeoutError):
        return _timeout()
    if isinstance(exc, openai.APIConnectionError):
        return _cannot_connect(exc)
    if isinstance(exc, openai.APIError):
        return ProviderError(
            "The model server reported an error in the middle of its reply "
            f"({_server_message(exc)}). Try again in a moment.",
            "server",
            True,
        )
    if isinstance(exc, ModelError):
        return ProviderError(
            f"The model failed: {_clip(str(exc))}. Try again, or choose another model.",
            "unknown",
            exc.is_retryable,
        )
    return None
