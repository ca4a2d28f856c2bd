"""A chat model fed from a queue of scripted replies, so engine tests read like conversations.

It streams each reply word by word (tool calls arrive as tool-call chunks, like a real provider),
records every conversation it was shown, and can hold each token until a test releases it, which
lets tests stop, refresh or cancel "mid-stream" without sleeping.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field


def reply(text: str = "", *calls: tuple[str, dict[str, Any]]) -> AIMessage:
    """A scripted AI reply: text and/or tool calls given as (tool name, args)."""
    return AIMessage(
        text,
        id=f"ai-{uuid.uuid4().hex[:8]}",
        tool_calls=[
            {"id": f"call-{uuid.uuid4().hex[:8]}", "name": name, "args": args, "type": "tool_call"}
            for name, args in calls
        ],
    )


class TokenGate:
    """Lets a test hold the model before each token and release tokens one condition at a time."""

    def __init__(self) -> None:
        self._allowed = 0
        self._cond = threading.Condition()
        self.waiting = 0
        self.passed = 0
        self.open = False

    def release(self, tokens: int = 1) -> None:
        with self._cond:
            self._allowed += tokens
            self._cond.notify_all()

    def open_fully(self) -> None:
        with self._cond:
            self.open = True
            self._cond.notify_all()

    def wait_held_after(self, tokens: int, timeout: float = 10) -> bool:
        """Block until `tokens` tokens went through and the model is held at the next one."""
        with self._cond:
            return self._cond.wait_for(lambda: self.passed == tokens and self.waiting > 0, timeout)

    def pass_token(self, timeout: float = 30) -> None:
        with self._cond:
            self.waiting += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.open or self._allowed > 0, timeout)
            self.waiting -= 1
            self.passed += 1
            if not self.open and self._allowed > 0:
                self._allowed -= 1
            self._cond.notify_all()


class ScriptedChatModel(BaseChatModel):
    """Replies from `script` in order; an Exception in the script is raised instead."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: list[Any] = Field(default_factory=list)
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    gate: TokenGate | None = None

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self.seen.append(list(messages))
        if not self.script:
            raise AssertionError("the scripted model ran out of replies")
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._next(messages)
        words = message.text.split(" ") if message.text else []
        for index, word in enumerate(words):
            if self.gate is not None:
                self.gate.pass_token()
            token = word if index == len(words) - 1 else word + " "
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token, id=message.id))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk
        chunks = [
            {"id": c["id"], "name": c["name"], "args": json.dumps(c["args"]), "index": i}
            for i, c in enumerate(message.tool_calls)
        ]
        last = AIMessageChunk(content="", id=message.id, tool_call_chunks=chunks)
        last.chunk_position = "last"
        yield ChatGenerationChunk(message=last)
