"""The offline demo model: a real LangChain chat model that needs no key and no network.

Waypoint must show streaming, tool calls, approvals and time travel to someone who has no API key,
so the default model behaves like a provider's: it streams its reply token by token at a readable
pace, sends tool calls as tool-call chunks (so LangGraph's "messages" stream mode and LangChain's
chunk merging see exactly what they see from OpenAI), and answers from tool results with citations.
What it says is decided by the deterministic rules in `agent/demo_replies.py`; a regenerated
reply is worded differently (`attempt`), as a sampling model's would be.

    model = DemoChatModel(token_delay=0)
    reply = model.bind_tools([web_search]).invoke("What's the weather in SF and LA?")
    reply.tool_calls  # two web_search calls, one per city
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.demo_replies import Reply, plan_reply

MODEL_NAME = "waypoint-demo"
# In a reply's response_metadata: its usage_metadata is the demo model's own estimate (about four
# characters a token), not a provider's count; the run record says so.
USAGE_ESTIMATED = "usage_estimated"
CHARS_PER_TOKEN = 4
ARGS_PIECE = 8  # characters of tool-call arguments per streamed chunk, like a provider's deltas
_TOKEN = re.compile(r"\s*\S+")


class DemoChatModel(BaseChatModel):
    """Deterministic offline chat model that searches, cites, and respects human decisions.

    Bind tools with `bind_tools`; it only ever calls a bound tool (`web_search`), and answers
    directly when none is bound. `token_delay` is the pause before each streamed chunk, in
    seconds (0 in tests).
    """

    token_delay: float = 0.02

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": MODEL_NAME}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools the way provider models do: their schemas travel with every call."""
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _reply(self, messages: list[BaseMessage], tools: Sequence[dict] | None) -> Reply:
        names = {tool["function"]["name"] for tool in tools or ()}
        return plan_reply(messages, names, attempt(ensure_config()))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        tools: Sequence[dict] | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._reply(messages, tools)
        message = AIMessage(
            content=reply.text,
            tool_calls=[
                {"name": c.name, "args": c.args, "id": c.id, "type": "tool_call"}
                for c in reply.calls
            ],
            response_metadata=_finish(reply),
            usage_metadata=_estimate(messages, tools, reply),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        tools: Sequence[dict] | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # BaseChatModel reports each chunk to the callbacks (LangGraph's token stream) and gives
        # all chunks of this message the run's id; doing either here would double them.
        for chunk in _chunks(self._reply(messages, tools), messages, tools):
            if self.token_delay > 0:
                time.sleep(self.token_delay)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        *,
        tools: Sequence[dict] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # Native async, so cancelling a run's task stops the stream at once (no worker thread).
        for chunk in _chunks(self._reply(messages, tools), messages, tools):
            if self.token_delay > 0:
                await asyncio.sleep(self.token_delay)
            yield chunk


def attempt(config: RunnableConfig) -> int:
    """Which try at this reply the call is (`plan_reply`'s `attempt`), from the run's config.

    A run from the thread's latest state is a first attempt (0). A run from a past checkpoint
    (Regenerate, Replay: Waypoint sets its `checkpoint_id`, which LangChain copies into the
    metadata) is a retry: LangGraph forks there and the llm node runs one step later for each
    retry along a branch (`langgraph_step`), so the step numbers the retries, consecutive ones
    differ, and the same retry always writes the same reply.
    """
    metadata = config.get("metadata") or {}
    if not metadata.get("checkpoint_id"):
        return 0
    step = metadata.get("langgraph_step")
    return 1 + step if isinstance(step, int) and step >= 0 else 1


def _finish(reply: Reply) -> dict[str, Any]:
    return {
        "finish_reason": "tool_calls" if reply.calls else "stop",
        "model_name": MODEL_NAME,
        USAGE_ESTIMATED: True,
    }


def _estimate(
    messages: Sequence[BaseMessage], tools: Sequence[dict] | None, reply: Reply
) -> UsageMetadata:
    """Tokens in and out as a provider would count them, roughly: characters / 4, rounded up."""
    sent = sum(len(m.text) for m in messages) + len(json.dumps(list(tools or ())))
    written = len(reply.text) + sum(len(c.name) + len(json.dumps(c.args)) for c in reply.calls)
    tokens_in, tokens_out = -(-sent // CHARS_PER_TOKEN), -(-written // CHARS_PER_TOKEN)
    return UsageMetadata(
        input_tokens=tokens_in, output_tokens=tokens_out, total_tokens=tokens_in + tokens_out
    )


def _chunks(
    reply: Reply, messages: Sequence[BaseMessage], tools: Sequence[dict] | None
) -> Iterator[ChatGenerationChunk]:
    """The reply as a provider would stream it: text tokens, then each call's id/name, then args."""
    for token in _TOKEN.findall(reply.text):
        yield ChatGenerationChunk(message=AIMessageChunk(content=token))
    for index, call in enumerate(reply.calls):
        args = json.dumps(call.args, ensure_ascii=False)
        yield _call_chunk(name=call.name, args="", id=call.id, index=index)
        for start in range(0, len(args), ARGS_PIECE):
            yield _call_chunk(
                name=None, args=args[start : start + ARGS_PIECE], id=None, index=index
            )
    last = AIMessageChunk(
        content="",
        chunk_position="last",
        response_metadata=_finish(reply),
        usage_metadata=_estimate(messages, tools, reply),
    )
    yield ChatGenerationChunk(message=last)


def _call_chunk(**fields: Any) -> ChatGenerationChunk:
    return ChatGenerationChunk(
        message=AIMessageChunk(content="", tool_call_chunks=[tool_call_chunk(**fields)])
    )
