"""Export and import of whole threads (`agent.transfer`), on both engines.

A thread is exported, imported as a new thread and exported again: the two files must say the same
thing, and the imported thread must behave like the original (same state and history, a pending
approval still pending, the conversation able to go on). Bad files must be refused with a sentence
that says what is wrong, and must leave the database exactly as it was.
"""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import replace

import pytest
from langchain_core.messages import HumanMessage, ToolMessage, messages_to_dict

from agent.backend import LocalBackend
from agent.choices import ApprovalPolicy
from agent.errors import TransferError, UnknownThread
from agent.protocol import EXPORT_MIME_TYPE, LOCAL_USER, export_filename
from agent.transfer import (
    FORMAT,
    MAX_BYTES,
    MAX_LINES,
    export_thread,
    import_thread,
    imported_title,
)
from agent.transfer_records import RECORD_KEY
from tests.engine_fixtures import ON_BOTH_DATABASES, engine_run, harness_for, make_harness
from tests.scripted_model import reply

NEVER_ASK = ApprovalPolicy("never")
# Per-database facts about the thread row, not about the conversation: a new row has its own.
ROW_FIELDS = {"thread_id", "title", "exported_at", "created_at", "updated_at"}
UNUSUAL_TEXT = 'naïve café ☀ — a line\u2028separator and\nnewline "quoted" {"$message": 1}'


@pytest.fixture(**ON_BOTH_DATABASES)
def h(request, data_dir):
    harness = harness_for(request, data_dir)
    yield harness
    harness.backend.close()


# --- helpers --------------------------------------------------------------------------------------


def export_text(h, thread_id: str) -> str:
    return "".join(export_thread(h.backend, LOCAL_USER, thread_id))


def parse(text: str) -> list[dict]:
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def checkpoint_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines[1:] if RECORD_KEY not in line]


def run_records(lines: list[dict]) -> list[dict]:
    return [line[RECORD_KEY] for line in lines[1:] if RECORD_KEY in line]


def assert_same_content(first: str, second: str) -> None:
    a, b = parse(first), parse(second)
    strip = lambda header: {k: v for k, v in header.items() if k not in ROW_FIELDS}  # noqa: E731
    assert strip(a[0]) == strip(b[0])
    assert checkpoint_lines(a) == checkpoint_lines(b)
    no_id = lambda record: {k: v for k, v in record.items() if k != "id"}  # noqa: E731
    assert [no_id(r) for r in run_records(a)] == [no_id(r) for r in run_records(b)]


def row_counts(h) -> dict[str, int]:
    conn = sqlite3.connect(h.backend.settings.db_path)
    try:
        return {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in (
                "waypoint_threads",
                "checkpoints",
                "writes",
                "waypoint_runs",
                "waypoint_run_events",
            )
        }
    finally:
        conn.close()


def config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def history(h, thread_id: str) -> list[tuple]:
    """Each checkpoint as the graph reads it back: ids, links, metadata, next, state, interrupts."""
    return [
        (
            s.config["configurable"]["checkpoint_id"],
            s.parent_config["configurable"]["checkpoint_id"] if s.parent_config else None,
            s.metadata,
            s.next,
            messages_to_dict(s.values.get("messages", [])),
            [(i.id, i.value) for i in s.interrupts],
        )
        for s in h.backend.graph.get_state_history(config(thread_id))
    ]


def stored(h, thread_id: str) -> list[tuple]:
    """Each checkpoint as the saver lists it: the raw checkpoint, metadata, parent and writes."""
    return [
        (
            t.checkpoint,
            t.metadata,
            t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None,
            t.pending_writes,
        )
        for t in h.backend.graph.checkpointer.list(config(thread_id))
    ]


def messages(h, thread_id: str) -> list:
    return h.backend.graph.get_state(config(thread_id)).values.get("messages", [])


def tool_thread(h):
    """A question, a search the policy lets run, its result and an answer citing it."""
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": "LA weather"})), reply("Sunny [1].")]
    h.send(thread.id, "weather in LA? " + UNUSUAL_TEXT, approval=NEVER_ASK)
    return h.backend.get_thread(LOCAL_USER, thread.id)


