"""What the llm node keeps: a whole, valid reply; and when it fails, nothing secret.

LangGraph stores a failed node's exception as the `__error__` pending write (its repr), which the
Inspector's writes tab, an export and the database file all show. Provider exceptions quote the
server, and some servers quote the API key back in a 401. So the llm node never lets a provider
exception reach LangGraph: it raises a `ProviderFailure` whose only text is the redacted sentence
the user sees, with no cause or context behind it.

Some replies arrive without an error and still must not be kept, because the thread would then be
broken or wrong: tool calls whose arguments are not JSON (langchain-openai files them under
`invalid_tool_calls`, the graph would end, and every later request would be refused because the
provider sees a call with no result), and a reply that never finished (a stream that stopped
without a finish reason or `[DONE]`, or empty `choices`), which would pass for a whole answer.
Each becomes a retryable failure: the step is not written, so Retry asks the model again.
A thread that already holds such calls (written before this guard, or imported) is sent without
them, so it stays usable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langchain_openai.chat_models.base import BaseChatOpenAI
from langgraph.errors import GraphBubbleUp

from agent.models import model_secrets
from agent.provider_errors import CleanError, ProviderError, ProviderFailure, describe_error

# OpenAI's rule for function names; a name outside it is model text we do not repeat to the user.
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def failure_of(error: Exception, model: BaseChatModel) -> Exception:
    """What the llm node raises instead of `error`: a clean ProviderFailure, or control flow.

    The caller must raise it outside its `except` block, so that it has no `__context__` either.
    """
    if isinstance(error, (CleanError, GraphBubbleUp)):
        return error
    return ProviderFailure(describe_error(error, model_secrets(model)))


def unkept_reply(reply: AIMessage, model: BaseChatModel) -> ProviderFailure | None:
    """Why `reply` must not be kept (as a failure to raise), or None when it is fine."""
    if reply.invalid_tool_calls:
        return ProviderFailure(_broken_calls(reply))
    # Only OpenAI-style clients report how a reply finished; other models are taken as they are.
    if isinstance(model, BaseChatOpenAI) and not reply.response_metadata.get("finish_reason"):
        if not (reply.content or reply.tool_calls):
            return ProviderFailure(
                ProviderError(
                    "The model server sent an empty reply (no message in it), so nothing was "
                    "kept. Retry to ask again; if it keeps happening, check that the server can "
                    "chat with this model.",
                    "empty_reply",
                    True,
                )
            )
        return ProviderFailure(
            ProviderError(
                "The model server stopped its reply before finishing it, so the answer was cut "
                "and not kept. Retry to ask again; if it keeps happening, check the server and "
                "any proxy in between.",
                "stream_cut",
                True,
            )
        )
    return None


def _broken_calls(reply: AIMessage) -> ProviderError:
    names = sorted({str(call.get("name") or "") for call in reply.invalid_tool_calls})
    shown = [name for name in names if _TOOL_NAME.fullmatch(name)] or ["a tool"]
    return ProviderError(
        f"The model asked for {' and '.join(shown)} with arguments that are not valid JSON, so "
        "nothing was run and its reply was not kept. Retry to ask it again; if it keeps "
        "happening, choose a model that is better at tool calling.",
        "bad_tool_call",
        True,
    )


def sendable(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """`messages` as the model may see them: without tool calls that could never be answered.

    langchain-openai sends `invalid_tool_calls` as tool calls, and no tool message answers them,
    so a provider would refuse the whole history. The stored messages are left as they are.
    """
    return [
        m.model_copy(update={"invalid_tool_calls": []})
        if isinstance(m, AIMessage) and m.invalid_tool_calls
        else m
        for m in messages
    ]
