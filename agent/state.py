"""The agent's state: one conversation, as a list of messages."""

from __future__ import annotations

from typing import Annotated

from langchain_core.messages import AnyMessage
from typing_extensions import TypedDict  # pydantic (an Agent Server's schemas) wants this one

from agent.message_log import messages_channel


class AgentState(TypedDict):
    """What every checkpoint holds. `messages` is stored as deltas (see `agent.message_log`)."""

    messages: Annotated[list[AnyMessage], messages_channel()]
