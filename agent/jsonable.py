"""Any value as plain JSON data, for views that cross the Backend protocol, and state typed back
as JSON.

Its own module, below both `agent.timeline` and `agent.interrupts`, so neither has to import the
other to turn state into JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import BaseMessage, message_to_dict

from agent.errors import InputError


def state_edit(text: str, example: str) -> dict[str, Any]:
    """A state edit typed as a JSON object of channels (InputError with one sentence otherwise,
    `example` showing the shape); the caller checks the channels against its state."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"The state is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno})."
        ) from None
    if not isinstance(values, Mapping) or not values:
        raise InputError(f"Write the channels to change as a JSON object, like {example}.")
    return dict(values)


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
