"""Export a thread to a file a person can read, and import such a file as a new thread.

Why the whole history and not just the messages: a Waypoint thread is its checkpoints. Rewinding,
forking and answering a pending approval all work on checkpoints, so a file that kept only the
final conversation would give back a thread that can be read but not steered. The file therefore
holds every checkpoint of every branch, with its parent link, its metadata, the channel values it
stores and its pending writes (what the step that ran from it wrote, and interrupts still waiting
for a human). Importing writes those same checkpoints into a new thread through the saver, so the
imported thread has the same history, the same branches and the same pending question.

The file is UTF-8 JSON lines (`application/x-ndjson`), so it can be opened in any editor, read a
line at a time and streamed. The first line is a header, then one line per checkpoint, parents
before children, then one line per run record (`agent.transfer_records`):

    {"format": "waypoint-thread", "version": 1, "title": "weather in LA?", "exported_at": ...}
    {"checkpoint_id": "1f0...", "parent_checkpoint_id": null, "checkpoint_ns": "",
     "metadata": {"source": "input", "step": -1, ...}, "checkpoint": {"v": 4, "id": "1f0...",
     "ts": ..., "channel_values": {...}, "channel_versions": {...}, "versions_seen": {...}, ...},
     "writes": [{"task_id": ..., "task_path": ..., "channel": "messages", "value": [...]}]}

Values are plain JSON, except for a few objects JSON has no word for, written as a dict with one
key starting with "$":

    {"$message": {"type": "ai", "data": {...}}}   a LangChain message (`messages_to_dict` form)
    {"$snapshot": [...]}                          a full copy of the messages list (see below)
    {"$interrupt": {"value": ..., "id": ...}}     a question a node asked a human (approval)
    {"$tuple": [...]}                             a tuple
    {"$dict": {...}}                              a plain dict that has a key starting with "$"

Messages are stored as deltas (`agent.message_log`): a checkpoint does not copy the conversation.
The messages a step added are in the `writes` of the checkpoint it ran from; a checkpoint's
`channel_values.messages` holds a `$snapshot` (the whole list) only where LangGraph needed one (a
fork, for instance). The file keeps exactly that, so its size grows with the conversation, not
with its square.

Messages are rebuilt with `messages_from_dict`, not LangChain's general `load`: an imported file is
untrusted, and `load` can construct any serializable LangChain class a file names. Here only
messages and the three LangGraph types above can come out of a file.

Import validates everything before writing anything (see `import_thread`), and strictly: a file
is accepted only when every value has the shape LangGraph and Waypoint write (metadata, versions,
channel values, writes, interrupts), because a value of another shape would be stored and then
break the Inspector or the next run when read back. tests/test_transfer_fuzz.py imports 3,000
mutated exports and opens every view of each thread it accepts.
"""

from __future__ import annotations

import codecs
import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.constants import START
from langgraph.types import Interrupt

from agent.checkpoint_store import (
    CHECKPOINT_FORMAT,
    NewCheckpoint,
    StoredWrite,
    is_snapshot,
    make_snapshot,
    snapshot_value,
)
from agent.errors import TransferError
from agent.protocol import User
from agent.run_record import encode_report
from agent.threads import TITLE_LIMIT
from agent.transfer_records import RECORD_KEY, RecordProblem, check_record
from agent.views import RunReport, ThreadInfo

if TYPE_CHECKING:  # the backend calls these with itself; importing it here would be a cycle
    from agent.backend import LocalBackend

log = logging.getLogger(__name__)

FORMAT = "waypoint-thread"
VERSION = 2  # 2 added the run records; version 1 files (checkpoints only) still import
READS = (1, 2)
MAX_BYTES = 50 * 1024 * 1024
MAX_LINES = 100_000
IMPORTED_SUFFIX = " (imported)"

# What a reader of the file sees first: the header says what the lines are.
ABOUT = (
    "A Waypoint thread: this header, then one line per checkpoint (parents before children). "
    "A checkpoint's 'writes' are what the step that ran from it wrote (new messages are there) "
    "and any question still waiting for a human. "
    "'channel_values' holds the whole message list only where a '$snapshot' was taken. "
    "Tagged values: $message (a LangChain message), $snapshot, $interrupt (a question waiting "
    "for a human), $tuple, $dict. After the checkpoints, one 'run_record' line per run: its "
    "steps, times, tokens, decisions and LangGraph calls. Import it in Waypoint to get a new "
    "thread with this history."
)

