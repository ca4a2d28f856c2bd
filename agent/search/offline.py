"""Offline search: SQLite FTS5 over the documents in `corpus/` and, optionally, the user's folder.

Why FTS5: it ships with Python's sqlite3, ranks with BM25 and stems with the porter tokenizer (so
"checkpoints" finds "checkpoint"), with no network, model or index file. The index lives in memory
and is built once per backend, in milliseconds for a few hundred sections.

Documents are split at their headings, so a hit points at one focused section (`file.md#slug`) and
its excerpt is about the question rather than the start of a long file. The user's words are never
handed to FTS5 as query syntax: quotes, `AND`, `*`, `-` or parentheses would break the query or
change its meaning. They are split into words, stopwords are dropped, and each remaining word is
quoted and OR-ed, leaving the ranking to BM25.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.search.base import SearchResult
from agent.settings import PROJECT_ROOT

CORPUS_DIR = PROJECT_ROOT / "corpus"
SUFFIXES = (".md", ".markdown", ".txt")
TOKENIZER = "porter unicode61 remove_diacritics 2"
TITLE_WEIGHT = 3.0  # a word in a section's title says more than one in its text
# Hits scoring under this share of the best one only share a common word ("weather") with it.
MIN_RELATIVE_SCORE = 0.3
SNIPPET_TOKENS = 64  # FTS5's maximum: about 400 characters
OPENING_CHARS = 400
MAX_SECTION_CHARS = 2_000  # longer sections are cut at paragraphs, so excerpts stay focused
PER_DOCUMENT = 3  # at most this many sections of one document, so several documents get a say
MAX_TERMS = 24

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "couldn",
        "d",
        "did",
        "didn",
        "do",
        "does",
        "doesn",
        "doing",
        "don",
        "down",
        "during",
        "each",
        "explain",
        "few",
        "for",
        "from",
        "further",
        "give",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "isn",
        "it",
        "its",
        "itself",
        "just",
        "know",
        "let",
        "like",
        "ll",
        "m",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "re",
        "s",
        "same",
        "she",
        "should",
        "show",
        "so",
        "some",
        "such",
        "t",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "ve",
        "very",
        "want",
        "was",
        "wasn",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "won",
        "would",
        "you",
        "your",
        "yours",
    ]
)

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Section:
    """A searchable piece of a document: "Doc title — Heading", its address, and its text."""

    title: str
    source: str
    document: str
    body: str


class OfflineSearch:
    """Full-text search over local documents; safe to use from several threads at once."""

    label = "offline documents"

    def __init__(self, docs_folder: Path | None = None, corpus_dir: Path = CORPUS_DIR):
        folders = [(corpus_dir, "corpus")]
        if docs_folder is not None:
            docs_folder = Path(docs_folder).expanduser()
            if not docs_folder.is_dir():
                raise ValueError(
                    f"The documents folder {docs_folder} does not exist or is not a folder. Fix "
                    "WAYPOINT_DOCS (it should name a folder of .md or .txt files) or unset it."
                )
            folders.append((docs_folder, "docs"))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        # Titles and bodies are two FTS tables because BM25 normalises by the length of the whole
        # row: in one table a short section with the document's name in its title beats the
        # section that actually talks about the question.
        self._db.executescript(
            "CREATE TABLE sections (id INTEGER PRIMARY KEY, title, source, document, body);"
            f"CREATE VIRTUAL TABLE titles USING fts5(text, tokenize = '{TOKENIZER}');"
            f"CREATE VIRTUAL TABLE bodies USING fts5(text, tokenize = '{TOKENIZER}');"
        )
        for folder, prefix in folders:
            for s in load_sections(folder, prefix):
                row = self._db.execute(
                    "INSERT INTO sections (title, source, document, body) VALUES (?, ?, ?, ?)",
                    (s.title, s.source, s.document, s.body),
                ).lastrowid
                self._db.execute("INSERT INTO titles (rowid, text) VALUES (?, ?)", (row, s.title))
                self._db.execute("INSERT INTO bodies (rowid, text) VALUES (?, ?)", (row, s.body))
        self._db.commit()
        self.size = self._db.execute("SELECT count(*) FROM sections").fetchone()[0]

    def search(self, query: str, max_results: int = 5) -> list[SearchResult]:
        expression = match_expression(query)
        if not expression or max_results < 1:
            return []
        with self._lock:
            rows = self._db.execute(
                _QUERY,
                {"q": expression, "w": TITLE_WEIGHT, "limit": max_results * 4 * PER_DOCUMENT},
            ).fetchall()
        results: list[SearchResult] = []
        per_document: dict[str, int] = {}
        best = rows[0][-1] if rows else 0.0
        for title, source, document, excerpt, body, score in rows:
            if score > best * MIN_RELATIVE_SCORE:  # scores are negative: lower is better
                break
            if per_document.get(document, 0) >= PER_DOCUMENT:
                continue
            per_document[document] = per_document.get(document, 0) + 1
            text = " ".join((excerpt or _opening(body)).split())
            results.append(SearchResult(title, source, text))
            if len(results) == max_results:
                break
        return results


# A section's score adds its title's BM25 (weighted) and its body's; the excerpt is FTS5's snippet
# around the best match in the body (NULL when only the title matched).
_QUERY = f"""
WITH t AS (SELECT rowid AS id, bm25(titles) AS score FROM titles WHERE titles MATCH :q),
     b AS (SELECT rowid AS id, bm25(bodies) AS score,
                  snippet(bodies, 0, '', '', '…', {SNIPPET_TOKENS}) AS excerpt
           FROM bodies WHERE bodies MATCH :q)
