"""Search backends: offline documents must find the obviously right section, and Tavily failures
must reach the user as sentences they can act on (through the real tavily-python client, offline)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.search import (
    OfflineSearch,
    SearchError,
    SearchResult,
    TavilySearch,
    make_search_backend,
)
from agent.search.offline import CORPUS_DIR, match_expression, split_markdown
from agent.settings import Settings
from tests.fake_tavily import FakeTavily, Reply, error, garbage, hang, hit, refused_url, results


@pytest.fixture(scope="module")
def offline() -> OfflineSearch:
    return OfflineSearch()


# --- offline: ranking ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "document"),
    [
        ("What's the weather in Los Angeles?", "corpus/weather-los-angeles.md"),
        ("weather in LA", "corpus/weather-los-angeles.md"),
        ("weather in SF", "corpus/weather-san-francisco.md"),
        ("What is the weather like in San Francisco?", "corpus/weather-san-francisco.md"),
        ("weather in Tokyo", "corpus/weather-tokyo.md"),
        ("weather in New York", "corpus/weather-new-york.md"),
        ("London weather", "corpus/weather-london.md"),
        ("How does LangGraph persistence work?", "corpus/langgraph-persistence.md"),
        ("LangGraph persistence", "corpus/langgraph-persistence.md"),
        ("what is time travel in langgraph", "corpus/langgraph-time-travel.md"),
        ("tell me about human in the loop", "corpus/langgraph-human-in-the-loop.md"),
        ("LangGraph threads", "corpus/langgraph-threads.md"),
        ("stream modes for LLM tokens", "corpus/langgraph-streaming.md"),
        ("durability modes", "corpus/langgraph-durability.md"),
        ("add_messages reducer", "corpus/langgraph-state-and-reducers.md"),
        ("ToolMessage tool_call_id", "corpus/langgraph-tool-calling.md"),
        ("What is an AI agent?", "corpus/ai-agents.md"),
        ("what is a large language model", "corpus/large-language-models.md"),
        ("Streamlit session state and reruns", "corpus/streamlit-basics.md"),
    ],
)
def test_questions_find_the_right_document_first(offline, question, document):
    found = offline.search(question)
    assert found, question
    assert found[0].source.split("#")[0] == document, [r.source for r in found]


def test_results_name_the_section_and_quote_a_focused_excerpt(offline):
    found = offline.search("How does LangGraph persistence work?")
    best = found[0]
    assert best.source == "corpus/langgraph-persistence.md#how-persistence-works"
    assert best.title == "LangGraph persistence and checkpointers — How persistence works"
    assert "super-step" in best.snippet
    assert 100 < len(best.snippet) <= 600
    assert "\n" not in best.snippet
    assert len({r.source for r in found}) == len(found)


def test_weather_results_are_labelled_as_typical_climate_not_live_data(offline):
    best = offline.search("What's the weather in Los Angeles?")[0]
    assert best.source == "corpus/weather-los-angeles.md"
    assert best.snippet.startswith("Offline sample weather notes — typical climate, not live data")
    assert "Mediterranean" in best.snippet


def test_hits_that_only_share_a_common_word_are_left_out(offline):
    sources = [r.source for r in offline.search("weather in Los Angeles", max_results=10)]
    assert sources and all(s.startswith("corpus/weather-los-angeles.md") for s in sources)


def test_max_results_is_respected(offline):
    assert len(offline.search("LangGraph checkpoint thread", max_results=2)) == 2
    assert offline.search("LangGraph", max_results=0) == []


def test_stemming_matches_other_forms_of_a_word(tmp_path):
    (tmp_path / "a.md").write_text("# Saving\n\nEach checkpoint is written after a step.\n")
    backend = OfflineSearch(corpus_dir=tmp_path)
    assert [r.source for r in backend.search("checkpoints written")] == ["corpus/a.md"]


# --- offline: queries are words, never FTS5 syntax -----------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "AND (",
        "-x",
        "NEAR",
        "NEAR(a b)",
        "persistence AND (",
        'persistence"',
        "title:weather",
        "^persistence",
        "{checkpoint}",
        "OR",
        "NOT persistence",
        "a + b - c",
        "weather*",
        "'",
        "persistence)",
        "\x00",
        "🙂 weather ☀",
    ],
)
def test_fts_syntax_in_a_query_does_not_break_the_search(offline, query):
    found = offline.search(query)
    assert isinstance(found, list)
    assert all(isinstance(r, SearchResult) for r in found)


def test_operators_are_searched_as_words_and_the_rest_still_ranks(offline):
    assert offline.search("persistence AND (")[0].source.startswith("corpus/langgraph-persistence")
    assert offline.search("NOT persistence")[0].source.startswith("corpus/langgraph-persistence")
    # A column filter would search only titles; as words, "title" is just another term.
    assert offline.search("title:weather Tokyo")[0].source.startswith("corpus/weather-tokyo")


def test_match_expression_quotes_words_and_drops_stopwords():
    expression = match_expression('What is "time travel" AND (forks)*?')
    assert expression == '"time" OR "travel" OR "forks"'
    assert match_expression("thread_id") == '"thread" OR "id"'


@pytest.mark.parametrize("query", ["", "   ", "what is it?", "the and of", "how do I", "-", "?!"])
def test_a_query_without_meaningful_words_finds_nothing(offline, query):
    assert offline.search(query) == []


# --- offline: documents --------------------------------------------------------------------------


def test_every_corpus_document_is_titled_and_indexed(offline):
    files = sorted(CORPUS_DIR.glob("*.md"))
    assert len(files) >= 15
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), path
        title = first[2:]
        assert offline.search(title, max_results=20), path
    assert offline.size >= 3 * len(files)


def test_the_users_docs_folder_is_searched_too(tmp_path):
    docs = tmp_path / "my docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "runbook.md").write_text(
        "# Runbook\n\nHow we operate.\n\n## Rotate the zanzibar keys\n\n"
        "Rotate zanzibar keys every Monday.\n"
    )
    (docs / "sub" / "notes.txt").write_text("Quokka sightings are logged on the wiki.\n")
    (docs / ".hidden").mkdir()
    (docs / ".hidden" / "secret.md").write_text("# Secret\n\nQuokka secret.\n")
    (docs / "image.png").write_bytes(b"\x89PNG quokka")
    backend = make_search_backend("offline", Settings(docs_folder=docs))
    assert backend.label == "offline documents"
    [rotate] = backend.search("rotate zanzibar keys")
    assert rotate == SearchResult(
        "Runbook — Rotate the zanzibar keys",
        "docs/runbook.md#rotate-the-zanzibar-keys",
        "Rotate zanzibar keys every Monday.",
    )
    quokka = [(r.title, r.source) for r in backend.search("quokka")]
    assert quokka == [("Notes", "docs/sub/notes.txt")]
    # The shipped corpus is still there.
    assert backend.search("LangGraph persistence")[0].source.startswith("corpus/")


def test_a_missing_docs_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match="WAYPOINT_DOCS") as raised:
        make_search_backend("offline", Settings(docs_folder=missing))
    assert str(missing) in str(raised.value)
    a_file = tmp_path / "file.md"
    a_file.write_text("# Not a folder\n")
    with pytest.raises(ValueError, match="not a folder"):
        OfflineSearch(docs_folder=a_file)


def test_an_unreadable_document_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "locked.md").write_text("# Locked\n")
    real_read = Path.read_text

    def read_text(self, *args, **kwargs):
        if self.name == "locked.md":
            raise PermissionError(13, "Permission denied")
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    with pytest.raises(ValueError, match="Could not read .*locked.md .Permission denied."):
        OfflineSearch(docs_folder=tmp_path)


def test_markdown_splits_at_headings_but_not_inside_code():
    text = (
        "# Guide\n\nIntro text.\n\n## Setup\n\n- Install it.\n- Run it.\n\n```python\n"
        "# not a heading\nprint('x')\n```\n\n## Setup\n\nAgain.\n\n### Deep `code` *heading*\n\n"
        "Deep text.\n\n## Empty\n"
    )
    sections = list(split_markdown(text, "Fallback", "docs/guide.md"))
    assert [(s.title, s.source) for s in sections] == [
        ("Guide", "docs/guide.md"),
        ("Guide — Setup", "docs/guide.md#setup"),
        ("Guide — Setup", "docs/guide.md#setup-1"),
        ("Guide — Deep code heading", "docs/guide.md#deep-code-heading"),
    ]
    assert sections[1].body == "Install it. Run it. # not a heading print('x')"
    assert list(split_markdown("No title here.", "Notes", "docs/n.md"))[0].title == "Notes"


def test_a_long_section_is_cut_into_focused_pieces(tmp_path):
    filler = " ".join(["Filler sentence about nothing in particular."] * 12)
    paragraphs = [filler] * 8 + ["The platypus lays eggs."] + [filler] * 8
    (tmp_path / "long.md").write_text("# Long\n\n## Animals\n\n" + "\n\n".join(paragraphs) + "\n")
    backend = OfflineSearch(corpus_dir=tmp_path)
    [best, *_] = backend.search("platypus eggs")
    assert best.source == "corpus/long.md#animals"
    assert "platypus lays eggs" in best.snippet
    assert len(best.snippet) <= 600
    assert backend.size > 3


def test_searches_from_several_threads_at_once_agree(offline):
    questions = ["weather in SF", "LangGraph persistence", "human in the loop", "time travel"]
    expected = {q: offline.search(q) for q in questions}
    barrier = threading.Barrier(len(questions))
    outcomes: dict[str, list] = {q: [] for q in questions}
    failures: list[BaseException] = []

    def worker(question: str) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(30):
                outcomes[question].append(offline.search(question))
        except BaseException as problem:
            failures.append(problem)

    threads = [threading.Thread(target=worker, args=(q,)) for q in questions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    for question in questions:
        assert outcomes[question] == [expected[question]] * 30


# --- make_search_backend -------------------------------------------------------------------------


def test_tavily_needs_a_key_from_the_settings_or_the_ui():
    with pytest.raises(ValueError, match="TAVILY_API_KEY"):
        make_search_backend("tavily", Settings())
    from_settings = make_search_backend("tavily", Settings(tavily_api_key="tvly-from-settings"))
    typed = make_search_backend(
        "tavily", Settings(tavily_api_key="tvly-from-settings"), api_key="tvly-typed"
    )
    assert isinstance(from_settings, TavilySearch) and from_settings.label == "Tavily"
    assert from_settings._api_key == "tvly-from-settings"
    assert typed._api_key == "tvly-typed"
    assert "tvly" not in repr(typed)


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="'bing'"):
        make_search_backend("bing", Settings())


# --- Tavily, through the real client against the fake server -------------------------------------

KEY = "tvly-dev-Secret0123456789"


def test_tavily_results_are_mapped_and_the_request_carries_the_query():
    with FakeTavily(api_key=KEY) as server:
        server.script(
            results(
                hit("LA forecast", "https://weather.example/la", "Sunny, 25 °C."),
                hit("LA climate", "https://climate.example/la", "Mediterranean."),
            )
        )
        found = TavilySearch(KEY, base_url=server.url).search("weather in LA", max_results=3)
        [request] = server.requests
    assert found == [
        SearchResult("LA forecast", "https://weather.example/la", "Sunny, 25 °C."),
        SearchResult("LA climate", "https://climate.example/la", "Mediterranean."),
    ]
    assert request.method == "POST" and request.path == "/search"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["query"] == "weather in LA"
    assert request.body["max_results"] == 3


def test_tavily_caps_max_results_and_skips_empty_queries():
    with FakeTavily() as server:
        server.script(results())
        backend = TavilySearch(KEY, base_url=server.url)
        assert backend.search("anything", max_results=50) == []
        assert backend.search("   ") == []
        assert [r.body["max_results"] for r in server.requests] == [20]


_KEY_SENTENCE = "Tavily rejected the API key (HTTP 401"
_FAULTS = {
    "forbidden": (error(403, f"Key {KEY} is blocked"), "Tavily refused this API key (HTTP 403"),
    "rate limit": (error(429, "Rate limit exceeded"), "Tavily is rate-limiting searches (HTTP 429"),
    "plan limit": (
        error(432, "This request exceeds your plan's set usage limit"),
        "used up its plan's search credits (HTTP 432",
    ),
    "server": (error(500, "boom"), "Tavily's server failed (HTTP 500 Internal Server Error)"),
    "bad gateway": (error(502), "Tavily's server failed (HTTP 502 Bad Gateway)"),
    "bad request": (error(400, "Query is too long."), "Tavily could not run this search (HTTP 400"),
    "not json": (garbage(), "not valid JSON"),
    "timeout": (hang(), "Tavily did not answer within 0.3 seconds"),
}


@pytest.mark.parametrize("fault", list(_FAULTS))
def test_each_tavily_failure_is_a_clear_sentence_without_the_key(fault):
    reply, expected = _FAULTS[fault]
    with FakeTavily(api_key=KEY) as server:
        server.script(reply)
        with pytest.raises(SearchError) as raised:
            TavilySearch(KEY, base_url=server.url, timeout=0.3).search("weather in LA")
    message = str(raised.value)
    assert expected in message
    assert message.endswith(".") and "\n" not in message
    assert KEY not in message and "Secret0123456789" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_wrong_tavily_key_is_named_as_the_problem():
    with (
        FakeTavily(api_key="tvly-the-right-one") as server,
        pytest.raises(SearchError) as raised,
    ):
        TavilySearch(KEY, base_url=server.url).search("weather in LA")
    assert str(raised.value).startswith(_KEY_SENTENCE)
    assert "TAVILY_API_KEY" in str(raised.value) and "offline documents" in str(raised.value)
    assert KEY not in str(raised.value)


def test_an_echoed_key_of_any_shape_is_masked():
    plain_key = "plainkey0123456789"
    with FakeTavily() as server:
        server.script(error(403, f"key {plain_key} blocked"))
        with pytest.raises(SearchError) as raised:
            TavilySearch(plain_key, base_url=server.url).search("x")
    assert plain_key not in str(raised.value)
    assert "[redacted]" in str(raised.value)


def test_a_refused_connection_is_a_clear_sentence():
    with refused_url() as url, pytest.raises(SearchError) as raised:
        TavilySearch(KEY, base_url=url, timeout=5).search("weather in LA")
    assert str(raised.value).startswith("Could not connect to Tavily.")
    assert KEY not in str(raised.value)


def test_a_reply_without_results_is_a_search_error():
    with FakeTavily() as server:
        server.script(results(), Reply(payload={"results": "not a list"}))
        backend = TavilySearch(KEY, base_url=server.url)
        assert backend.search("a") == []
        with pytest.raises(SearchError, match="not a list of search results"):
            backend.search("b")