def halted_thread(h):
    """A thread waiting for approval of two parallel searches."""
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [
        reply("Searching.", ("web_search", {"query": "SF"}), ("web_search", {"query": "LA"}))
    ]
    h.send(thread.id, "weather in SF and LA?")
    assert h.backend.thread_view(LOCAL_USER, thread.id).waiting_for_approval
    return h.backend.get_thread(LOCAL_USER, thread.id)


def forked_thread(h):
    """A tool thread, a second turn, then a fork from before that turn with another question; the
    chat is left showing the first branch (the branch head is the "thanks" turn's last
    checkpoint)."""
    thread = tool_thread(h)
    h.model.script = [reply("You are welcome.")]
    h.send(thread.id, "thanks")
    thanks_tip = h.backend.graph.get_state(config(thread.id)).config["configurable"][
        "checkpoint_id"
    ]
    past = next(
        s
        for s in h.backend.graph.get_state_history(config(thread.id))
        if s.next == () and len(s.values["messages"]) == 4
    )
    h.backend.graph.update_state(past.config, {"messages": [HumanMessage("and in SF?")]})
    h.backend.threads.set_branch_head(thread.id, thanks_tip)
    return h.backend.touch_shown(thread.id)  # what the backend records for the shown branch


def round_trip(h, thread_id: str):
    """Export, import, export again: the new thread and both files."""
    first = export_text(h, thread_id)
    info = import_thread(h.backend, LOCAL_USER, first)
    second = export_text(h, info.id)
    return info, first, second


# --- the file -------------------------------------------------------------------------------------


def test_export_is_a_header_then_every_checkpoint_parents_first(h):
    thread = forked_thread(h)
    text = export_text(h, thread.id)
    lines = parse(text)
    header, checkpoints = lines[0], checkpoint_lines(lines)
    assert (header["format"], header["version"], header["title"]) == (FORMAT, 2, thread.title)
    assert header["thread_id"] == thread.id and header["exported_at"].endswith("+00:00")
    assert "checkpoint" in header["about"]
    assert header["checkpoints"] == len(checkpoints) == len(stored(h, thread.id))
    seen: set[str] = set()
    for line in checkpoints:
        assert line["parent_checkpoint_id"] is None or line["parent_checkpoint_id"] in seen
        seen.add(line["checkpoint_id"])
    parents = [line["parent_checkpoint_id"] for line in checkpoints]
    assert len(parents) > len(set(parents)), "the fork's parent has two children"
    # Messages are readable: a human message's text, the call's arguments, the tool's result.
    assert "naïve café ☀" in text, "text is written as text, not as escapes"
    written = [
        w["value"] for line in checkpoints for w in line["writes"] if w["channel"] == "messages"
    ]
    assert written[0][0]["$message"]["data"]["content"] == "weather in LA? " + UNUSUAL_TEXT
    kinds = [m["$message"]["type"] for value in written for m in value]
    assert {"human", "ai", "tool"} <= set(kinds)
    calls = [
        {"name": call["name"], "args": call["args"]}
        for value in written
        for m in value
        if m["$message"]["type"] == "ai"
        for call in m["$message"]["data"]["tool_calls"]
    ]
    assert {"name": "web_search", "args": {"query": "LA weather"}} in calls


def test_export_never_contains_keys(h, data_dir):
    secrets = ("sk-test-0123456789abcdef", "tvly-test-0123456789abcdef")
    keyed = LocalBackend(
        replace(h.backend.settings, openai_api_key=secrets[0], tavily_api_key=secrets[1]),
        persistence=h.backend.persistence,
        contexts=h.backend.contexts,
    )
    thread = keyed.create_thread(LOCAL_USER)
    h.model.script = [reply("", ("web_search", {"query": "x"})), reply("done")]
    h.finish(
        engine_run(
            keyed,
            keyed.send_message(
                LOCAL_USER, thread.id, "q", replace(h.choices, approval=NEVER_ASK), h.options
            ),
        )
    )
    text = "".join(export_thread(keyed, LOCAL_USER, thread.id))
    for secret in secrets:
        assert secret not in text
    assert "api_key" not in text.lower() and "sk-" not in text


