"""The run records in a thread file: one `{"run_record": {...}}` line per run, after the checkpoints.

A thread's run record (`agent.run_record`: each run's steps, times, tokens, decisions and the
LangGraph calls it made) lives in the run store, not in the checkpoints, so an export that kept
only checkpoints would give back a thread whose turns have no record. The file keeps each report
as the run store holds it (`encode_report`: plain JSON, user text already cut and keys redacted).

An imported file is untrusted, so a record is checked as strictly as a checkpoint: exactly the
fields a report has, each of its type, statuses and actions from the known sets, bounded text
and lists, and a `from_checkpoint` that names a checkpoint of the same file. The run gets a new
id (run ids are unique across threads, and a file may be imported twice).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import fields
from typing import Any

from agent.views import DecisionRecord, RunReport, StepRecord

RECORD_KEY = "run_record"
MAX_ITEMS = 1_000  # steps, decisions, calls or ids in one record
MAX_TEXT = 20_000  # characters in one text of a record (a call as Python is the longest)
STATUSES = ("done", "halted", "cancelled", "error", "lost")
ACTIONS = ("approve", "edit", "mock", "reject", "cancel", "stop")
USAGES = ("reported", "estimated", "none")
MAX_NUMBER = 2**53  # times (seconds since 1970, durations) and token counts: exact as floats

_TEXTS = ("engine",)
_OPTIONAL_TEXTS = ("error", "sent", "from_checkpoint")
_LISTS_OF_TEXT = ("calls", "message_ids", "call_ids")


class RecordProblem(ValueError):
    """What is wrong with one record line, in words (the caller adds the line and the fix)."""


def _names(kind: type) -> set[str]:
    return {f.name for f in fields(kind)}


def _exact(value: Any, kind: type, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordProblem(f"{where} is not an object")
    wanted = _names(kind)
    if set(value) != wanted:
        odd = sorted(set(value) ^ wanted)
        raise RecordProblem(f"{where} has other fields than a run record's ({', '.join(odd)})")
    return value


def _text(value: Any, where: str, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise RecordProblem(f"{where} must be text of at most {MAX_TEXT:,} characters")


def _number(value: Any, where: str, optional: bool = False) -> None:
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= MAX_NUMBER  # NaN and infinity fail this too
    ):
        raise RecordProblem(f"{where} must be a number, 0 or more (at most 2**53)")


def _count(value: Any, where: str) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMBER
    ):
        raise RecordProblem(f"{where} must be a whole number, 0 or more (at most 2**53), or null")


def _items(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise RecordProblem(f"{where} must be a list of at most {MAX_ITEMS:,} items")
    return value


def _one_of(value: Any, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise RecordProblem(f"{where} must be one of {', '.join(allowed)}")


def _step(value: Any, where: str) -> StepRecord:
    step = _exact(value, StepRecord, where)
    _text(step["node"], f"{where}.node")
    _text(step["summary"], f"{where}.summary")
    _number(step["seconds"], f"{where}.seconds")
    _count(step["tokens_in"], f"{where}.tokens_in")
    _count(step["tokens_out"], f"{where}.tokens_out")
    return StepRecord(**step)


def _decision(value: Any, where: str) -> DecisionRecord:
    decision = _exact(value, DecisionRecord, where)
    _one_of(decision["action"], ACTIONS, f"{where}.action")
    for name in ("text", "tool", "call_id"):
        _text(decision[name], f"{where}.{name}")
    return DecisionRecord(**decision)


def check_record(entry: Mapping[str, Any], checkpoints: Collection[str]) -> RunReport:
    """The run record of one line, checked, with a new run id; RecordProblem saying what is
    wrong. `checkpoints` are the file's checkpoint ids (a run ran from one of them)."""
    data = _exact(entry.get(RECORD_KEY), RunReport, f'"{RECORD_KEY}"')
    for name in _TEXTS:
        _text(data[name], name)
    for name in _OPTIONAL_TEXTS:
        _text(data[name], name, optional=True)
    _text(data["id"], "id")
    _one_of(data["status"], STATUSES, "status")
    _one_of(data["usage"], USAGES, "usage")
    _number(data["started_at"], "started_at")
    _number(data["seconds"], "seconds")
    _number(data["first_token_seconds"], "first_token_seconds", optional=True)
    for name in _LISTS_OF_TEXT:
        for index, item in enumerate(_items(data[name], name)):
            _text(item, f"{name}[{index}]")
    start = data["from_checkpoint"]
    if start is not None and start not in checkpoints:
        raise RecordProblem(f"from_checkpoint {start:.60} is not a checkpoint of this file")
    return RunReport(
        **{
            **data,
            "id": str(uuid.uuid4()),
            "steps": tuple(
                _step(s, f"steps[{i}]") for i, s in enumerate(_items(data["steps"], "steps"))
            ),
            "decisions": tuple(
                _decision(d, f"decisions[{i}]")
                for i, d in enumerate(_items(data["decisions"], "decisions"))
            ),
            **{name: tuple(data[name]) for name in _LISTS_OF_TEXT},
        }
    )
