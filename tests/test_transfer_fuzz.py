"""Import fuzzing: mutated exports are either refused cleanly or give a thread every view can show.

Valid exports of a few real threads (tool calls and results, a pending approval, a fork with a
branch head) are mutated, seeded, thousands of times: fields deleted, values of the wrong type,
ids swapped for other ids, lines and lists reordered, huge values, odd unicode, truncation. Each
file is imported. A refusal must be a `TransferError` and leave the database as it was; a file
that is accepted must give a thread that the Inspector and the Chat can open everywhere: the
timeline, every checkpoint's detail, the chat view, message versions, the graph drawing, and
export (and import) again. Anything else raising is a bug in import validation.

The 3,000 files cost about 30 s of CPU (most of it opening the ~15% that are accepted);
`bench/transfer_fuzz.py` runs the same loop over more seeds.
"""

from __future__ import annotations

import copy
import json
import random
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from agent.backend import LocalBackend
from agent.choices import ApprovalPolicy
from agent.errors import TransferError
from agent.protocol import LOCAL_USER
from agent.text import call_text
from agent.tools import parse_search_output
from agent.transfer import export_thread, import_thread
from tests import page_helpers
from tests.engine_fixtures import make_harness
from tests.scripted_model import reply

FUZZ_CASES = 3000
SEED = 20261201
TABLES = ("waypoint_threads", "checkpoints", "writes")

# --- the threads that get exported ----------------------------------------------------------------


def _tool_thread(h) -> str:
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": "LA weather"})), reply("Sunny [1].")]
    h.send(thread.id, "weather in LA? naïve ☀", approval=ApprovalPolicy("never"))
    return thread.id


def _halted_thread(h) -> str:
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [
        reply("Searching.", ("web_search", {"query": "SF"}), ("web_search", {"query": "LA"}))
    ]
    h.send(thread.id, "weather in SF and LA?")
    return thread.id


def _forked_thread(h) -> str:
    """Two turns, a sibling of the second question, an edit, and the chat on the first branch."""
    thread_id = _tool_thread(h)
    h.model.script = [reply("You are welcome.")]
    h.send(thread_id, "thanks")
    config = {"configurable": {"thread_id": thread_id}}
    tip = h.backend.graph.get_state(config).config["configurable"]["checkpoint_id"]
    past = next(
        s
        for s in h.backend.graph.get_state_history(config)
        if s.next == () and len(s.values["messages"]) == 4
    )
    h.backend.graph.update_state(past.config, {"messages": [HumanMessage("and in SF?")]})
    h.backend.threads.set_branch_head(thread_id, tip)
    h.backend.touch_shown(thread_id)
    return thread_id


def build_exports(h) -> list[str]:
    """Exports of the threads above, made on `h`'s database."""
    made = [_tool_thread(h), _halted_thread(h), _forked_thread(h)]
    return ["".join(export_thread(h.backend, LOCAL_USER, thread_id)) for thread_id in made]


# --- mutations ------------------------------------------------------------------------------------

_STRANGE_TEXT = (
    "",
    " ",
    "\x00",
    "\ud800",  # a lone surrogate: valid in JSON, not in UTF-8
    "\u202e\u2028\ufeff",
    "☀" * 3,
    "e\u0301" * 5,
    "$message",
    "__start__",
    "__interrupt__",
    "action",
    "llm",
    "\U0001f600 " * 4,
)
_SWAPS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**63 - 1,
    -(2**63),
    10**30,
    "",
    "x",
    [],
    [None],
    {},
    {"a": 1},
    {"$message": {"type": "human", "data": {"content": "hi"}}},
    {"$tuple": []},
    {"$snapshot": []},
    {"$dict": {}},
    {"$interrupt": {"value": {}, "id": "i"}},
)