def test_download_name_and_type():
    from agent.views import ThreadInfo

    info = ThreadInfo("id", "Weather in LA / SF?", 0.0, 0.0, 0, "idle")
    assert export_filename(info) == "weather-in-la-sf.waypoint.jsonl"
    assert export_filename(replace(info, title="☀☀")) == "thread.waypoint.jsonl"
    assert EXPORT_MIME_TYPE == "application/x-ndjson"


def test_export_of_an_unknown_thread_says_so(h):
    with pytest.raises(UnknownThread):
        export_thread(h.backend, LOCAL_USER, "no-such-thread")


# --- round trips ----------------------------------------------------------------------------------


def test_round_trip_keeps_tool_calls_results_and_history(h):
    thread = tool_thread(h)
    info, first, second = round_trip(h, thread.id)
    assert_same_content(first, second)
    assert info.id != thread.id and info.title == imported_title(thread.title)
    assert info.title.endswith(" (imported)")
    assert (info.status, info.message_count) == ("idle", 4)
    assert history(h, info.id) == history(h, thread.id)
    assert stored(h, info.id) == stored(h, thread.id)
    imported = messages(h, info.id)
    assert isinstance(imported[2], ToolMessage) and "LA weather" in imported[2].content
    assert imported[0].content.endswith(UNUSUAL_TEXT)
    assert (
        h.backend.thread_view(LOCAL_USER, info.id).messages
        == h.backend.thread_view(LOCAL_USER, thread.id).messages
    )


def test_round_trip_keeps_every_branch_of_a_fork(h):
    thread = forked_thread(h)
    info, first, second = round_trip(h, thread.id)
    assert_same_content(first, second)
    assert history(h, info.id) == history(h, thread.id)
    assert stored(h, info.id) == stored(h, thread.id)
    assert info.branch_head == h.backend.get_thread(LOCAL_USER, thread.id).branch_head
    assert [m.content for m in messages(h, info.id)][-1] == "and in SF?"
    # The branch left behind is still there, whole.
    old_branch = [s for s in history(h, info.id) if len(s[4]) == 6]
    assert old_branch and old_branch[0][4][-1]["data"]["content"] == "You are welcome."


def test_imported_halted_thread_still_waits_and_takes_the_decision(h):
    thread = halted_thread(h)
    info, first, second = round_trip(h, thread.id)
    assert_same_content(first, second)
    assert history(h, info.id) == history(h, thread.id)
    view = h.backend.thread_view(LOCAL_USER, info.id)
    assert view.waiting_for_approval and info.status == "waiting"
    assert [c.args for c in view.pending_calls] == [{"query": "SF"}, {"query": "LA"}]
    assert h.search.queries == []
    h.model.script = [reply("SF is foggy [1].")]
    first_call, second_call = view.pending_calls
    h.decide(
        info.id,
        {
            first_call.id: {"action": "approve"},
            second_call.id: {"action": "reject", "reason": "only SF"},
        },
    )
    assert h.search.queries == ["SF"]
    assert messages(h, info.id)[-1].content == "SF is foggy [1]."
    assert h.backend.get_thread(LOCAL_USER, info.id).status == "idle"
    # The original is untouched: still waiting for its own decision.
    assert h.backend.thread_view(LOCAL_USER, thread.id).waiting_for_approval


def test_an_imported_thread_goes_on_with_a_new_message(h):
    thread = tool_thread(h)
    info = import_thread(h.backend, LOCAL_USER, export_text(h, thread.id))
    h.model.script = [reply("It was sunny, as I said [1].")]
    h.send(info.id, "remind me?")
    shown = h.model.seen[-1]
    assert [m.content for m in shown[1:]] == [m.content for m in messages(h, thread.id)] + [
        "remind me?"
    ]
    assert messages(h, info.id)[-1].content == "It was sunny, as I said [1]."
    assert len(messages(h, thread.id)) == 4, "the original did not change"
    assert h.backend.get_thread(LOCAL_USER, info.id).message_count == 6


def test_an_imported_fork_goes_on_from_its_branch_head(h):
    thread = forked_thread(h)
    info = import_thread(h.backend, LOCAL_USER, export_text(h, thread.id))
    assert info.branch_head == thread.branch_head
    h.model.script = [reply("Foggy in SF.")]
    h.send(info.id, "SF please")
    shown = [m.content for m in h.model.seen[-1]]
    assert shown[-3:] == ["thanks", "You are welcome.", "SF please"] and "and in SF?" not in shown
    assert h.backend.thread_view(LOCAL_USER, info.id).messages[-1].text == "Foggy in SF."


