"""A form drawn from the JSON Schema a question carries (LangGraph's `interrupt(...,
response_schema=...)`): the answer is built from the fields, not typed as JSON by hand.

Covers what such answers usually are: an object of booleans, text, numbers, choices and lists
of text; a list of choices; a single choice or value. Anything else returns None and the caller
offers a JSON box instead. Titles and descriptions come from the graph's code and are shown as
plain text.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from ui.safe_text import LABEL_CHARS, SENTENCE_CHARS, plain

SIMPLE = ("boolean", "string", "integer", "number")


def supported(schema: dict[str, Any] | None) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "object":
        properties = schema.get("properties")
        return (
            isinstance(properties, dict)
            and bool(properties)
            and all(_field_supported(p) for p in properties.values())
        )
    return _field_supported(schema)


def _field_supported(field: Any) -> bool:
    if not isinstance(field, dict):
        return False
    if "enum" in field and isinstance(field["enum"], list):
        return True
    kind = field.get("type")
    if kind == "array":
        items = field.get("items")
        return isinstance(items, dict) and (items.get("type") == "string" or "enum" in items)
    return kind in SIMPLE


def schema_form(schema: dict[str, Any], key: str, asked: Any = None) -> str:
    """Draw the form; return the answer as JSON text. A field the schema gives no default
    starts from the question's own value of the same name (a plan asked about starts as that
    plan), so the person edits what is there rather than retypes it."""
    shown = asked if isinstance(asked, dict) else {}
    if schema.get("type") == "object":
        answer = {
            name: _field(name, field, f"{key}_{name}", shown.get(name))
            for name, field in schema["properties"].items()
        }
        return json.dumps(answer, ensure_ascii=False)
    return json.dumps(_field("Your answer", schema, key), ensure_ascii=False)


def _field(name: str, field: dict[str, Any], key: str, asked: Any = None) -> Any:
    label = plain(str(field.get("title") or name), LABEL_CHARS)
    help_text = (
        plain(str(field["description"]), SENTENCE_CHARS) if field.get("description") else None
    )
    default = field.get("default", asked)
    if isinstance(field.get("enum"), list):
        options = field["enum"]
        index = options.index(default) if default in options else 0
        return st.selectbox(
            label, options, index=index, key=key, help=help_text, format_func=_shown
        )
    kind = field.get("type")
    if kind == "boolean":
        return st.checkbox(label, value=bool(default), key=key, help=help_text)
    if kind in ("integer", "number"):
        start = default if isinstance(default, int | float) else 0
        value = st.number_input(label, value=start, key=key, help=help_text)
        return int(value) if kind == "integer" else float(value)
    if kind == "array":
        items = field["items"]
        if isinstance(items.get("enum"), list):
            chosen = default if isinstance(default, list) else []
            return st.multiselect(
                label, items["enum"], default=chosen, key=key, help=help_text, format_func=_shown
            )
        lines = "\n".join(str(v) for v in default) if isinstance(default, list) else ""
        text = st.text_area(label, lines, key=key, help=(help_text or "") + " One per line.")
        return [line.strip() for line in text.splitlines() if line.strip()]
    return st.text_input(label, str(default or ""), key=key, help=help_text)


def _shown(option: Any) -> str:
    return plain(str(option), LABEL_CHARS)
