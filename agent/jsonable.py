"""Any value as plain JSON data, for views that cross the Backend protocol.

Its own module, below both `agent.timeline` and `agent.interrupts`, so neither has to import the
other to turn state into JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data (messages as LangChain's message_to_dict writes them)."""
    if isinstance(value, BaseMessage):
        return jsonable(message_to_dict(value))
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump())
    return repr(value)