def test_every_kind_of_checkpoint_waypoint_writes_round_trips(h):
    """Import refuses what Waypoint does not write, so everything it writes must pass: decisions
    of every kind, a failed step, a cancelled call, edits of text, arguments and results,
    regenerate, edit-and-resend, and a fork to a new thread."""
    thread = h.backend.create_thread(LOCAL_USER)
    h.model.script = [reply("", *(("web_search", {"query": q}) for q in "abcd"))]
    h.send(thread.id, "four searches")
    calls = [c.id for c in h.backend.thread_view(LOCAL_USER, thread.id).pending_calls]
    h.model.script = [RuntimeError("provider down")]
    decisions = [
        {"action": "approve"},
        {"action": "edit", "args": {"query": "e"}},
        {"action": "mock", "content": "mocked"},
        {"action": "reject", "reason": "no"},
    ]
    h.decide(thread.id, dict(zip(calls, decisions, strict=True)))
    h.model.script = [reply("", ("web_search", {"query": "f"}))]
    h.backend.resume(LOCAL_USER, thread.id, h.choices, h.options)
    h.finish(h.backend.runs.latest_run(thread.id))
    h.model.script = [reply("ok [1].")]
    h.send(thread.id, "never mind")
    view = h.backend.thread_view(LOCAL_USER, thread.id)
    human, ai, tool = (
        next(m for m in view.messages if m.role == r) for r in ("human", "ai", "tool")
    )
    at = view.checkpoint_id
    h.backend.edit_message(LOCAL_USER, thread.id, at, human.id, text="four searches, please")
    latest = h.backend.thread_view(LOCAL_USER, thread.id).checkpoint_id
    h.backend.edit_message(LOCAL_USER, thread.id, latest, tool.id, tool_result="rewritten")
    latest = h.backend.thread_view(LOCAL_USER, thread.id).checkpoint_id
    h.backend.edit_message(
        LOCAL_USER,
        thread.id,
        latest,
        ai.id,
        tool_args={"query": "g"},
        tool_call_id=ai.tool_calls[0].id,
    )
    h.model.script = [reply("again.")]
    h.finish(
        h.backend.regenerate(LOCAL_USER, thread.id, view.messages[-1].id, h.choices, h.options)
    )
    h.model.script = [reply("resent.")]
    h.finish(
        h.backend.edit_and_resend(
            LOCAL_USER, thread.id, human.id, "once more", h.choices, h.options
        )
    )
    fork = h.backend.fork_thread(LOCAL_USER, thread.id, at)
    written = {
        w["channel"]
        for line in checkpoint_lines(parse(export_text(h, thread.id)))
        for w in line["writes"]
    }
    assert {"__interrupt__", "__resume__", "__error__", "messages"} <= written, written
    for source in (thread.id, fork.id):
        info, first, second = round_trip(h, source)
        assert_same_content(first, second)
        assert history(h, info.id) == history(h, source)


def test_an_empty_thread_round_trips(h):
    thread = h.backend.create_thread(LOCAL_USER)
    info, first, second = round_trip(h, thread.id)
    assert parse(first)[0]["checkpoints"] == 0 and len(parse(first)) == 1
    assert_same_content(first, second)
    assert (info.title, info.message_count) == ("New thread (imported)", 0)
    h.model.script = [reply("Hello.")]
    h.send(info.id, "hi")
    assert [m.content for m in messages(h, info.id)] == ["hi", "Hello."]


def test_every_input_form_imports_the_same(h):
    thread = tool_thread(h)
    text = export_text(h, thread.id)
    data = text.encode("utf-8")
    forms = [
        text,
        data,
        b"\xef\xbb\xbf" + data,  # a byte order mark, as some editors save
        text.replace("\n", "\r\n"),
        list(export_thread(h.backend, LOCAL_USER, thread.id)),
        io.BytesIO(data),  # an upload or an open file: lines of bytes
        (data[i : i + 7] for i in range(0, len(data), 7)),  # chunks cutting characters in two
    ]
    expected = history(h, thread.id)
    for form in forms:
        info = import_thread(h.backend, LOCAL_USER, form)
        assert history(h, info.id) == expected


