"""Sidebar settings: which model, which search, which engine, how to checkpoint, when to ask.

Each choice carries one line of help about the LangGraph idea behind it, for people learning it.
A key typed here lives only in this browser session's widget state: it is never written to disk,
to the graph state or to checkpoint metadata.

For an OpenAI-compatible server the panel asks the server which models it has and offers them in a
select box (WAYPOINT_MODEL, when set, is the default); a server that cannot list them gets the
reason and a text box for the name instead.
"""

from __future__ import annotations

from typing import cast

import streamlit as st

from agent.protocol import (
    APPROVAL_HELP,
    DURABILITY_HELP,
    ENGINE_HELP,
    AgentChoices,
    ApprovalMode,
    ApprovalPolicy,
    Backend,
    Durability,
    Engine,
    ModelListError,
    RunOptions,
    User,
)

PROVIDERS = {
    "demo": "Offline demo model",
    "openai": "OpenAI",
    "compatible": "OpenAI-compatible server",
}
SEARCHES = {"offline": "Offline documents", "tavily": "Tavily web search"}
APPROVALS = {"ask": "Ask every time", "auto": "Auto-approve chosen tools", "never": "Never ask"}
# How long a server's model list (or its failure) is reused: the sidebar redraws on every click.
MODEL_LIST_TTL = 30


@st.cache_data(ttl=MODEL_LIST_TTL, show_spinner="Asking the server for its models…")
def _served_models(
    _backend: Backend, base_url: str, api_key: str | None
) -> tuple[tuple[str, ...], str | None]:
    """The server's model names, or () and the reason they could not be listed.

    Without a key typed here the backend asks with its own (OPENAI_API_KEY), which the page
    never sees; `_backend` is not part of the cache key (one backend per process)."""
    try:
        return _backend.list_models(base_url, api_key), None
    except ModelListError as problem:
        return (), str(problem)


def _compatible_model(backend: Backend, base_url: str, api_key: str | None) -> str | None:
    """A select box of the server's models; a text box when it lists none or cannot be asked."""
    names, problem = _served_models(backend, base_url, api_key) if base_url else ((), None)
    override = backend.info().model_name
    if problem:
        st.text(problem)  # plain text: it quotes the server
        return st.text_input("Model name", override or "", key="set_compat_model_name")
    if override and override not in names:
        names = (override, *names)
    if names:
        return st.selectbox(
            "Model",
            names,
            index=names.index(override) if override else 0,
            key="set_compat_model",
            help="The models this server lists (GET /v1/models); WAYPOINT_MODEL sets the default.",
        )
    if base_url:
        st.caption("The server lists no models: load or pull one there, or type a name.")
    return st.text_input("Model name", override or "", key="set_compat_model_name")


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


def settings_panel(backend: Backend, user: User) -> tuple[AgentChoices, RunOptions]:
    """Draw the settings and return what they say (with the keys `user` may use)."""
    settings = backend.info(user)
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
            if not settings.has_openai_key:
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
            api_key = (
                st.text_input(
                    "API key (if the server needs one)", type="password", key="set_compat_key"
                )
                or None
            )
            model_name = _compatible_model(backend, base_url.strip(), api_key)
        search = _radio(
            "Search",
            SEARCHES,
            "set_search",
            settings.default_search,
            "What the `web_search` tool queries: documents shipped with Waypoint (offline), or "
            "Tavily with your key.",
        )
        tavily_key = None
        if search == "tavily" and not settings.has_tavily_key:
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
            auto_tools = frozenset(
                st.multiselect("Auto-approve", settings.tool_names, key="set_auto_tools")
            )
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
