"""Tavily web search through the official `tavily-python` client, with failures told as sentences.

The client raises one exception type per HTTP status it knows (401, 403/432/433, 429, 400), a
`requests.HTTPError` for the rest, its own TimeoutError, and lets `requests.ConnectionError`
through. ForbiddenError covers both a refused key (403) and a used-up plan (432, 433), so each
search runs on its own short-lived `requests.Session` whose response hook records the status: the
message can then say which it was. A session per search also keeps parallel searches apart.

Every message is ours, with the server's detail passed through `redact` and the key masked: the key
must never reach the model, the screen or a log.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import requests
from tavily import TavilyClient
from tavily.errors import (
    BadRequestError,
    ForbiddenError,
    InvalidAPIKeyError,
    UsageLimitExceededError,
)
from tavily.errors import TimeoutError as TavilyTimeout

from agent.provider_errors import redact
from agent.search.base import SearchError, SearchResult

DEFAULT_TIMEOUT = 20.0
MAX_RESULTS = 20  # Tavily's upper bound for max_results
_OR_OFFLINE = "or switch search to offline documents."


class TavilySearch:
    """Web search with Tavily. `base_url` points the client elsewhere (tests use a fake server)."""

    label = "Tavily"

    def __init__(
        self, api_key: str, *, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ):
        if not api_key:
            raise ValueError("Tavily web search needs an API key.")
        self._api_key = api_key
        self.base_url = base_url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"TavilySearch(base_url={self.base_url!r}, timeout={self.timeout})"

    def search(self, query: str, max_results: int = 5) -> list[SearchResult]:
        if not query.strip() or max_results < 1:
            return []
        statuses: list[int] = []
        with requests.Session() as session:
            session.hooks["response"].append(lambda reply, **_: statuses.append(reply.status_code))
            client = TavilyClient(
                api_key=self._api_key, api_base_url=self.base_url, session=session
            )
            try:
                reply = client.search(
                    query, max_results=min(max_results, MAX_RESULTS), timeout=self.timeout
                )
            except (
                BadRequestError,
                ForbiddenError,
                InvalidAPIKeyError,
                UsageLimitExceededError,
                TavilyTimeout,
                requests.RequestException,
                ValueError,
            ) as error:
                status = statuses[-1] if statuses else None
                # `from None`: the client's exception may quote the server, key and all, and a
                # traceback in a log would show it.
                raise SearchError(self._hide(_describe(error, status, self.timeout))) from None
        return _results(reply)

    def _hide(self, text: str) -> str:
        return redact(text.replace(self._api_key, "[redacted]"))


def _results(reply: Any) -> list[SearchResult]:
    items = reply.get("results") if isinstance(reply, dict) else None
    if not isinstance(items, list):
        raise SearchError(
            "Tavily sent a reply that is not a list of search results. Try again; if it keeps "
            f"happening, {_OR_OFFLINE}"
        )
    return [
        SearchResult(
            str(item.get("title") or item.get("url") or ""),
            str(item.get("url") or ""),
            str(item.get("content") or ""),
        )
        for item in items
        if isinstance(item, dict)
    ]


def _describe(error: Exception, status: int | None, timeout: float) -> str:
    """One sentence for `error`: what Tavily (or the network) did, and what the user can do."""
    said = _detail(error)
    if isinstance(error, InvalidAPIKeyError):
        return (
            f"Tavily rejected the API key (HTTP 401{said}). Check TAVILY_API_KEY or the key in the "
            f"settings, {_OR_OFFLINE}"
        )
    if isinstance(error, ForbiddenError) and status in (432, 433):
        return (
            f"The Tavily account has used up its plan's search credits (HTTP {status}{said}). "
            f"Check the plan and usage in your Tavily account, {_OR_OFFLINE}"
        )
    if isinstance(error, ForbiddenError):
        return (
            f"Tavily refused this API key (HTTP 403 Forbidden{said}). Check the key and its "
            f"permissions in your Tavily account, {_OR_OFFLINE}"
        )
    if isinstance(error, UsageLimitExceededError):
        return (
            f"Tavily is rate-limiting searches (HTTP 429 Too Many Requests{said}). Wait a minute "
            f"and try again, {_OR_OFFLINE}"
        )
    if isinstance(error, BadRequestError):
        return f"Tavily could not run this search (HTTP 400{said}). Try a shorter, simpler query."
    if isinstance(error, TavilyTimeout):
        return (
            f"Tavily did not answer within {timeout:g} seconds, so the search was stopped. Try "
            f"again in a moment, {_OR_OFFLINE}"
        )
    if isinstance(error, requests.ConnectionError):
        return (
            "Could not connect to Tavily. Check the internet connection (and any proxy), "
            f"{_OR_OFFLINE}"
        )
    if isinstance(error, requests.HTTPError) and status is not None and status >= 500:
        return (
            f"Tavily's server failed (HTTP {_status_name(status)}). The problem is on Tavily's "
            f"side: try again in a moment, {_OR_OFFLINE}"
        )
    if isinstance(error, requests.HTTPError) and status is not None:
        return (
            f"Tavily answered with an unexpected error (HTTP {_status_name(status)}). Try again; "
            f"if it keeps happening, {_OR_OFFLINE}"
        )
    if isinstance(error, ValueError):
        return (
            "Tavily sent a reply that is not valid JSON. Try again; if it keeps happening, "
            f"{_OR_OFFLINE}"
        )
    return f"The search request to Tavily failed ({type(error).__name__}). Try again, {_OR_OFFLINE}"


def _detail(error: Exception) -> str:
    text = " ".join(str(error).split())
    if not text:
        return ""
    return ": " + (text if len(text) <= 200 else text[:199] + "…").rstrip(".")


def _status_name(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