def test_importing_twice_makes_two_threads_and_titles_do_not_stack(h):
    thread = tool_thread(h)
    text = export_text(h, thread.id)
    one, two = (
        import_thread(h.backend, LOCAL_USER, text),
        import_thread(h.backend, LOCAL_USER, text),
    )
    assert one.id != two.id and one.title == two.title
    again = import_thread(h.backend, LOCAL_USER, export_text(h, one.id))
    assert again.title == one.title
    long = imported_title("x " * 100)
    assert long.endswith("… (imported)") and len(long) <= 80
    assert imported_title("   ") == "Thread (imported)"


def test_lineage_is_kept_only_when_the_parent_thread_is_here(h):
    parent = tool_thread(h)
    child = h.backend.threads.create(
        "child", owner="local", forked_from=parent.id, forked_at_checkpoint="cp"
    )
    text = export_text(h, child.id)
    assert import_thread(h.backend, LOCAL_USER, text).forked_from == parent.id
    foreign = text.replace(parent.id, "a-thread-of-another-database", 1)
    info = import_thread(h.backend, LOCAL_USER, foreign)
    assert (info.forked_from, info.forked_at_checkpoint) == (None, None)


# --- bad files ------------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return text.split("\n")[:-1]


def _edit_line(text: str, index: int, edit) -> str:
    lines = _lines(text)
    lines[index] = json.dumps(edit(json.loads(lines[index])), ensure_ascii=False)
    return "\n".join(lines) + "\n"


def _first_message_write(line: dict) -> dict:
    return next(w for w in line["writes"] if w["channel"] == "messages")


def _set_message(line: dict, value) -> dict:
    _first_message_write(line)["value"][0] = value
    return line


def _robot(line: dict) -> dict:
    _first_message_write(line)["value"][0]["$message"]["type"] = "robot"
    return line


def _set_metadata(**changes):
    return lambda line: {**line, "metadata": {**line["metadata"], **changes}}


def _set_checkpoint(**changes):
    return lambda line: {**line, "checkpoint": {**line["checkpoint"], **changes}}


def _set_channel(line: dict, channel: str) -> dict:
    line["writes"][-1]["channel"] = channel
    return line


def _set_record(**changes):
    return lambda line: {RECORD_KEY: {**line[RECORD_KEY], **changes}}


def _set_step(**changes):
    def edit(line: dict) -> dict:
        record = line[RECORD_KEY]
        return {RECORD_KEY: {**record, "steps": [{**record["steps"][0], **changes}]}}

    return edit


def _version(v):
    return lambda text: _edit_line(text, 0, lambda header: {**header, "version": v})


