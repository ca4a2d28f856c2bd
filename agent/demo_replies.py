"""What the offline demo model says: a conversation in, a reply (text and tool calls) out.

These are plain functions with no model plumbing, so the rules read top to bottom and tests can call
them directly; `agent/demo_model.py` streams whatever they decide. The rules are small and
deterministic on purpose: they exist to make every feature of the app visible without a key — a
search, parallel searches, an answer that cites its sources, and a sensible reply after a human
rejected, edited, cancelled or answered a tool call. Only the conversation passed in is used, so a
new thread remembers nothing.

Tool results are data. Text inside them is quoted and cited, never obeyed; a result that reads like
instructions to an AI is not quoted at all, and the answer says so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

SEARCH_TOOL = "web_search"
MAX_PARALLEL_SEARCHES = 4

ABOUT = (
    "I'm Waypoint's **offline demo model**: a small, deterministic stand-in for a real LLM, so "
    "that every feature works without an API key. I know no facts myself: I look them up with "
    "the `web_search` tool and answer from what it returns, citing each result.\n\n"
    "Things to try:\n"
    "- *How does LangGraph persistence work?* — one search, then an answer with sources\n"
    "- *What's the weather in SF and LA?* — two searches in one step (parallel tool calls)\n"
    "- When I ask to run a search, **reject** it with a reason, **edit** the query, or "
    "**answer in the tool's place**, and see how I carry on\n"
    "- Rewind to any checkpoint in the inspector and fork the conversation from there"
)
# Each reply's wordings: the first is a first attempt's, the others are for Regenerate (`_pick`).
GREETINGS = ("Hello! ", "Hi there! ", "Hey! ")
GREETING_REPLY = GREETINGS[0] + ABOUT
THANKS_REPLY = (
    "You're welcome! Ask me something else and I'll search for it.",
    "Glad it helped! What should I look up next?",
    "Any time. Ask away and I'll search for it.",
)
BYE_REPLY = (
    "Goodbye! This thread is saved: pick it up any time from the thread list.",
    "Bye! Every step of this thread is a checkpoint: come back whenever you like.",
    "See you! The thread stays in the list, ready to continue.",
)
NOTHING_TO_ADD = (
    "Is there anything else you would like me to look up?",
    "Anything else I should search for?",
    "Shall I look something else up?",
)
FOUND_OPENINGS = (
    "Here is what I found for “{q}”.",
    "The search for “{q}” turned up this.",
    "From the results for “{q}”:",
)
SEVERAL_OPENINGS = (
    "Here is what came back from each search.",
    "Each search brought something back.",
    "Here are the searches, one by one.",
)


@dataclass(frozen=True)
class PlannedCall:
    """A tool call the demo model will make."""

    name: str
    args: dict[str, Any]
    id: str


@dataclass(frozen=True)
class Reply:
    """What the demo model answers: text, then any tool calls."""

    text: str
    calls: tuple[PlannedCall, ...] = ()


def plan_reply(
    messages: Sequence[BaseMessage], tool_names: Collection[str], attempt: int = 0
) -> Reply:
    """Decide the next AI message for `messages`, calling only tools named in `tool_names`.

    `attempt` is which try at this reply it is: 0 the first, n > 0 a regenerated one. Each
    attempt is worded its own way (`_pick`), deterministically, so Regenerate visibly answers
    again, as a sampling model would, and tests can say what each attempt writes.
    """
    conversation = [m for m in messages if not isinstance(m, SystemMessage)]
    if not conversation:
        return Reply(_pick(GREETINGS, attempt) + ABOUT)
    last = conversation[-1]
    if isinstance(last, ToolMessage):
        return Reply(answer_from_results(conversation, attempt))
    if isinstance(last, HumanMessage):
        return _respond_to(conversation, tool_names, attempt)
    return Reply(_pick(NOTHING_TO_ADD, attempt))


def _pick(wordings: Sequence[str], attempt: int) -> str:
    """The first wording for a first attempt; a later one for each retry, never the same as the
    attempt before it (consecutive retries cycle through the others)."""
    if attempt <= 0 or len(wordings) == 1:
        return wordings[0]
    return wordings[1 + (attempt - 1) % (len(wordings) - 1)]


# --- questions -----------------------------------------------------------------------------------

_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening))\b(?:\s+there)?"
    r"[\s,!.]*",
    re.I,
)
_SMALL_TALK = {
    "thanks": re.compile(
        r"^(?:thanks?(?: you)?(?: (?:so|very) much)?|thx|cheers|great|perfect|nice|cool|ok(?:ay)?|"
        r"got it|awesome)\W*$",
        re.I,
    ),
    "bye": re.compile(r"^(?:bye|goodbye|see you(?: later)?|good night)\W*$", re.I),
    "about": re.compile(
        r"^(?:what can you do|what do you do|who are you|what are you|help|what is this|"
        r"how does this work|what should i (?:ask|try)|how are you(?: doing)?)\W*$",
        re.I,
    ),
}


def _respond_to(
    conversation: list[BaseMessage], tool_names: Collection[str], attempt: int
) -> Reply:
    question = " ".join(str(conversation[-1].text).split())
    rest = _GREETING.sub("", question, count=1)
    greeting = _pick(GREETINGS, attempt) + ABOUT
    if not rest:
        return Reply(greeting)
    if _SMALL_TALK["thanks"].match(rest):
        return Reply(_pick(THANKS_REPLY, attempt))
    if _SMALL_TALK["bye"].match(rest):
        return Reply(_pick(BYE_REPLY, attempt))
    if _SMALL_TALK["about"].match(rest):
        return Reply(greeting if rest != question else ABOUT)
    if SEARCH_TOOL not in tool_names:
        return Reply(_no_search_reply(tool_names))
    queries = search_queries(rest, _earlier_queries(conversation))
    digest = _digest(conversation)
    calls = tuple(
        PlannedCall(SEARCH_TOOL, {"query": query}, f"call_{_short_hash(digest, str(i))}")
        for i, query in enumerate(queries)
    )
    return Reply(_preamble(queries), calls)


def _no_search_reply(tool_names: Collection[str]) -> str:
    available = ", ".join(f"`{name}`" for name in sorted(tool_names))
    return (
        "I'm the offline demo model: I know no facts of my own and answer only from "
        f"`{SEARCH_TOOL}` results, but that tool is not available in this run"
        + (f" (I have {available})" if available else "")
        + ", so I cannot look anything up. Ask me again in a run that has the search tool."
    )


def _preamble(queries: list[str]) -> str:
    quoted = [f"“{q}”" for q in queries]
    if len(quoted) == 1:
        return f"Let me search for {quoted[0]}."
    listed = ", ".join(quoted[:-1]) + " and " + quoted[-1]
    count = "two" if len(quoted) == 2 else str(len(quoted))
    return f"I'll run {count} searches at once: {listed}."


_PREPOSITIONS = {"in", "of", "for", "about", "on", "at", "near", "from", "during", "within"}
_LEADS = [
    re.compile(p, re.I)
    for p in (
        r"^(?:please|so|and|also|now|then|ok(?:ay)?|can you|could you|would you|will you)\b,?\s*",
        r"^(?:tell me|show me|give me|let me know|i(?:'d| would) like to know|i want to know|"
        r"do you know)\s+(?:about\s+)?",
        r"^(?:search(?: the web)?(?: for)?|look up|find(?: out)?(?: about)?|google|research|"
        r"explain|describe|define|summari[sz]e)\s+",
        r"^(?:what|who)(?:'s|’s|\s+is|\s+are|\s+was|\s+were)\s+",
        # The question's frame, not its subject: "how do I fork…", "when was X released".
        r"^(?:how|why|when|where)(?:'s|’s|s|\s+(?:do|does|did|can|could|should|would|will|is|"
        r"are|was|were))\s+(?:(?:i|we|you)\s+)?",
        r"^how\s+to\s+",
        r"^(?:is|are)\s+(?:it|there)\s+",
        r"^i(?:'m|\s+am)?\s+(?:need|want|looking for|wondering about)\s+(?:to know\s+)?",
        r"^(?:the|a|an)\s+",
    )
]
_HOW_WORKS = re.compile(r"^how (?:does|do) (.+?) work$", re.I)
_FOLLOW_UP = re.compile(r"^(?:and\s+)?(?:what|how)\s+about\s+(.+)$", re.I)
_SPLITTERS = [
    re.compile(r"^(?:compare|comparing)\s+(.+?)\s+(?:with|to|against)\s+(.+)$", re.I),
    re.compile(r"^(?:compare|comparing)\s+(.+)$", re.I),
    re.compile(r"\bdifferences?\s+between\s+(.+)$", re.I),
]
_CONJUNCTION = re.compile(r"\s(?:and|vs\.?|versus)\s", re.I)
_LIST = re.compile(r"\s*,\s*(?:and\s+)?|\s+(?:and|vs\.?|versus)\s+", re.I)


def search_queries(question: str, earlier: Sequence[str] = ()) -> list[str]:
    """One search query per thing the question asks about (two things -> two parallel searches).

    "What's the weather in SF and LA?" -> ["weather in SF", "weather in LA"]; a follow-up such as
    "what about Paris?" reuses the head of the last query in this conversation ("weather in Paris").
    """
    text = re.sub(r"[\s?!.]+$", "", question).strip()
    text = re.sub(r",?\s+please$", "", text, flags=re.I)
    follow_up = _FOLLOW_UP.match(text)
    if follow_up:
        things = _split_things(follow_up.group(1))
        head = _head(earlier[-1]) if earlier else ""
        return [_clean(head + thing) for thing in things]
    for splitter in _SPLITTERS:
        match = splitter.search(text)
        if match:
            things = [_clean(part) for part in match.groups()]
            if len(things) == 1:
                things = _split_things(things[0])
            break
    else:
        things = _split_things(text)
    if len(things) > 1:
        things = _share_context(things)
    return things or [question.strip() or "?"]


def _split_things(text: str) -> list[str]:
    if not _CONJUNCTION.search(text):
        return [_clean(text)]
    parts = [_clean(part) for part in _LIST.split(text) if part.strip()]
    if 1 < len(parts) <= MAX_PARALLEL_SEARCHES and all(len(p.split()) <= 8 for p in parts[1:]):
        return parts
    return [_clean(text)]


def _clean(text: str) -> str:
    text = text.strip(" ,;:\"'“”")
    changed = True
    while changed:
        before = text
        if how := _HOW_WORKS.match(text):  # "how does X work" is about X
            text = how.group(1)
        for lead in _LEADS:
            text = lead.sub("", text, count=1) or text  # never down to nothing
        changed = text != before
    return text


def _head(query: str) -> str:
    """The part of `query` up to its last preposition: "weather in SF" -> "weather in "."""
    words = query.split()
    for index in range(len(words) - 1, 0, -1):
        if words[index].lower() in _PREPOSITIONS:
            return " ".join(words[: index + 1]) + " "
    return ""


def _tail(query: str) -> str:
    """The trailing prepositional phrase of `query`: "checkpoints in LangGraph" -> " in LangGraph"."""
    words = query.split()
    for index in range(1, len(words)):
        if words[index].lower() in _PREPOSITIONS:
            return " " + " ".join(words[index:])
    return ""


def _bare(query: str) -> bool:
    words = query.split()
    return len(words) <= 3 and not any(w.lower() in _PREPOSITIONS for w in words)


def _share_context(things: list[str]) -> list[str]:
    """Give short items the context the question wrote only once ("SF and LA" share "weather in")."""
    head, tail = _head(things[0]), _tail(things[-1])
    if head and all(_bare(t) for t in things[1:]):
        return [things[0], *(head + t for t in things[1:])]
    if tail and all(_bare(t) for t in things[:-1]):
        return [*(t + tail for t in things[:-1]), things[-1]]
    return things


def _earlier_queries(conversation: list[BaseMessage]) -> list[str]:
    return [
        str(call["args"].get("query", ""))
        for message in conversation
        if isinstance(message, AIMessage)
        for call in message.tool_calls
        if call["name"] == SEARCH_TOOL
    ]


def _digest(conversation: list[BaseMessage]) -> str:
    """A fingerprint of the conversation: the same history always yields the same call ids."""
    parts = [
        [
            message.type,
            str(message.text),
            [call["id"] for call in getattr(message, "tool_calls", [])],
            getattr(message, "tool_call_id", ""),
        ]
        for message in conversation
    ]
    return json.dumps(parts, ensure_ascii=False)


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


# --- answers -------------------------------------------------------------------------------------

_INSTRUCTION_LIKE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|above)\b|"
    r"\bsystem prompt\b|\byou (?:are|must) now\b|\bnew instructions\b|\bas an ai\b",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class _Outcome:
    """What one tool call came back with, as the demo model reads it."""

    kind: str  # found | nothing | given | rejected | cancelled | failed
    query: str
    results: tuple[dict[str, str], ...] = ()
    text: str = ""


@dataclass
class _Answer:
    """An answer being written: paragraphs, numbered sources, and notes for the end."""

    paragraphs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)

    def cite(self, title: str, source: str) -> int:
        entry = (title, source)
        if entry not in self.sources:
            self.sources.append(entry)
        return self.sources.index(entry) + 1


def answer_from_results(conversation: list[BaseMessage], attempt: int = 0) -> str:
    """Write the answer to the last tool calls from their results (whatever those turned out to be).

    A retry (`attempt` > 0) opens differently and cites other results or another order: the
    second attempt one more result per search, the third the results from the last one up.
    """
    outcomes = _outcomes(conversation)
    if not outcomes:
        return _pick(NOTHING_TO_ADD, attempt)
    answer = _Answer()
    style = FOUND_OPENINGS.index(_pick(FOUND_OPENINGS, attempt))
    per_query = (3 if len(outcomes) == 1 else 2) + (style == 1)
    for outcome in outcomes:
        if style == 2:
            outcome = replace(outcome, results=outcome.results[:per_query][::-1])
        answer.paragraphs.append(
            _paragraph(outcome, answer, per_query, len(outcomes) > 1, FOUND_OPENINGS[style])
        )
    if len(outcomes) > 1:
        answer.paragraphs.insert(0, SEVERAL_OPENINGS[style])
    closing = _closing(outcomes, answer)
    if closing:
        answer.paragraphs.append(closing)
    if answer.sources:
        answer.paragraphs.append("**Sources**\n" + "\n".join(_source_lines(answer.sources)))
    return "\n\n".join(answer.paragraphs)


def _outcomes(conversation: list[BaseMessage]) -> list[_Outcome]:
    for index in range(len(conversation) - 1, -1, -1):
        message = conversation[index]
        if isinstance(message, AIMessage) and message.tool_calls:
            results = {
                m.tool_call_id: m for m in conversation[index + 1 :] if isinstance(m, ToolMessage)
            }
            return [
                _read_result(call, results[call["id"]])
                for call in message.tool_calls
                if call["id"] in results
            ]
    return []


def _read_result(call: Mapping[str, Any], message: ToolMessage) -> _Outcome:
    query = str(call["args"].get("query", "")) or call["name"]
    text = str(message.text).strip()
    if message.status == "error":
        if text.startswith("Rejected by the user"):
            reason = text.removeprefix("Rejected by the user").lstrip(":").strip()
            reason = "" if reason.startswith("(no reason") else reason
            return _Outcome("rejected", query, text=reason)
        if text.startswith("Cancelled by the user"):
            return _Outcome("cancelled", query)
        return _Outcome("failed", query, text=text.removeprefix("Error:").strip())
    parsed = _search_payload(text)
    if parsed is None:
        return _Outcome("given", query, text=text)
    query = str(parsed.get("query") or query)
    results = tuple(
        {key: str(item.get(key) or "") for key in ("title", "source", "snippet")}
        for item in parsed["results"]
        if isinstance(item, dict)
    )
    return _Outcome("found" if results else "nothing", query, results)


def _search_payload(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, dict) and isinstance(parsed.get("results"), list):
        return parsed
    return None


def _paragraph(
    outcome: _Outcome, answer: _Answer, per_query: int, labelled: bool, opening_text: str
) -> str:
    """One query's part of the answer; with several queries each part is labelled with its query."""
    q = outcome.query
    search = "this search" if labelled else f"the search for “{q}”"
    opening = search[:1].upper() + search[1:]
    if outcome.kind == "found":
        sentences = []
        for rank, result in enumerate(outcome.results[:per_query]):
            number = answer.cite(result["title"] or result["source"] or q, result["source"])
            # The best result of a single search gets two sentences: a fuller answer, still short.
            sentence = _lead(result["snippet"], 2 if rank == 0 and not labelled else 1)
            if _INSTRUCTION_LIKE.search(result["snippet"] + " " + result["title"]):
                answer.flagged.append(number)
            elif sentence:
                sentences.append(f"{sentence.rstrip('.!?')} [{number}].")
        body = " ".join(sentences) or "The results had no usable text."
        return f"**{q}:** {body}" if labelled else f"{opening_text.format(q=q)} {body}"
    if outcome.kind == "nothing":
        body = f"{opening} found nothing."
    elif outcome.kind == "given" and _INSTRUCTION_LIKE.search(outcome.text):
        body = (
            f"The result I received for {search} reads like instructions to an AI rather than "
            "information, so I did not follow it."
        )
    elif outcome.kind == "given":
        body = f"The result I received for {search} says: “{_clip(outcome.text, 300)}”"
    elif outcome.kind == "rejected":
        why = f" Your reason: “{_clip(outcome.text, 200)}”." if outcome.text else ""
        body = f"You declined {search}, so I did not run it.{why}"
    elif outcome.kind == "cancelled":
        body = f"{opening} was cancelled before it ran."
    else:
        details = outcome.text.splitlines()[0] if outcome.text else "no details were given"
        body = f"{opening} failed: {_clip(details, 200)}"
    return f"**{q}:** {body}" if labelled else body


