"""Search backends for the `web_search` tool: offline documents (SQLite FTS5) or Tavily web search.

`make_search_backend` is the one place that turns the user's choice and the settings into a backend,
so keys and folders are checked once, when the choice is made, with a sentence the user can act on.
"""

from __future__ import annotations

from agent.search.base import SearchBackend, SearchError, SearchResult
from agent.search.offline import OfflineSearch
from agent.search.tavily import TavilySearch
from agent.settings import Settings

__all__ = [
    "OfflineSearch",
    "SearchBackend",
    "SearchError",
    "SearchResult",
    "TavilySearch",
    "make_search_backend",
]


def make_search_backend(kind: str, settings: Settings, api_key: str | None = None) -> SearchBackend:
    """The backend for `kind` ("offline" or "tavily"); a key typed in the UI beats the setting."""
    if kind == "offline":
        return OfflineSearch(docs_folder=settings.docs_folder)
    if kind == "tavily":
        key = api_key or settings.tavily_api_key
        if not key:
            raise ValueError(
                "Tavily web search needs an API key: set TAVILY_API_KEY or type the key in the "
                "settings, or choose offline documents."
            )
        return TavilySearch(key)
    raise ValueError(f"Unknown search backend {kind!r}: choose 'offline' or 'tavily'.")