# msgpack, which stores the checkpoints, holds integers in 64 bits; JSON has no limit.
_MIN_INT, _MAX_INT = -(2**63), 2**64 - 1
_CHANNEL_MESSAGES = "messages"
_CHANNEL_START = START
_CHECKPOINT_FIELDS = ("v", "id", "ts", "channel_values", "channel_versions", "versions_seen")
# What LangGraph writes and Waypoint shows, and nothing else: a value of another shape would be
# stored, then break the Inspector or the next run when read back (the import fuzz test finds them).
_SOURCES = ("input", "loop", "update", "fork")
_INTERRUPT, _RESUME, _ERROR, _NO_WRITES = (
    "__interrupt__",
    "__resume__",
    "__error__",
    "__no_writes__",
)
_BRANCH = "branch:to:"
_SCALARS = (str, int, float, bool, type(None))
# Metadata keys read as numbers or as text (`agent.timeline`); other keys may hold any scalar.
_METADATA_INTEGERS = ("step", "waypoint_count")
_METADATA_TEXTS = ("source", "waypoint_run", "waypoint_op", "waypoint_as_node", "waypoint_tool")


# --- values <-> JSON -----------------------------------------------------------------------------


def _encode(value: Any, where: str) -> Any:
    """`value` as JSON-ready data, with the tags described in the module docstring."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TransferError(
                f"The thread holds a number JSON cannot write ({value}) at {where}."
            )
        return value
    if isinstance(value, BaseMessage):
        return {"$message": message_to_dict(value)}
    if is_snapshot(value):  # a NamedTuple: before the tuple case
        return {"$snapshot": _encode(snapshot_value(value), f"{where}.$snapshot")}
    if isinstance(value, Interrupt):
        data = {"value": _encode(value.value, f"{where}.value"), "id": value.id}
        if value.response_schema is not None:
            data["response_schema"] = _encode(value.response_schema, f"{where}.response_schema")
        return {"$interrupt": data}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(item, f"{where}[{i}]") for i, item in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        encoded = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TransferError(
                    f"The thread holds a dict with a non-text key {key!r} at {where}; "
                    "Waypoint can export only text keys."
                )
            encoded[key] = _encode(item, f"{where}.{key}")
        return {"$dict": encoded} if any(key.startswith("$") for key in encoded) else encoded
    raise TransferError(
        f"The thread holds a {type(value).__name__} at {where}, which Waypoint cannot write to a "
        "file (it exports messages, interrupts and plain data)."
    )


class _Invalid(Exception):
    """A problem in one value; `_Reader` adds the line number and the advice."""


def _decode(value: Any, where: str) -> Any:
    """The value `_encode` wrote; raises `_Invalid` saying where and what is wrong."""
    if isinstance(value, int) and not _MIN_INT <= value <= _MAX_INT:
        raise _Invalid(f"{where} is a number too large to store ({value})")
    if isinstance(value, list):
        return [_decode(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    tag = next(iter(value), None) if len(value) == 1 else None
    if tag is None or not tag.startswith("$"):
        return {key: _decode(item, f"{where}.{key}") for key, item in value.items()}
    body = value[tag]
    inner = f"{where}.{tag}"
    if tag == "$message":
        return _decode_message(body, inner)
    if tag == "$snapshot":
        return make_snapshot(_decode(body, inner))
    if tag == "$interrupt":
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or "value" not in body:
            raise _Invalid(f'{inner} needs a "value" and a text "id"')
        schema = body.get("response_schema")
        return Interrupt(
            _decode(body["value"], f"{inner}.value"),
            body["id"],
            response_schema=None if schema is None else _decode(schema, f"{inner}.response_schema"),
        )
    if tag == "$tuple":
        if not isinstance(body, list):
            raise _Invalid(f"{inner} must be a list")
        return tuple(_decode(item, f"{inner}[{i}]") for i, item in enumerate(body))
    if tag == "$dict":
        if not isinstance(body, dict):
            raise _Invalid(f"{inner} must be an object")
        return {key: _decode(item, f"{inner}.{key}") for key, item in body.items()}
    raise _Invalid(f"{where} is tagged {tag!r}, which this version of Waypoint does not know")


def _decode_message(body: Any, where: str) -> BaseMessage:
    if not (
        isinstance(body, dict)
        and isinstance(body.get("type"), str)
        and isinstance(body.get("data"), dict)
    ):
        raise _Invalid(f'{where} is not a message: it needs a text "type" and a "data" object')
    try:
        return messages_from_dict([body])[0]
    except Exception as error:
        reason = " ".join(str(error).split())
        if len(reason) > 200:
            reason = reason[:199] + "…"
        raise _Invalid(
            f"{where} is not a message LangChain can read (type {body['type']!r}: {reason})"
        ) from error


def _require_messages(value: Any, where: str) -> None:
    """The agent's state is a list of messages: anything else would break the thread on read."""
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        if not isinstance(item, BaseMessage):
            shown = json.dumps(_encode_for_error(item))
            raise _Invalid(
                f'{where}[{index}] should be a message ({{"$message": ...}}) but is {shown[:80]}'
            )