def _nodes(value: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in a JSON tree, containers before what they hold."""
    if isinstance(value, dict):
        for key in list(value):
            found.append((value, key))
            _nodes(value[key], found)
    elif isinstance(value, list):
        for index in range(len(value)):
            found.append((value, index))
            _nodes(value[index], found)
    return found


def _strings(lines: list[Any]) -> list[str]:
    return [
        container[key]
        for line in lines
        for container, key in _nodes(line, [])
        if isinstance(container[key], str) and len(container[key]) < 100
    ]


def _huge(rng: random.Random) -> Any:
    kind = rng.randrange(4)
    if kind == 0:
        return "A" * rng.choice((10_000, 200_000))
    if kind == 1:
        return rng.choice((2**64, -(2**63) - 1, 10**400, 1e308, -1e308))
    if kind == 2:
        nested: Any = "deep"
        for _ in range(rng.choice((30, 100, 300))):
            nested = [nested]
        return nested
    return [rng.randrange(1000) for _ in range(rng.choice((1000, 20_000)))]


def _mutate_value(rng: random.Random, lines: list[Any]) -> str:
    """Change one value somewhere in the file's JSON; return what was done."""
    line_index = rng.randrange(len(lines))
    nodes = _nodes(lines[line_index], [])
    if not nodes:
        lines[line_index] = rng.choice(_SWAPS)
        return f"line {line_index + 1} replaced"
    container, key = rng.choice(nodes)
    old = container[key]
    op = rng.choice(("delete", "swap", "id", "reorder", "huge", "unicode", "duplicate"))
    if op == "delete":
        del container[key]
    elif op == "swap":
        container[key] = copy.deepcopy(rng.choice(_SWAPS))
    elif op == "id":
        pool = _strings(lines)
        container[key] = (
            rng.choice(pool)
            if pool and rng.random() < 0.7
            else str(uuid.UUID(int=rng.getrandbits(128)))
        )
    elif op == "reorder":
        if isinstance(old, list) and len(old) > 1:
            rng.shuffle(old)
        elif isinstance(old, dict) and len(old) > 1:
            items = list(old.items())
            rng.shuffle(items)
            container[key] = dict(items)
        else:
            container[key] = [old, old]
    elif op == "huge":
        container[key] = _huge(rng)
    elif op == "unicode":
        text = rng.choice(_STRANGE_TEXT)
        container[key] = (old + text) if isinstance(old, str) and rng.random() < 0.5 else text
    else:  # duplicate: the value twice, in a list or next to itself
        if isinstance(container, list):
            container.insert(key, copy.deepcopy(old))
        else:
            container[key] = [copy.deepcopy(old), copy.deepcopy(old)]
    where = key if isinstance(key, int) else repr(key)[:40]
    return f"{op} at line {line_index + 1} key {where}"


def _mutate_lines(rng: random.Random, lines: list[Any]) -> str:
    """Move, drop or copy whole lines."""
    if len(lines) < 2:
        lines.append(copy.deepcopy(lines[0]))
        return "line copied"
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    op = rng.choice(("swap", "drop", "copy"))
    if op == "swap":
        lines[a], lines[b] = lines[b], lines[a]
    elif op == "drop":
        del lines[a]
    else:
        lines.insert(b, copy.deepcopy(lines[a]))
    return f"lines {op} {a + 1} {b + 1}"


def _mutate_text(rng: random.Random, text: str) -> tuple[str, str]:
    """Damage the file as text: cut it, or change a few characters."""
    if rng.random() < 0.5:
        cut = rng.randrange(len(text))
        return text[:cut], f"truncated at {cut}"
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        chars[rng.randrange(len(chars))] = rng.choice('{}[]",:0a\\\n \u2028')
    return "".join(chars), "characters changed"


def mutate(rng: random.Random, text: str) -> tuple[str, str]:
    """A damaged copy of an export, and what was done to it."""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    done = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if rng.random() < 0.85:
            done.append(_mutate_value(rng, lines))
        else:
            done.append(_mutate_lines(rng, lines))
    out = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if rng.random() < 0.1:
        out, damage = _mutate_text(rng, out)
        done.append(damage)
    return out, "; ".join(done)


# --- what the Inspector and the Chat open ---------------------------------------------------------


def open_every_view(backend: LocalBackend, thread_id: str, drawn: dict | None = None) -> None:
    """Everything the pages read for a thread, as they read it (through `LocalBackend`).

    `drawn` caches graph drawings by next node(s) and writers, the only input they have.
    """
    from ui.graph_view import graph_layout
    from ui.timeline_list import tree_layout

    drawn = {} if drawn is None else drawn
    view = backend.thread_view(LOCAL_USER, thread_id)
    for message in view.messages:
        if message.role == "tool":
            parse_search_output(message.text)
        for call in message.tool_calls:
            assert call_text(call.name, call.args) and call.args_json
    for call in view.pending_calls:
        assert call.args_json
    backend.message_versions(LOCAL_USER, thread_id)
    page = backend.timeline(LOCAL_USER, thread_id, limit=10_000)
    ids = [row.checkpoint_id for row in page.rows]
    assert len(ids) == page.total
    tree_layout(page.rows, page.head_id)
    for checkpoint_id in dict.fromkeys([*ids, page.head_id] if page.head_id else ids):
        detail = backend.checkpoint_detail(LOCAL_USER, thread_id, checkpoint_id)
        json.dumps(
            [detail.metadata, list(detail.raw_messages), detail.values],
            ensure_ascii=False,
            allow_nan=False,
        )
        for call in detail.pending_calls:
            assert call_text(call.name, call.args) and call.args_json
        for interrupt in detail.interrupts:
            for call in interrupt.calls:
                assert call_text(call.name, call.args)
        marks = (detail.next_nodes, detail.row.written_by)
        if marks not in drawn:
            drawn[marks] = graph_layout(backend.graph_view(), *marks)
    again = import_thread(
        backend, LOCAL_USER, "".join(export_thread(backend, LOCAL_USER, thread_id))
    )
    backend.delete_thread(LOCAL_USER, again.id)


def row_counts(backend: LocalBackend) -> tuple[int, ...]:
    """How many thread rows, checkpoints and writes the database holds."""
    counts = ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in TABLES)
    with backend.persistence.saver.cursor(transaction=False) as cur:
        return cur.execute(f"SELECT {counts}").fetchone()


