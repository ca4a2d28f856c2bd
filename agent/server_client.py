"""Talking to a LangGraph Agent Server: its errors as sentences, and what its graph is.

`Answering` wraps the SDK's resource clients so that a server that cannot be reached is a
`ServerUnavailable` (a BackendError pages show), and `graph_kit` reads what this process needs
to know of the graph (its messages channel, its keys) from the assistant's schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import httpx
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import APIConnectionError

from agent.errors import Conflict
from agent.graph_kit import GraphKit

CONNECT_SECONDS = 5.0  # to reach the server; a run's stream may then take minutes


class ServerUnavailable(Conflict):
    """The Agent Server did not answer (down, restarting, or the wrong address)."""

    def __init__(self, url: str, error: Exception):
        super().__init__(
            f"The Agent Server at {url} does not answer ({type(error).__name__}): start it "
            "(`langgraph dev`), wait for its restart, or fix WAYPOINT_SERVER_URL."
        )


class Answering:
    """One of the SDK client's resources (threads, runs, assistants) whose calls raise
    `ServerUnavailable`, a BackendError pages show, when the server cannot be reached, rather
    than httpx's exceptions, which would end the page with a traceback."""

    def __init__(self, resource: Any, url: str) -> None:
        self._resource = resource
        self._url = url

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._resource, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except (httpx.TransportError, APIConnectionError) as error:
                raise ServerUnavailable(self._url, error) from None

        return call


def _no_compile(_saver: Any) -> NoReturn:
    raise TypeError("The graph runs on the Agent Server: this process does not compile it.")


def error_detail(error: Exception) -> str:
    """What the server said was wrong with a request, short."""
    body = getattr(error, "body", None)
    detail = body.get("detail") if isinstance(body, Mapping) else None
    return str(detail or error)[:300]


def graph_kit(assistant: Mapping[str, Any], schemas: Mapping[str, Any]) -> GraphKit:
    """What this process needs to know of the server's graph, from its schemas: where its
    messages are, which keys its input and state have (for JSON input and state edits)."""
    state = (schemas.get("state_schema") or {}).get("properties") or {}
    given = (schemas.get("input_schema") or {}).get("properties") or state
    name = str(assistant.get("name") or assistant["graph_id"])
    return GraphKit(
        name=name,
        label=name,
        compile=_no_compile,
        messages_key="messages" if "messages" in state else None,
        input_keys=tuple(str(key) for key in (given if given else state)),
        description=str(assistant.get("description") or ""),
    )


def server_client(url: str, api_key: str | None) -> SyncLangGraphClient:
    """langgraph-sdk's sync client, as `get_sync_client` makes it but retrying a failed
    connection once, not five times: a server that is down is said on the page within a second
    or so, not after the SDK's backoff (several seconds per call, on every page load)."""
    http = httpx.Client(
        base_url=url,
        transport=httpx.HTTPTransport(retries=1),
        timeout=httpx.Timeout(connect=CONNECT_SECONDS, read=300, write=300, pool=5),
        headers={"x-api-key": api_key} if api_key else {},
    )
    return SyncLangGraphClient(http)