def _closing(outcomes: list[_Outcome], answer: _Answer) -> str:
    kinds = {o.kind for o in outcomes}
    notes = []
    if answer.flagged:
        cited = ", ".join(f"[{n}]" for n in answer.flagged)
        notes.append(
            f"Note: {cited} contained instructions addressed to an AI assistant. I treated them "
            "as text from the web and did not follow them."
        )
    if kinds & {"rejected", "cancelled"}:
        notes.append(
            "Without that search I can't add facts: as an offline demo model I only know what "
            "search results tell me. I won't search for it again unless you ask."
        )
    if "nothing" in kinds:
        notes.append("Try rephrasing the question with fewer or different keywords.")
    if "failed" in kinds:
        notes.append("You can ask again to retry, or edit the query when you approve the call.")
    return " ".join(notes)


def _lead(snippet: str, sentences: int) -> str:
    """The first `sentences` sentences of a snippet, clipped to a readable length."""
    text = " ".join(snippet.split())
    return _clip(" ".join(_SENTENCE_END.split(text)[:sentences]), 120 + 100 * sentences)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def _source_lines(sources: list[tuple[str, str]]) -> list[str]:
    lines = []
    for number, (title, source) in enumerate(sources, start=1):
        label = title.replace("[", "(").replace("]", ")")
        if source.startswith(("http://", "https://")):
            lines.append(f"{number}. [{label}]({source})")
        elif source:
            lines.append(f"{number}. {label} — `{source}`")
        else:
            lines.append(f"{number}. {label}")
    return lines