SELECT s.title, s.source, s.document,
       b.excerpt, s.body,
       :w * coalesce(t.score, 0) + coalesce(b.score, 0) AS score
FROM sections AS s LEFT JOIN t ON t.id = s.id LEFT JOIN b ON b.id = s.id
WHERE t.id IS NOT NULL OR b.id IS NOT NULL
ORDER BY score, s.id
LIMIT :limit
"""


def match_expression(query: str) -> str:
    """The FTS5 query for the user's text: its meaningful words, each quoted, OR-ed ("" if none)."""
    terms: list[str] = []
    for word in _WORD.findall(query.lower()):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()) or word in terms:
            continue
        terms.append(word)
    return " OR ".join(f'"{term}"' for term in terms[:MAX_TERMS])


# --- documents -----------------------------------------------------------------------------------


def load_sections(folder: Path, prefix: str) -> Iterator[Section]:
    """Every section of every .md/.txt file under `folder` (hidden files and folders skipped)."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise ValueError(
                f"Could not read {path} ({error.strerror or error}). Fix its permissions or move "
                "it out of the documents folder."
            ) from error
        source = f"{prefix}/{relative.as_posix()}"
        if path.suffix.lower() == ".txt":
            yield from _chunks(_humanize(path.stem), source, source, text.splitlines())
        else:
            yield from split_markdown(text, _humanize(path.stem), source)


def split_markdown(text: str, fallback_title: str, source: str) -> Iterator[Section]:
    """Sections of a Markdown document, one per heading; the first `# Title` names the document.

    Text before the first subheading belongs to the document itself (`source` without a fragment).
    Headings inside fenced code blocks are code, not headings.
    """
    title, named = fallback_title, False
    heading: str | None = None
    lines: list[str] = []
    parts: list[tuple[str | None, list[str]]] = []
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
        elif len(match.group(1)) == 1 and not named and heading is None:
            title, named = _plain(match.group(2)) or fallback_title, True
        else:
            parts.append((heading, lines))
            heading, lines = _plain(match.group(2)), []
    parts.append((heading, lines))
    slugs: dict[str, int] = {}
    for name, body in parts:
        if name is None:
            yield from _chunks(title, source, source, body)
            continue
        slug = _slug(name)
        seen = slugs.get(slug, 0)
        slugs[slug] = seen + 1
        anchor = f"{slug}-{seen}" if seen else slug
        yield from _chunks(f"{title} — {name}", f"{source}#{anchor}", source, body)


def _chunks(title: str, source: str, document: str, lines: list[str]) -> Iterator[Section]:
    """The section's paragraphs as one Section, or several when it is long."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(_LIST_MARKER.sub("", line).strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    chunk: list[str] = []
    for paragraph in paragraphs:
        if chunk and sum(len(p) + 1 for p in chunk) + len(paragraph) > MAX_SECTION_CHARS:
            yield Section(title, source, document, " ".join(chunk))
            chunk = []
        chunk.append(paragraph)
    if chunk:
        yield Section(title, source, document, " ".join(chunk))


def _opening(body: str) -> str:
    """The start of a section, for a hit in its title only: about as long as a snippet."""
    if len(body) <= OPENING_CHARS:
        return body
    return body[:OPENING_CHARS].rsplit(" ", 1)[0] + "…"


def _plain(heading: str) -> str:
    return " ".join(heading.replace("`", "").replace("*", "").split())


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-") or "section"


def _humanize(stem: str) -> str:
    words = stem.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else stem