def fuzz(
    backend: LocalBackend,
    exports: list[str],
    cases: int,
    seed: int,
    report: Callable[[str], None] | None = None,
) -> tuple[int, list[str]]:
    """Try `cases` mutated files; return how many were accepted and what went wrong.

    Each accepted thread is deleted after its views are opened, so after every case the
    database must hold exactly what it held before the first.
    """
    rng = random.Random(seed)
    accepted, problems = 0, []
    drawn: dict[tuple[str, ...], str] = {}
    before = row_counts(backend)
    for case in range(cases):
        text, done = mutate(rng, exports[case % len(exports)])
        try:
            info = import_thread(backend, LOCAL_USER, text)
        except TransferError as refusal:
            if not str(refusal).strip():
                problems.append(f"case {case} ({done}): an empty refusal")
            if row_counts(backend) != before:
                problems.append(f"case {case} ({done}): refused but wrote {row_counts(backend)}")
                before = row_counts(backend)
            continue
        except Exception as error:  # the test reports every kind
            problems.append(f"case {case} ({done}): import raised {error!r:.300}")
            continue
        accepted += 1
        try:
            open_every_view(backend, info.id, drawn)
        except Exception as error:
            where = traceback.extract_tb(error.__traceback__)[-1]
            problems.append(
                f"case {case} ({done}): views raised {error!r:.300} at {where.name}:{where.lineno}"
            )
        backend.delete_thread(LOCAL_USER, info.id)
        if row_counts(backend) != before:
            problems.append(f"case {case} ({done}): deleting the import left rows behind")
            before = row_counts(backend)
        if report and case % 500 == 0:
            report(f"{case} cases, {accepted} accepted, {len(problems)} problems")
    return accepted, problems


@pytest.fixture(scope="module")
def fuzz_setup(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("fuzz")
    h = make_harness(data_dir, "sync")
    yield h.backend, build_exports(h)
    h.backend.close()


def test_mutated_exports_are_refused_cleanly_or_fully_viewable(fuzz_setup):
    backend, exports = fuzz_setup
    for text in exports:  # the unmutated files pass, or the test could not tell anything apart
        open_every_view(backend, import_thread(backend, LOCAL_USER, text).id)
    accepted, problems = fuzz(backend, exports, FUZZ_CASES, SEED)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    assert FUZZ_CASES // 20 < accepted < FUZZ_CASES, "the mutations should mix good and bad files"


# Accepted files the real pages draw too: the Chat, and the Inspector at every checkpoint (AppTest
# costs ~0.1 s of CPU a page). The seed's sample holds a file (its third) that broke the Inspector
# before import checked the metadata's parents.
PAGE_SAMPLE = 3


def test_the_pages_draw_a_sample_of_accepted_mutated_files(fuzz_setup, app):
    """The Chat and the Inspector pages themselves draw threads from accepted mutated files."""
    exports = fuzz_setup[1]
    backend = page_helpers.backend()
    rng = random.Random(SEED + 1)
    drawn = 0
    app.run()
    while drawn < PAGE_SAMPLE:
        text, done = mutate(rng, exports[drawn % len(exports)])
        try:
            info = import_thread(backend, LOCAL_USER, text)
        except TransferError:
            continue
        drawn += 1
        app.query_params["thread"] = info.id
        app.switch_page("app_pages/chat.py").run()
        assert not app.exception, f"the Chat, file changed by {done}: {app.exception}"
        for row in backend.timeline(LOCAL_USER, info.id, limit=10_000).rows:
            app.query_params["checkpoint"] = row.checkpoint_id
            app.switch_page("app_pages/inspector.py").run()
            assert not app.exception, f"the Inspector, file changed by {done}: {app.exception}"