BAD_FILES = {
    "empty": (lambda text: "", "empty"),
    "empty bytes": (lambda text: b"", "empty"),
    "blank lines": (lambda text: "\n \n\n", "empty"),
    "not json": (lambda text: "Hello, this is my thread\n", "Line 1 is not JSON"),
    "not text": (lambda text: b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not UTF-8"),
    "json of another format": (
        lambda text: '{"format": "chatgpt-export", "version": 1}\n',
        "not a Waypoint thread file",
    ),
    "json but no header": (lambda text: "[1, 2, 3]\n", "not a Waypoint thread file"),
    "a checkpoint line first": (
        lambda text: "\n".join(_lines(text)[1:]) + "\n",
        "not a Waypoint thread file",
    ),
    "newer version": (_version(3), "newer Waypoint"),
    "version as text": (_version("1"), "version '1'"),
    "version as true": (_version(True), "version True"),
    "truncated line": (
        lambda text: text[: len(text) - len(_lines(text)[-1]) // 2 - 1],
        "cut short",
    ),
    "truncated at a line end": (
        lambda text: "\n".join(_lines(text)[:-1]) + "\n",
        "promises",
    ),
    "parent missing": (
        lambda text: "\n".join(_lines(text)[:2] + _lines(text)[3:]) + "\n",
        "which no earlier line holds",
    ),
    "message of unknown type": (
        lambda text: _edit_line(text, 1, _robot),
        "not a message LangChain",
    ),
    "plain dict as a message": (
        lambda text: _edit_line(text, 1, lambda line: _set_message(line, {"hello": 1})),
        "should be a message",
    ),
    "message with bad data": (
        lambda text: _edit_line(
            text,
            1,
            lambda line: _set_message(line, {"$message": {"type": "ai", "data": {"content": 42}}}),
        ),
        "not a message LangChain",
    ),
    "unknown tag": (
        lambda text: _edit_line(text, 1, lambda line: _set_message(line, {"$pickle": "x"})),
        "'$pickle'",
    ),
    "missing field": (
        lambda text: _edit_line(
            text, 2, lambda line: {k: v for k, v in line.items() if k != "metadata"}
        ),
        "metadata",
    ),
    "bad checkpoint id": (
        lambda text: _edit_line(
            text,
            1,
            lambda line: {
                **line,
                "checkpoint_id": "x",
                "checkpoint": {**line["checkpoint"], "id": "x"},
            },
        ),
        "not a checkpoint id",
    ),
    "duplicate checkpoint": (
        lambda text: "\n".join(_lines(text)[:2] + _lines(text)[1:2] + _lines(text)[2:-1]) + "\n",
        "appears twice",
    ),
    # Found by the import fuzz test (tests/test_transfer_fuzz.py): each was accepted, then the
    # Inspector raised on the thread.
    "step as text": (lambda text: _edit_line(text, 2, _set_metadata(step="1")), "whole number"),
    "parents as a list": (lambda text: _edit_line(text, 2, _set_metadata(parents=[])), "parents"),
    "run id as an object": (
        lambda text: _edit_line(text, 2, _set_metadata(waypoint_run={})),
        "must be text",
    ),
    "unknown source": (lambda text: _edit_line(text, 2, _set_metadata(source="magic")), "source"),
    "format v as text": (lambda text: _edit_line(text, 2, _set_checkpoint(v="4")), "format"),
    "mixed versions": (
        lambda text: _edit_line(text, 2, _set_checkpoint(channel_versions={"messages": "2"})),
        "mixes text and number versions",
    ),
    "time not a time": (lambda text: _edit_line(text, 2, _set_checkpoint(ts="soon")), "not a time"),
    "channel values a message": (
        lambda text: _edit_line(
            text,
            2,
            _set_checkpoint(
                channel_values={"$message": {"type": "human", "data": {"content": ""}}}
            ),
        ),
        "not an object",
    ),
    "unknown channel written": (
        lambda text: _edit_line(text, 1, lambda line: _set_channel(line, "branch:to:nowhere")),
        "does not use",
    ),
    "subgraph namespace": (
        lambda text: _edit_line(text, 1, lambda line: {**line, "checkpoint_ns": "sub"}),
        "subgraph",
    ),
    "lone surrogate": (
        lambda text: _edit_line(text, 0, lambda header: {**header, "title": "x\ud800"}),
        "not valid Unicode",
    ),
    "lone surrogate escaped": (
        lambda text: text.replace('"title": "', '"title": "\\udc00', 1).encode(),
        "not valid Unicode",
    ),
    "not a number": (lambda text: text.replace('"step": -1', '"step": NaN', 1), "NaN"),
    "run record with a field of its own": (
        lambda text: _edit_line(text, -1, _set_record(extra=1)),
        "other fields than a run record's (extra)",
    ),
    "run record of an unknown status": (
        lambda text: _edit_line(text, -1, _set_record(status="magic")),
        "status must be one of",
    ),
    "run record seconds as text": (
        lambda text: _edit_line(text, -1, _set_record(seconds="1.5")),
        "seconds must be a number",
    ),
    "run record starting after the year 285 million": (
        lambda text: _edit_line(text, -1, _set_record(started_at=10**400)),
        "started_at must be a number",
    ),
    "run record step with negative tokens": (
        lambda text: _edit_line(text, -1, _set_step(tokens_in=-1)),
        "steps[0].tokens_in must be a whole number",
    ),
    "run record of an unknown decision": (
        lambda text: _edit_line(
            text,
            -1,
            _set_record(decisions=[{"action": "delete", "text": "x", "tool": "", "call_id": ""}]),
        ),
        "decisions[0].action must be one of",
    ),
    "run record call as a number": (
        lambda text: _edit_line(text, -1, _set_record(calls=[42])),
        "calls[0] must be text",
    ),
    "run record from another thread's checkpoint": (
        lambda text: _edit_line(
            text, -1, _set_record(from_checkpoint="1f000000-0000-6000-8000-000000000000")
        ),
        "not a checkpoint of this file",
    ),
    "checkpoint after a run record": (
        lambda text: "\n".join(_lines(text) + _lines(text)[1:2]) + "\n",
        "only run records may follow",
    ),
    "run records miscounted": (
        lambda text: _edit_line(text, 0, lambda header: {**header, "run_records": 5}),
        "promises 5 run records",
    ),
    "huge file": (lambda text: b" " * (MAX_BYTES + 1), "larger than 50 MB"),
    "huge stream": (
        lambda text: (b" " * (1024 * 1024) for _ in range(10_000)),
        "larger than 50 MB",
    ),
    "too many lines": (lambda text: text + "{}\n" * MAX_LINES, f"more than {MAX_LINES:,} lines"),
}


def test_run_records_travel_with_the_thread_under_new_run_ids(h):
    thread = tool_thread(h)
    h.model.script = [reply("You are welcome.")]
    h.send(thread.id, "thanks")
    original = h.backend.thread_view(LOCAL_USER, thread.id).report
    lines = parse(export_text(h, thread.id))
    assert lines[0]["run_records"] == len(run_records(lines)) == len(original.runs) == 2
    info, first, second = round_trip(h, thread.id)
    assert_same_content(first, second)
    again = import_thread(h.backend, LOCAL_USER, first)  # the same file twice: no id clash
    for copy in (info, again):
        report = h.backend.thread_view(LOCAL_USER, copy.id).report
        assert [replace(r, id="") for r in report.runs] == [
            replace(r, id="") for r in original.runs
        ]
        assert len(report.turns) == 2, "each record is placed under its turn again"
    ids = {r.id for c in (thread, info, again) for r in h.backend.stored_reports(c.id)}
    assert len(ids) == 6


def test_a_version_1_file_without_run_records_still_imports(h):
    thread = tool_thread(h)
    lines = parse(export_text(h, thread.id))
    header = {k: v for k, v in lines[0].items() if k != "run_records"} | {"version": 1}
    old = "".join(json.dumps(line) + "\n" for line in [header, *checkpoint_lines(lines)])
    info = import_thread(h.backend, LOCAL_USER, old)
    view = h.backend.thread_view(LOCAL_USER, info.id)
    assert view.messages[-1].text == "Sunny [1]." and view.report.runs == ()


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_reason_and_writes_nothing(data_dir, case):
    h = make_harness(data_dir, "sync")
    try:
        thread = tool_thread(h)
        text = export_text(h, thread.id)
        spoil, expected = BAD_FILES[case]
        before = row_counts(h)
        with pytest.raises(TransferError) as caught:
            import_thread(h.backend, LOCAL_USER, spoil(text))
        message = str(caught.value)
        assert expected in message, message
        # A sentence that says what to do, not just what is wrong.
        assert any(word in message for word in ("Export", "export", "Choose", "update")), message
        assert row_counts(h) == before
    finally:
        h.backend.close()


def test_an_interrupt_asking_about_malformed_calls_is_refused(data_dir):
    h = make_harness(data_dir, "sync")
    try:
        lines = parse(export_text(h, halted_thread(h).id))
        asked = next(
            w
            for line in checkpoint_lines(lines)
            for w in line["writes"]
            if w["channel"] == "__interrupt__"
        )
        question = asked["value"][0]["$interrupt"]
        good = json.dumps(question["value"])
        before = row_counts(h)
        for spoil in (
            lambda: question["value"]["calls"][0].update(args="SF"),
            lambda: question.update(value=[json.loads(good)]),  # found by the fuzz test, seed 7
        ):
            question["value"] = json.loads(good)
            spoil()
            with pytest.raises(TransferError, match=r"must ask about tool calls.*export the"):
                import_thread(
                    h.backend, LOCAL_USER, "".join(json.dumps(line) + "\n" for line in lines)
                )
            assert row_counts(h) == before
    finally:
        h.backend.close()


def test_errors_name_the_line(data_dir):
    h = make_harness(data_dir, "sync")
    try:
        text = export_text(h, tool_thread(h).id)
        with pytest.raises(TransferError, match=r"^Line 2: writes\[0\]\.value\[0\]"):
            import_thread(h.backend, LOCAL_USER, _edit_line(text, 1, _robot))
        lines = _lines(text)
        with pytest.raises(TransferError, match=r"^Line 4 is not valid JSON"):
            import_thread(h.backend, LOCAL_USER, "\n".join(lines[:3] + [lines[3][:40]]) + "\n")
    finally:
        h.backend.close()


def test_a_failure_while_writing_leaves_nothing_behind(data_dir, monkeypatch):
    h = make_harness(data_dir, "sync")
    try:
        text = export_text(h, tool_thread(h).id)
        before = row_counts(h)
        serde = h.backend.graph.checkpointer.serde
        real_dumps = serde.dumps_typed
        calls = []

        def failing_dumps(value):  # the third value encoded: rows were written before it
            calls.append(1)
            if len(calls) == 3:
                raise OSError("disk full")
            return real_dumps(value)

        monkeypatch.setattr(serde, "dumps_typed", failing_dumps)
        with pytest.raises(TransferError, match="disk full.*nothing was kept"):
            import_thread(h.backend, LOCAL_USER, text)
        assert row_counts(h) == before
        monkeypatch.undo()
        assert import_thread(h.backend, LOCAL_USER, text).message_count == 4
    finally:
        h.backend.close()


def test_values_json_has_no_word_for_come_back_as_they_were():
    from langchain_core.messages import AIMessage, RemoveMessage
    from langgraph.checkpoint.serde.types import _DeltaSnapshot
    from langgraph.types import Interrupt

    from agent.transfer import _decode, _encode

    values = {
        "snapshot": _DeltaSnapshot([HumanMessage("hi", id="1"), RemoveMessage(id="1")]),
        "interrupt": [Interrupt({"calls": [{"id": "c", "args": {"$weird": 1}}]}, "i-1")],
        "tuple": ("a", 1, None),
        "dollar keys": {"$message": "just text", "other": {"$tuple": "not a tuple"}},
        "message": AIMessage("x", tool_calls=[{"id": "c", "name": "t", "args": {}}]),
    }
    encoded = json.loads(json.dumps(_encode(values, "values")))
    decoded = _decode(encoded, "values")
    assert decoded["snapshot"] == values["snapshot"]
    assert isinstance(decoded["snapshot"], _DeltaSnapshot)
    assert (decoded["interrupt"][0].value, decoded["interrupt"][0].id) == (
        values["interrupt"][0].value,
        "i-1",
    )
    assert decoded["tuple"] == ("a", 1, None) and isinstance(decoded["tuple"], tuple)
    assert decoded["dollar keys"] == values["dollar keys"]
    assert decoded["message"] == values["message"]
    with pytest.raises(TransferError, match="set"):
        _encode({"odd": {1, 2}}, "values")


@pytest.mark.parametrize(
    "spoil, expected",
    [
        (lambda line: "[" * 100_000 + "]" * 100_000, "too deeply"),
        (
            lambda line: json.dumps(
                {
                    **json.loads(line),
                    "checkpoint": {
                        **json.loads(line)["checkpoint"],
                        "channel_versions": {"messages": 2**70},
                    },
                }
            ),
            "channel_versions",
        ),
        (
            lambda line: line.replace(
                '"branch:to:llm", "value": null', '"branch:to:llm", "value": 1' + "0" * 30
            ),
            "too large",
        ),
    ],
    ids=["deep nesting", "huge version", "huge number"],
)
def test_values_that_cannot_be_stored_are_refused_before_writing(data_dir, spoil, expected):
    h = make_harness(data_dir, "sync")
    try:
        lines = _lines(export_text(h, tool_thread(h).id))
        spoiled = spoil(lines[1])
        assert spoiled != lines[1]
        before = row_counts(h)
        with pytest.raises(TransferError, match=expected):
            import_thread(h.backend, LOCAL_USER, "\n".join([lines[0], spoiled, *lines[2:]]) + "\n")
        assert row_counts(h) == before
    finally:
        h.backend.close()