def _encode_for_error(value: Any) -> Any:
    try:
        return _encode(value, "value")
    except TransferError:
        return repr(value)


# --- export ---------------------------------------------------------------------------------------


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _key(config: RunnableConfig | None) -> tuple[str, str] | None:
    if config is None or not config["configurable"].get("checkpoint_id"):
        return None
    configurable = config["configurable"]
    return configurable.get("checkpoint_ns", ""), configurable["checkpoint_id"]


def _parents_first(tuples: list[CheckpointTuple]) -> list[CheckpointTuple]:
    """Oldest first, and always a parent before its children, whatever the clock did.

    Checkpoint ids sort in time order, so id order is right almost always; following parent links
    makes it right always, which is what lets import check each parent link as it reads.
    """
    by_key = {key: t for t in tuples if (key := _key(t.config)) is not None}
    done: set[tuple[str, str]] = set()
    ordered: list[CheckpointTuple] = []
    for key in sorted(by_key):
        chain = []
        while key is not None and key in by_key and key not in done:
            chain.append(key)
            done.add(key)
            key = _key(by_key[key].parent_config)
        ordered.extend(by_key[k] for k in reversed(chain))
    return ordered


def _checkpoint_line(t: CheckpointTuple, writes: list[StoredWrite]) -> dict[str, Any]:
    ns, checkpoint_id = _key(t.config)  # type: ignore[misc]
    parent = _key(t.parent_config)
    where = f"checkpoint {checkpoint_id}"
    checkpoint = {
        key: (_encode(value, f"{where} channel_values") if key == "channel_values" else value)
        for key, value in t.checkpoint.items()
    }
    return {
        "checkpoint_id": checkpoint_id,
        "parent_checkpoint_id": parent[1] if parent else None,
        "checkpoint_ns": ns,
        "metadata": dict(t.metadata),
        "checkpoint": checkpoint,
        "writes": [
            {**w._asdict(), "value": _encode(w.value, f"{where} write to {w.channel}")}
            for w in writes
        ],
    }


def _dump(obj: Any) -> str:
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as error:
        raise TransferError(f"The thread holds a value JSON cannot write: {error}.") from error


def export_thread(backend: LocalBackend, user: User, thread_id: str) -> Iterator[str]:
    """The whole thread as JSON lines (each ending in a newline): a header, then every checkpoint.

    Everything is read and encoded before the first line is handed out, so a thread that cannot
    be exported raises `TransferError` (or `UnknownThread`) here rather than leaving half a file.
    Nothing secret is written: keys live only in settings and clients, never in graph state,
    config or metadata (see `agent.graph`), and that is all this reads.
    For a download: `LocalBackend.export_thread`, named `agent.protocol.export_filename(info)`.
    """
    info = backend.get_thread(user, thread_id)
    saver = _graph_saver(backend)
    tuples = _parents_first(list(saver.list({"configurable": {"thread_id": thread_id}})))
    # With task paths, which `CheckpointTuple.pending_writes` drops: LangGraph replays a step's
    # writes in (task_path, task_id, idx) order, so without them an import could reorder messages.
    writes = backend.store.thread_writes(thread_id)
    reports = backend.stored_reports(thread_id)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "title": info.title,
        "exported_at": _iso(datetime.now(UTC).timestamp()),
        "thread_id": info.id,
        "created_at": _iso(info.created_at),
        "updated_at": _iso(info.updated_at),
        "status": info.status,
        "message_count": info.message_count,
        "branch_head": info.branch_head,
        "forked_from": info.forked_from,
        "forked_at_checkpoint": info.forked_at_checkpoint,
        "checkpoints": len(tuples),
        "run_records": len(reports),
        "about": ABOUT,
    }
    lines = [_dump(header)]
    for t in tuples:
        own_writes = writes.get(_key(t.config), [])  # type: ignore[arg-type]
        lines.append(_dump(_checkpoint_line(t, own_writes)))
    lines += [_dump({RECORD_KEY: encode_report(report)}) for report in reports]
    log.info(
        "exported thread %s: %d checkpoints, %d run records", thread_id, len(tuples), len(reports)
    )
    return iter(lines)


# --- import: reading and checking -----------------------------------------------------------------

_FIX_FOREIGN = "Choose a file made by Waypoint's Export (a .waypoint.jsonl file)."
_LONE_SURROGATE = "half of a UTF-16 surrogate pair, U+D800 to U+DFFF"
_FIX_DAMAGED = (
    "The file is damaged or was edited by hand; export the thread again and import the new file."
)


