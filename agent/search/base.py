"""What every search backend returns and raises, so the tool and the UI need not know which ran."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SearchResult:
    """One hit: a title, where it came from (a URL or a document path), and a short excerpt."""

    title: str
    source: str
    snippet: str


class SearchError(Exception):
    """A search that could not run. Its text is a sentence for the user: what happened, what to do.

    The tool hands this sentence to the model as the tool's result, so it must never contain a key.
    """


class SearchBackend(Protocol):
    """Anything the `web_search` tool can query."""

    label: str

    def search(self, query: str, max_results: int = 5) -> list[SearchResult]: ...
