"""What changed between two checkpoints: messages by id, the other channels by version, and inside
a changed message, its text and each tool-call argument word by word.

An edit keeps a message's id, so "changed" alone says little: a tool call whose query went from
"London" to "New York" reads the same before and after when only the text is shown. The word diff
says which words went and came, as plain data (`FieldChange`) any UI can draw.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any

from langchain_core.messages import BaseMessage

from agent.message_views import message_view
from agent.timeline.versions import same_version
from agent.views import FieldChange, MessageChange, MessageView, StateDiff, ToolCallView, WordChange

DIFF_CHARS = 4_000  # of each side a word diff compares (the diff is quadratic at worst)
_TOKEN = re.compile(r"\w+\s*|[^\w\s]\s*|\s+")  # a word or a mark, with the space after it


def changed_channels(
    versions: Mapping[str, Any], parent_versions: Mapping[str, Any]
) -> tuple[str, ...]:
    """The channels other than `messages` whose version differs from the parent's, sorted."""
    return tuple(
        sorted(
            name
            for name in set(versions) | set(parent_versions)
            if name != "messages" and versions.get(name) != parent_versions.get(name)
        )
    )


def word_diff(old: str, new: str) -> tuple[WordChange, ...]:
    """`old` to `new` as runs of shared, removed and added text; joining the "same" and
    "removed" runs gives `old` back, the "same" and "added" ones `new`.

    Words are compared with the white space after them, and white space alone between two
    changes counts as changed, so a rewritten phrase reads as one removed and one added run, not
    as words and spaces interleaved."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    pieces: list[tuple[str, str, str]] = []  # (shared, removed, added) per opcode
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(("".join(a[i1:i2]), "", ""))
        else:
            pieces.append(("", "".join(a[i1:i2]), "".join(b[j1:j2])))
    runs: list[WordChange] = []
    removed, added = "", ""
    for index, (shared, gone, came) in enumerate(pieces):
        between = 0 < index < len(pieces) - 1 and shared.isspace()
        if shared and not between:
            for run in [*_changes(removed, added), WordChange("same", shared)]:
                _append(runs, run)
            removed, added = "", ""
        else:
            removed += gone or shared
            added += came or shared
    for run in _changes(removed, added):
        _append(runs, run)
    return tuple(runs)


def _changes(removed: str, added: str) -> list[WordChange]:
    """A removed and an added run; the white space both end with is shared, not changed."""
    space = len(removed) - len(removed.rstrip())
    space = min(space, len(added) - len(added.rstrip())) if added else 0
    if space and removed[-space:] == added[-space:]:
        tail = [WordChange("same", removed[-space:])]
        removed, added = removed[:-space], added[:-space]
    else:
        tail = []
    runs = [WordChange("removed", removed)] if removed else []
    return runs + ([WordChange("added", added)] if added else []) + tail


def _append(runs: list[WordChange], run: WordChange) -> None:
    if runs and runs[-1].kind == run.kind:
        runs[-1] = WordChange(run.kind, runs[-1].text + run.text)
    else:
        runs.append(run)


def _field(label: str, old: str, new: str) -> FieldChange:
    cut = len(old) > DIFF_CHARS or len(new) > DIFF_CHARS
    return FieldChange(label, word_diff(old[:DIFF_CHARS], new[:DIFF_CHARS]), cut)


def _value_text(value: Any) -> str:
    """An argument as a person reads it: a string as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _call_fields(before: ToolCallView | None, after: ToolCallView | None) -> list[FieldChange]:
    if before is None and after is not None:
        return [_field(f"{after.name}: call added", "", after.args_json)]
    if after is None and before is not None:
        return [_field(f"{before.name}: call removed", before.args_json, "")]
    assert before is not None and after is not None
    fields = []
    if before.name != after.name:
        fields.append(_field("tool", before.name, after.name))
    missing = object()
    for key in [*after.args, *(k for k in before.args if k not in after.args)]:
        old, new = before.args.get(key, missing), after.args.get(key, missing)
        if old != new:
            fields.append(
                _field(
                    f"{after.name} · {key}",
                    "" if old is missing else _value_text(old),
                    "" if new is missing else _value_text(new),
                )
            )
    return fields


def field_changes(before: MessageView, after: MessageView) -> tuple[FieldChange, ...]:
    """What changed inside one message: its text, then its tool calls (matched by call id) and
    their arguments one by one."""
    fields = [_field("text", before.text, after.text)] if before.text != after.text else []
    old_calls = {call.id: call for call in before.tool_calls}
    new_ids = {call.id for call in after.tool_calls}
    for call in after.tool_calls:
        fields += _call_fields(old_calls.get(call.id), call)
    for call in before.tool_calls:
        if call.id not in new_ids:
            fields += _call_fields(call, None)
    return tuple(fields)


def message_diff(
    before: Sequence[BaseMessage], after: Sequence[BaseMessage], channels: tuple[str, ...] = ()
) -> StateDiff:
    """Messages added, changed (with what changed inside) and removed (by id), `before` to
    `after`."""
    old = {m.id: m for m in before}
    new_ids = {m.id for m in after}
    added: list[MessageView] = []
    changed: list[MessageChange] = []
    for message in after:
        previous = old.get(message.id)
        if previous is None:
            added.append(message_view(message))
        elif not same_version(previous, message):
            was, now = message_view(previous), message_view(message)
            changed.append(MessageChange(before=was, after=now, fields=field_changes(was, now)))
    removed = tuple(message_view(m) for m in before if m.id not in new_ids)
    return StateDiff(added=tuple(added), changed=tuple(changed), removed=removed, channels=channels)