def _lines(source: Iterable[str | bytes] | str | bytes) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-blank line, stopping as soon as a size limit is passed.

    Accepts the whole file (text or bytes) or any iterable of text or byte chunks, such as an open
    file or an upload; lines are split on "\\n" only, because a JSON string may hold U+2028, which
    `str.splitlines` would treat as a line break.
    """
    if isinstance(source, (bytes, bytearray, memoryview, str)):
        if len(source) > MAX_BYTES:
            raise TransferError(_too_big())
        source = [source]  # type: ignore[list-item]
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    size = 0
    number = 0
    partial: list[str] = []  # the line being read, in pieces: joined once it ends

    def finish(text: str) -> tuple[int, str]:
        nonlocal number
        number += 1
        if number > MAX_LINES:
            raise TransferError(
                f"The file has more than {MAX_LINES:,} lines, more than Waypoint imports. "
                "Export a shorter thread, or start a new thread from a checkpoint and export that."
            )
        return number, text.rstrip("\r")

    for chunk in source:
        if isinstance(chunk, str):
            try:
                size += len(chunk.encode("utf-8"))
            except UnicodeEncodeError as error:
                raise TransferError(
                    f"The file holds text that is not valid Unicode ({_LONE_SURROGATE}). "
                    f"{_FIX_DAMAGED}"
                ) from error
            text = chunk
        elif isinstance(chunk, (bytes, bytearray, memoryview)):
            size += len(chunk)
            try:
                text = decoder.decode(bytes(chunk))
            except UnicodeDecodeError as error:
                raise TransferError(
                    f"The file is not UTF-8 text (byte {size - len(chunk) + error.start:,} is "
                    f"not), so it is not a Waypoint thread file. {_FIX_FOREIGN}"
                ) from error
        else:
            raise TransferError(
                f"Cannot read a {type(chunk).__name__} as part of a file: pass the file's bytes, "
                "its text, or its lines."
            )
        if size > MAX_BYTES:
            raise TransferError(_too_big())
        if "\n" not in text:
            partial.append(text)
            continue
        first, *rest = text.split("\n")
        for line in ["".join([*partial, first]), *rest[:-1]]:
            item = finish(line)
            if item[1].strip():
                yield item
        partial = [rest[-1]]
    try:
        partial.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError as error:
        raise TransferError(
            f"The file ends in the middle of a character. {_FIX_DAMAGED}"
        ) from error
    last = "".join(partial)
    if last.strip():
        yield finish(last)


def _too_big() -> str:
    return (
        f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB, more than Waypoint imports. "
        "Export a shorter thread, or start a new thread from a checkpoint and export that."
    )


@dataclass
class _Checkpoint:
    """One checkpoint line, checked and decoded, ready for `put` and `put_writes`."""

    line: int
    ns: str
    id: str
    parent_id: str | None
    metadata: dict[str, Any]
    checkpoint: dict[str, Any]
    # (task_id, task_path, [(channel, value), ...]) in file order: one `put_writes` call each.
    writes: list[tuple[str, str, list[tuple[str, Any]]]] = field(default_factory=list)


@dataclass
class _Thread:
    header: dict[str, Any]
    checkpoints: list[_Checkpoint]
    records: list[RunReport] = field(default_factory=list)


def _parse_json(number: int, text: str, *, first: bool) -> Any:
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError as error:
        raise TransferError(
            f"Line {number} nests its values too deeply to be a Waypoint thread. {_FIX_FOREIGN}"
        ) from error
    except json.JSONDecodeError as error:
        if first:
            raise TransferError(
                f"Line {number} is not JSON ({error.msg} at column {error.colno}), so this is "
                f"not a Waypoint thread file. {_FIX_FOREIGN}"
            ) from error
        raise TransferError(
            f"Line {number} is not valid JSON ({error.msg} at column {error.colno}): it was cut "
            f"short or edited. {_FIX_DAMAGED}"
        ) from error
    except _Invalid as problem:
        raise TransferError(f"Line {number} {problem}. {_FIX_DAMAGED}") from problem
    # Only an escape can put half of a UTF-16 pair in a string (the file itself is UTF-8); such
    # text cannot be stored or shown.
    if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(value):
        raise TransferError(
            f"Line {number} holds text that is not valid Unicode ({_LONE_SURROGATE}). "
            f"{_FIX_DAMAGED}"
        )
    return value


def _no_constant(name: str) -> Any:
    raise _Invalid(f"holds {name}, a number JSON has no word for")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    return False


def _check_header(number: int, header: Any) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        told = f" (it says format {found!r})" if isinstance(found, str) else ""
        raise TransferError(
            f"This is not a Waypoint thread file: its first line should say "
            f'"format": "{FORMAT}"{told}. {_FIX_FOREIGN}'
        )
    version = header.get("version")
    if type(version) is not int or version not in READS:  # True == 1 and 1.0 == 1 in Python
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            advice = "It was made by a newer Waypoint: update Waypoint to import it."
        else:
            advice = "Export the thread again with this version of Waypoint."
        raise TransferError(
            f"This Waypoint thread file has format version {version!r}; this Waypoint reads "
            f"versions {' and '.join(map(str, READS))}. {advice}"
        )
    title = header.get("title")
    if not isinstance(title, str):
        raise TransferError(f'Line {number}: the header has no text "title". {_FIX_DAMAGED}')
    count = header.get("checkpoints")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise TransferError(
            f"Line {number}: the header does not say how many checkpoints follow "
            f'("checkpoints"). {_FIX_DAMAGED}'
        )
    records = header.get("run_records", 0 if version == 1 else None)
    if type(records) is not int or records < 0 or (version == 1 and records):
        raise TransferError(
            f"Line {number}: the header does not say how many run records follow "
            f'("run_records"). {_FIX_DAMAGED}'
        )
    for name in ("branch_head", "forked_from", "forked_at_checkpoint"):
        if header.get(name) is not None and not isinstance(header[name], str):
            raise TransferError(f"Line {number}: the header's {name!r} is not text. {_FIX_DAMAGED}")
    return {**header, "run_records": records}


def _optional_text(entry: dict, name: str) -> str | None:
    """A text field that may be null (a first checkpoint has no parent)."""
    return None if entry.get(name) is None else _text(entry, name)


def _text(entry: dict, name: str, *, empty: bool = False) -> str:
    """A text field; `empty` allows "" (the root namespace)."""
    value = entry.get(name)
    if not isinstance(value, str) or not (value or empty):
        raise _Invalid(f'"{name}" is missing or not text')
    return value


def _check_versions(checkpoint: dict[str, Any]) -> None:
    """Channel versions and the versions each node has seen: all numbers, or all text.

    LangGraph compares them to decide what runs next, so one checkpoint mixing the two kinds
    breaks every read of it (Waypoint's saver writes numbers; older threads keep text).
    """
    tables = {"channel_versions": checkpoint["channel_versions"]}
    seen = checkpoint["versions_seen"]
    if not isinstance(seen, dict):
        raise _Invalid('"checkpoint".versions_seen is not an object')
    tables.update({f"versions_seen.{node}": versions for node, versions in seen.items()})
    kinds: set[type] = set()
    for name, table in tables.items():
        if not isinstance(table, dict) or not all(
            isinstance(v, (int, float, str))
            and not isinstance(v, bool)
            and (not isinstance(v, int) or _MIN_INT <= v <= _MAX_INT)
            for v in table.values()
        ):
            raise _Invalid(f'"checkpoint".{name} must map channel names to versions')
        kinds.update(str if isinstance(v, str) else float for v in table.values())
    if len(kinds) > 1:
        raise _Invalid('"checkpoint" mixes text and number versions')


def _check_fields(checkpoint: dict[str, Any]) -> None:
    """The checkpoint's own fields, other than its channel values."""
    version = checkpoint["v"]
    if type(version) is not int or not 1 <= version <= CHECKPOINT_FORMAT:
        raise _Invalid(f'"checkpoint".v {version!r} is not a checkpoint format LangGraph reads')
    if checkpoint.get("pending_sends"):
        raise _Invalid('"checkpoint" has pending_sends, which Waypoint\'s graph never makes')
    ts = checkpoint["ts"]
    try:
        datetime.fromisoformat(ts)
    except (TypeError, ValueError) as error:
        raise _Invalid(f'"checkpoint".ts {ts!r:.60} is not a time') from error
    updated = checkpoint.get("updated_channels")
    if updated is not None and not (
        isinstance(updated, list) and all(isinstance(c, str) for c in updated)
    ):
        raise _Invalid('"checkpoint".updated_channels is not a list of channel names')
    _check_versions(checkpoint)


def _check_metadata(metadata: Any) -> dict[str, Any]:
    """Scalars, as LangGraph copies them from a run's config, plus `step` and `parents`."""
    if not isinstance(metadata, dict):
        raise _Invalid('"metadata" is missing or not an object')
    for key, value in metadata.items():
        where = f'"metadata".{key}'
        if key == "parents":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise _Invalid(f"{where} must map namespaces to checkpoint ids")
        elif key in _METADATA_INTEGERS:
            if type(value) is not int or not _MIN_INT <= value <= _MAX_INT:
                raise _Invalid(f"{where} must be a whole number")
        elif key in _METADATA_TEXTS:
            if not isinstance(value, str):
                raise _Invalid(f"{where} must be text")
        elif not isinstance(value, _SCALARS):
            raise _Invalid(f"{where} must be text, a number, true, false or null")
    if metadata.get("source") not in (None, *_SOURCES):
        raise _Invalid(f'"metadata".source must be one of {", ".join(_SOURCES)}')
    return metadata


def _require_plain(value: Any, where: str) -> None:
    """Plain data only (no message, snapshot or interrupt where none belongs)."""
    if isinstance(value, (list, tuple)) and not is_snapshot(value):
        for index, item in enumerate(value):
            _require_plain(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _require_plain(item, f"{where}.{key}")
    elif not isinstance(value, _SCALARS):
        raise _Invalid(f"{where} holds a {type(value).__name__}, which does not belong there")


def _check_interrupts(value: Any, where: str) -> None:
    """Questions for a human: Waypoint's `action` node asks only about tool calls."""
    items = value if isinstance(value, (list, tuple)) else [value]
    for index, item in enumerate(items):
        if not isinstance(item, Interrupt):
            raise _Invalid(f'{where}[{index}] should be an interrupt ({{"$interrupt": ...}})')
        _require_plain(item.value, f"{where}[{index}].value")
        _require_plain(item.response_schema, f"{where}[{index}].response_schema")
        calls = item.value.get("calls") if isinstance(item.value, dict) else None
        if not isinstance(calls, list) or not all(
            isinstance(call, dict)
            and isinstance(call.get("id"), str)
            and isinstance(call.get("name"), str)
            and isinstance(call.get("args"), dict)
            for call in calls
        ):
            raise _Invalid(
                f'{where}[{index}].value must ask about tool calls ({{"calls": [...]}}), each '
                'with a text "id" and "name" and an "args" object'
            )


def _check_value(channel: str, value: Any, where: str, channels: frozenset[str]) -> None:
    """A value for `channel`, as stored in a checkpoint or written by a step."""
    if channel == _CHANNEL_MESSAGES:
        stored = snapshot_value(value) if is_snapshot(value) else value
        _require_messages(stored, where)
    elif channel == _CHANNEL_START:
        if not isinstance(value, dict):
            raise _Invalid(f"{where} must be an object (the input of a run)")
        for key, item in value.items():
            if key == _CHANNEL_MESSAGES:
                _require_messages(item, f"{where}.messages")
            else:
                raise _Invalid(f"{where} gives {key!r:.60}, which is not part of the state")
    elif channel.startswith(_BRANCH) and channel in channels:
        if value is not None:
            raise _Invalid(f"{where} must be null (it only says the node runs next)")
    elif channel == _INTERRUPT:
        _check_interrupts(value, where)
    elif channel == _ERROR:
        if not isinstance(value, str):
            raise _Invalid(f"{where} must be the error's text")
    elif channel in (_RESUME, _NO_WRITES):
        _require_plain(value, where)
    else:
        raise _Invalid(
            f"{where} is for channel {channel!r:.60}, which Waypoint's graph does not use"
        )


def _check_checkpoint(number: int, entry: Any, channels: frozenset[str]) -> _Checkpoint:
    """Everything `put` and `put_writes` need, checked; raises `_Invalid` for the caller to word.

    `channels` are the graph's channels: values and writes for any other are refused.
    """
    if not isinstance(entry, dict):
        raise _Invalid("it is not an object")
    checkpoint_id = _text(entry, "checkpoint_id")
    try:
        canonical = str(uuid.UUID(checkpoint_id))  # LangGraph derives task ids from its digits
    except ValueError as error:
        raise _Invalid(f"checkpoint_id {checkpoint_id!r} is not a checkpoint id") from error
    if canonical != checkpoint_id:
        raise _Invalid(f"checkpoint_id {checkpoint_id!r} is not written as a checkpoint id")
    parent_id = _optional_text(entry, "parent_checkpoint_id")
    ns = _text(entry, "checkpoint_ns", empty=True)
    if ns:
        raise _Invalid(f"checkpoint_ns {ns!r:.60} names a subgraph, and Waypoint's graph has none")
    metadata = _check_metadata(entry.get("metadata"))
    raw = entry.get("checkpoint")
    if not isinstance(raw, dict):
        raise _Invalid('"checkpoint" is missing or not an object')
    missing = [name for name in _CHECKPOINT_FIELDS if name not in raw]
    if missing:
        raise _Invalid(f'"checkpoint" lacks {", ".join(map(repr, missing))}')
    if raw["id"] != checkpoint_id:
        raise _Invalid(f'"checkpoint".id {raw["id"]!r:.60} differs from checkpoint_id')
    if not isinstance(raw["channel_values"], dict):
        raise _Invalid('"checkpoint".channel_values is not an object')
    _check_fields(raw)
    checkpoint = dict(raw)
    checkpoint["channel_values"] = values = _decode(raw["channel_values"], "channel_values")
    if not isinstance(values, dict):
        raise _Invalid('"checkpoint".channel_values is a tagged value, not an object')
    for channel, value in values.items():
        if channel in (_INTERRUPT, _ERROR, _RESUME, _NO_WRITES):
            raise _Invalid(f"channel_values.{channel} is a write, not a channel")
        _check_value(channel, value, f"channel_values.{channel}", channels)
    result = _Checkpoint(number, ns, checkpoint_id, parent_id, metadata, checkpoint)
    writes = entry.get("writes")
    if not isinstance(writes, list):
        raise _Invalid('"writes" is missing or not a list')
    for index, write in enumerate(writes):
        where = f"writes[{index}]"
        if not isinstance(write, dict):
            raise _Invalid(f"{where} is not an object")
        try:
            task_id = _text(write, "task_id")
            task_path = _text(write, "task_path", empty=True)
            channel = _text(write, "channel")
        except _Invalid as problem:
            raise _Invalid(f"{where}: {problem}") from problem
        if "value" not in write:
            raise _Invalid(f'{where} has no "value"')
        value = _decode(write["value"], f"{where}.value")
        if channel == _CHANNEL_MESSAGES and is_snapshot(value):
            raise _Invalid(f"{where}.value is a snapshot, which only a checkpoint holds")
        _check_value(channel, value, f"{where}.value", channels)
        if result.writes and result.writes[-1][:2] == (task_id, task_path):
            result.writes[-1][2].append((channel, value))
        else:
            result.writes.append((task_id, task_path, [(channel, value)]))
    return result


def _read_file(source: Iterable[str | bytes] | str | bytes, channels: frozenset[str]) -> _Thread:
    """Parse and check a whole file; raises `TransferError` naming the line and the fix."""
    header: dict[str, Any] | None = None
    checkpoints: list[_Checkpoint] = []
    records: list[RunReport] = []
    known: set[tuple[str, str]] = set()
    # All lines first: an oversized file is refused before any time goes into parsing it.
    for number, text in list(_lines(source)):
        entry = _parse_json(number, text, first=header is None)
        if header is None:
            header = _check_header(number, entry)
            continue
        if records or (isinstance(entry, dict) and RECORD_KEY in entry):
            records.append(_record_line(number, entry, {cid for _, cid in known}))
            continue
        try:
            checkpoint = _check_checkpoint(number, entry, channels)
        except _Invalid as problem:
            raise TransferError(f"Line {number}: {problem}. {_FIX_DAMAGED}") from problem
        except RecursionError as error:
            raise TransferError(
                f"Line {number} nests its values too deeply to be a Waypoint thread. {_FIX_DAMAGED}"
            ) from error
        key = (checkpoint.ns, checkpoint.id)
        if key in known:
            raise TransferError(
                f"Line {number}: checkpoint {checkpoint.id} appears twice. {_FIX_DAMAGED}"
            )
        if checkpoint.parent_id is not None and (checkpoint.ns, checkpoint.parent_id) not in known:
            raise TransferError(
                f"Line {number}: checkpoint {checkpoint.id} names parent "
                f"{checkpoint.parent_id}, which no earlier line holds, so the history has a gap. "
                f"{_FIX_DAMAGED}"
            )
        known.add(key)
        checkpoints.append(checkpoint)
    if header is None:
        raise TransferError(f"The file is empty. {_FIX_FOREIGN}")
    for kind, found in (("checkpoints", checkpoints), ("run_records", records)):
        if len(found) != header[kind]:
            raise TransferError(
                f"The header promises {header[kind]} {kind.replace('_', ' ')} but the file "
                f"holds {len(found)}: it was cut short or edited. Export the thread again."
            )
    head = header.get("branch_head")
    if head is not None and ("", head) not in known:
        raise TransferError(
            f"The header's branch_head {head} is not a checkpoint in the file. {_FIX_DAMAGED}"
        )
    return _Thread(header, checkpoints, records)


def _record_line(number: int, entry: Any, checkpoints: set[str]) -> RunReport:
    """A run record line (`agent.transfer_records`): they come after every checkpoint."""
    if not isinstance(entry, dict) or RECORD_KEY not in entry:
        raise TransferError(
            f"Line {number}: after the run records only run records may follow. {_FIX_DAMAGED}"
        )
    try:
        return check_record(entry, checkpoints)
    except RecordProblem as problem:
        raise TransferError(f"Line {number}: {problem}. {_FIX_DAMAGED}") from problem


# --- import: writing ------------------------------------------------------------------------------


def imported_title(title: str) -> str:
    """ "<title> (imported)", shortened to fit the title limit; importing twice adds it once."""
    clean = " ".join(title.split())
    if clean.endswith(IMPORTED_SUFFIX.strip()) and clean != IMPORTED_SUFFIX.strip():
        clean = clean[: -len(IMPORTED_SUFFIX)].rstrip()
    clean = clean or "Thread"
    room = TITLE_LIMIT - len(IMPORTED_SUFFIX)
    if len(clean) > room:
        clean = clean[: room - 1].rsplit(" ", 1)[0] + "…"
    return clean + IMPORTED_SUFFIX


def _new_versions(checkpoint: Mapping[str, Any], parent: Mapping[str, Any] | None) -> dict:
    """The channels this checkpoint changed since its parent, as LangGraph passes to `put`.

    Waypoint's saver stores each checkpoint whole and ignores them; a saver that stores channel
    blobs per version (Postgres) needs exactly these, so they are computed rather than faked.
    """
    before = parent["channel_versions"] if parent else {}
    return {
        channel: version
        for channel, version in checkpoint["channel_versions"].items()
        if before.get(channel) != version
    }


def _graph_saver(backend: LocalBackend) -> BaseCheckpointSaver:
    """The compiled graph's saver: LangGraph's copy of Waypoint's, with the strict msgpack
    allowlist, so exported values are decoded exactly as a run would decode them."""
    saver = backend.graph.checkpointer
    if not isinstance(saver, BaseCheckpointSaver):
        raise TypeError("Transfer needs a graph compiled with a checkpoint saver.")
    return saver


def _write(backend: LocalBackend, thread_id: str, thread: _Thread) -> None:
    """The file's checkpoints into the thread, in one transaction of the store."""
    by_key = {(cp.ns, cp.id): cp.checkpoint for cp in thread.checkpoints}
    backend.store.insert_thread(
        thread_id,
        [
            NewCheckpoint(
                checkpoint_ns=cp.ns,
                parent_id=cp.parent_id,
                checkpoint=cast(Checkpoint, cp.checkpoint),  # checked field by field on reading
                metadata=cast(CheckpointMetadata, cp.metadata),
                new_versions=_new_versions(
                    cp.checkpoint, by_key.get((cp.ns, cp.parent_id)) if cp.parent_id else None
                ),
                writes=cp.writes,
            )
            for cp in thread.checkpoints
        ],
    )


def import_thread(
    backend: LocalBackend, user: User, source: Iterable[str | bytes] | str | bytes
) -> ThreadInfo:
    """A new thread of `user`'s holding the file's history; `TransferError` if it cannot be.

    The file is read and checked in full first (format, version, every line's JSON and fields,
    parent links, messages, size limits); nothing is written until it all passes. Then the thread
    gets a new id (so importing never touches an existing thread, and the same file can be imported
    twice) and its checkpoints are written in one transaction of the store
    (`CheckpointStore.insert_thread`), encoded as the saver's `put` and `put_writes` encode them,
    so they are stored exactly as runs store them (messages as deltas, compressed blobs).

    Checkpoint ids are kept. They are keys within a thread, so they cannot clash with other
    threads; they sort in time order, which is how the latest checkpoint is found; and LangGraph
    derives task ids from them, which is how a pending interrupt is matched with the task that
    asked it: remapped ids would leave an imported thread unable to take its approval decision.

    The index row is created first because the index chooses the thread id; if anything fails
    after it, the index row (and any checkpoint written) is deleted again before the error is
    raised.
    """
    thread = _read_file(source, frozenset(backend.graph.channels))
    header = thread.header
    lineage = header.get("forked_from")
    # A link to a thread the importer cannot open would be a stale link in the sidebar.
    keep_lineage = lineage is not None and backend.find_thread(user, lineage) is not None
    info = backend.threads.create(
        imported_title(header["title"]),
        owner=user.id,
        forked_from=lineage if keep_lineage else None,
        forked_at_checkpoint=header.get("forked_at_checkpoint") if keep_lineage else None,
    )
    try:
        _write(backend, info.id, thread)
        backend.persistence.runs.add_reports(
            info.id, [encode_report(record) for record in thread.records]
        )
        if header.get("branch_head"):
            backend.threads.set_branch_head(info.id, header["branch_head"])
        log.info("imported thread %s: %d checkpoints", info.id, len(thread.checkpoints))
        return backend.touch_shown(info.id)
    except BaseException as error:
        _graph_saver(backend).delete_thread(info.id)
        backend.persistence.runs.forget_threads([info.id])
        backend.threads.delete(info.id)
        if isinstance(error, Exception) and not isinstance(error, TransferError):
            raise TransferError(
                f"The file was valid but writing the thread failed ({error}); nothing was kept. "
                "Check that the database is writable and has room, then import again."
            ) from error
        raise
