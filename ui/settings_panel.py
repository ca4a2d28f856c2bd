"""Sidebar settings: which model, which search, which engine, how to checkpoint, when to ask.

Each choice carries one line of help about the LangGraph idea behind it, for people learning it.
A key typed here lives only in this browser session's widget state: it is never written to disk,
to the graph state or to checkpoint metadata.
"""

from __future__ import annotations

from typing import cast

import streamlit as st

from agent.approval import APPROVAL_HELP, ApprovalMode, ApprovalPolicy
from agent.context import AgentChoices
from agent.runs import DURABILITY_HELP, ENGINE_HELP, Durability, Engine, RunOptions
from agent.settings import Settings

PROVIDERS = {
    "demo": "Offline demo model",
    "openai": "OpenAI",
    "compatible": "OpenAI-compatible server",
}
SEARCHES = {"offline": "Offline documents", "tavily": "Tavily web search"}
APPROVALS = {"ask": "Ask every time", "auto": "Auto-approve chosen tools", "never": "Never ask"}
TOOL_NAMES = ("web_search",)


def _radio(label: str, options: dict[str, str], key: str, default: str, help: str) -> str:
    keys = list(options)
    return st.radio(
        label,
        keys,
        index=keys.index(default) if default in keys else 0,
        format_func=options.__getitem__,
        key=key,
        help=help,
    )


def settings_panel(settings: Settings) -> tuple[AgentChoices, RunOptions]:
    """Draw the settings and return what they say."""
    with st.expander("Settings", expanded=False):
        provider = _radio(
            "Model",
            PROVIDERS,
            "set_provider",
            settings.default_provider,
            "The chat model behind the `llm` node. The demo model runs offline and makes real "
            "tool calls; the others use your key.",
        )
        model_name = api_key = base_url = None
        if provider == "openai":
            model_name = st.text_input(
                "Model name", settings.model_name or "gpt-4o-mini", key="set_model"
            )
            if not settings.openai_api_key:
                api_key = (
                    st.text_input(
                        "OpenAI API key",
                        type="password",
                        key="set_openai_key",
                        help="Kept in this browser session only.",
                    )
                    or None
                )
        elif provider == "compatible":
            base_url = st.text_input(
                "Base URL",
                settings.openai_base_url or "http://localhost:11434/v1",
                key="set_base_url",
                help="Ollama, vLLM, LM Studio, llama.cpp…",
            )
            model_name = st.text_input(
                "Model name", settings.model_name or "", key="set_compat_model"
            )
            api_key = (
                st.text_input(
                    "API key (if the server needs one)", type="password", key="set_compat_key"
                )
                or None
            )
        search = _radio(
            "Search",
            SEARCHES,
            "set_search",
            settings.default_search,
            "What the `web_search` tool queries: documents shipped with Waypoint (offline), or "
            "Tavily with your key.",
        )
        tavily_key = None
        if search == "tavily" and not settings.tavily_api_key:
            tavily_key = (
                st.text_input(
                    "Tavily API key",
                    type="password",
                    key="set_tavily_key",
                    help="Kept in this browser session only.",
                )
                or None
            )
        engine = _radio(
            "Engine",
            {"sync": "Sync", "async": "Async"},
            "set_engine",
            "sync",
            " · ".join(f"{k}: {v}" for k, v in ENGINE_HELP.items()),
        )
        tokens = _radio(
            "Stream",
            {"tokens": "Tokens and steps", "steps": "Steps only"},
            "set_stream",
            "tokens",
            'stream_mode="messages" sends each token as the model writes it; "updates" sends '
            "each node's output when the node finishes.",
        )
        durability = _radio(
            "Durability",
            {k: k for k in DURABILITY_HELP},
            "set_durability",
            "sync",
            " · ".join(f"{k}: {v}" for k, v in DURABILITY_HELP.items()),
        )
        mode = _radio(
            "Approval", APPROVALS, "set_approval", "ask", " · ".join(APPROVAL_HELP.values())
        )
        auto_tools: frozenset[str] = frozenset()
        if mode == "auto":
            auto_tools = frozenset(st.multiselect("Auto-approve", TOOL_NAMES, key="set_auto_tools"))
    choices = AgentChoices(
        provider=provider,
        model_name=model_name or None,
        api_key=api_key,
        base_url=base_url or None,
        search=search,
        tavily_key=tavily_key,
        approval=ApprovalPolicy(cast(ApprovalMode, mode), auto_tools),
    )
    return choices, RunOptions(
        engine=cast(Engine, engine),
        stream_tokens=tokens == "tokens",
        durability=cast(Durability, durability),
    )
