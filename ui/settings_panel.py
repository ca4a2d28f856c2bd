"""Sidebar settings: which model, which search, which engine, how to checkpoint, when to ask.

Each choice says what it does in a caption under it (visible text, not a hover), for people
learning the LangGraph idea behind it; the chips above the chat input show what is in force.

The choices among fixed options (model kind, search, engine, stream, durability, approval and the
per-tool rules, and on an Agent Server what a message sent during a run does) are kept in the URL's query parameters (`?set_engine=async`): a reload keeps them,
and a link shared with a colleague opens with the same ones. Nothing else is: a key lives only in this browser
session's widget state (never on disk, in the graph state or in checkpoint metadata), and a base
URL or model name stays out of links too, so a link can never send your key somewhere you did not
choose. The settings expander has a key so that a chip can open it.

For an OpenAI-compatible server the panel asks the server which models it has and offers them in a
select box (WAYPOINT_MODEL, when set, is the default); a server that cannot list them gets the
reason and a text box for the name instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

import streamlit as st

from agent.protocol import (
    APPROVAL_HELP,
    DURABILITY_HELP,
    ENGINE_HELP,
    MULTITASK_HELP,
    STREAM_HELP,
    TOOL_RULE_HELP,
    AgentChoices,
    ApprovalMode,
    ApprovalPolicy,
    Backend,
    BackendInfo,
    Durability,
    Engine,
    ModelListError,
    Multitask,
    RunOptions,
    ToolRule,
    User,
)
from ui.safe_text import plain

PROVIDERS = {
    "demo": "Offline demo model",
    "openai": "OpenAI",
    "compatible": "OpenAI-compatible server",
}
PROVIDER_HELP = {
    "demo": "Runs offline: it streams tokens and makes real tool calls.",
    "openai": "OpenAI's models, with your key.",
    "compatible": "Ollama, vLLM, LM Studio, llama.cpp or any server that speaks OpenAI's API.",
}
SEARCHES = {"offline": "Offline documents", "tavily": "Tavily web search"}
SEARCH_HELP = {
    "offline": "What web_search queries: documents shipped with Waypoint, on this machine.",
    "tavily": "What web_search queries: the web through Tavily, with your key.",
}
ENGINES = {"sync": "Sync", "async": "Async"}
STREAMS = {"tokens": "Tokens and steps", "steps": "Steps only"}
APPROVALS = {"ask": "Ask every time", "auto": "Per tool", "never": "Never ask"}
TOOL_RULES: dict[str, str] = {"ask": "Ask", "allow": "Auto-approve", "deny": "Deny"}
# What each option does, by setting: the caption under the widget and a chip's text.
EXPLANATIONS: dict[str, dict[str, str]] = {
    "provider": PROVIDER_HELP,
    "search": SEARCH_HELP,
    "engine": ENGINE_HELP,
    "stream": STREAM_HELP,
    "durability": DURABILITY_HELP,
    "approval": APPROVAL_HELP,
    "tool": TOOL_RULE_HELP,
    "multitask": MULTITASK_HELP,
}
# The sidebar expander's key: a chip sets it to open the settings.
OPEN_KEY = "settings_open"
KEYS = {
    "provider": "set_provider",
    "search": "set_search",
    "engine": "set_engine",
    "stream": "set_stream",
    "durability": "set_durability",
    "approval": "set_approval",
    "multitask": "set_multitask",
}


def tool_key(tool: str) -> str:
    """The widget (and URL parameter) of one tool's rule."""
    return f"set_tool_{tool}"


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


def _radio(
    label: str,
    options: dict[str, str],
    key: str,
    default: str,
    explain: dict[str, str],
    every: bool = False,
) -> str:
    """A choice kept in the URL, with a caption saying what the chosen option does.

    Streamlit's own `bind="query-params"` would write the shown label into the URL
    ("Offline demo model"), so the value is carried by hand: read from the URL when this browser
    session has none yet (a reload, a shared link), written back after every run (a page switch
    drops the query), and left out when it is the default. With `every`, each option's
    explanation is under it, not only the chosen one's.
    """
    keys = list(options)
    wanted = st.query_params.get(key)
    if key not in st.session_state and wanted is not None:
        if wanted in options:
            st.session_state[key] = wanted
        else:
            st.warning(
                f"The link's {key}={plain(wanted)} is not a choice of {label} "
                f"({', '.join(keys)}): {default} is used.",
                icon=":material/link_off:",
            )
    chosen = st.radio(
        label,
        keys,
        # With a value already in the session, an index other than 0 makes Streamlit warn.
        index=0 if key in st.session_state else keys.index(default) if default in keys else 0,
        format_func=options.__getitem__,
        key=key,
        captions=[explain[k] for k in keys] if every else None,
    )
    if chosen == default:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = chosen
    if not every:
        st.caption(explain[chosen])
    return chosen


def _tool_rules(tool_names: tuple[str, ...]) -> dict[str, ToolRule]:
    """Ask, auto-approve or deny, for each tool."""
    rules: dict[str, ToolRule] = {}
    for name in tool_names:
        rules[name] = cast(
            ToolRule,
            _radio(
                name,
                TOOL_RULES,
                tool_key(name),
                "ask",
                {rule: f"{name}: {text}." for rule, text in TOOL_RULE_HELP.items()},
            ),
        )
    return rules


OWN_GRAPH_NOTE = (
    "Your graph chooses its own model and tools in its code, so those settings are not offered "
    "here; how it runs (engine, streaming, durability) is yours to pick, and so is how Waypoint "
    "answers the tools its human-in-the-loop middleware asks about."
)
OWN_RULES_HELP = (
    "Tool approval: Ask shows the graph's request on a card; Auto-approve answers it with "
    "approve, Deny with reject (the model reads that your setting denied it), without a card. A "
    "rule applies only where the graph's request allows that decision."
)
NO_TOOLS_YET = (
    "Tool approval: this graph has asked about no tool yet (a human-in-the-loop middleware's "
    "tools get Ask / Auto-approve / Deny here once Waypoint knows them)."
)
NO_RULES_ON_A_SERVER = (
    "Tool approval: per-tool rules are not available on an Agent Server; every request your "
    "graph asks is shown on its card, to approve, edit or reject there."
)


def _own_graph_rules(settings: BackendInfo) -> ApprovalPolicy:
    """Ask, auto-approve or deny for each tool your graph's HITL middleware guards; which of
    them the graph names itself, and which were only seen in its requests so far."""
    names = settings.tool_names
    if settings.agent_server or not names:
        st.caption(NO_RULES_ON_A_SERVER if settings.agent_server else NO_TOOLS_YET)
        return ApprovalPolicy("auto")
    known = [name for name in names if name in settings.known_tools]
    seen = [name for name in names if name not in settings.known_tools]
    said = [f"the graph names {', '.join(known)} (its middleware's interrupt_on)"] if known else []
    if seen:
        said.append(f"{', '.join(seen)} seen in its requests so far")
    st.caption(f"{OWN_RULES_HELP} Known tools: {'; '.join(said)}; others appear once asked about.")
    rules = _tool_rules(names)
    return ApprovalPolicy(
        "auto",
        frozenset(name for name, rule in rules.items() if rule == "allow"),
        frozenset(name for name, rule in rules.items() if rule == "deny"),
    )


def settings_panel(backend: Backend, user: User) -> tuple[AgentChoices, RunOptions]:
    """Draw the settings and return what they say (with the keys `user` may use)."""
    settings = backend.info(user)
    with st.expander("Settings", key=OPEN_KEY, on_change="rerun"):
        if settings.graph_name:
            st.caption(OWN_GRAPH_NOTE)
            options = _server_options() if settings.agent_server else _run_options()
            nodes = tuple(n for n in backend.graph_view().nodes if not n.startswith("__"))
            options = _with_breakpoints(options, nodes)
            return AgentChoices(approval=_own_graph_rules(settings)), options
        provider = _radio(
            "Model", PROVIDERS, KEYS["provider"], settings.default_provider, PROVIDER_HELP
        )
        model_name = api_key = base_url = None
        if provider == "openai":
            model_name = st.text_input(
                "Model name", settings.model_name or "gpt-4o-mini", key="set_model"
            )
            if not settings.has_openai_key:
                api_key = _key_input("OpenAI API key", "set_openai_key")
        elif provider == "compatible":
            base_url = st.text_input(
                "Base URL",
                settings.openai_base_url or "http://localhost:11434/v1",
                key="set_base_url",
                help="Ollama, vLLM, LM Studio, llama.cpp…",
            )
            api_key = _key_input("API key (if the server needs one)", "set_compat_key")
            model_name = _compatible_model(backend, base_url.strip(), api_key)
        search = _radio("Search", SEARCHES, KEYS["search"], settings.default_search, SEARCH_HELP)
        tavily_key = None
        if search == "tavily" and not settings.has_tavily_key:
            tavily_key = _key_input("Tavily API key", "set_tavily_key")
        options = _run_options()
        mode = _radio("Approval", APPROVALS, KEYS["approval"], "ask", APPROVAL_HELP)
        rules = _tool_rules(settings.tool_names) if mode == "auto" else {}
        for name in () if rules else settings.tool_names:
            st.query_params.pop(tool_key(name), None)  # not in force: not in the link either
    choices = AgentChoices(
        provider=provider,
        model_name=model_name or None,
        api_key=api_key,
        base_url=base_url or None,
        search=search,
        tavily_key=tavily_key,
        approval=ApprovalPolicy(
            cast(ApprovalMode, mode),
            frozenset(name for name, rule in rules.items() if rule == "allow"),
            frozenset(name for name, rule in rules.items() if rule == "deny"),
        ),
    )
    return choices, options


BREAKPOINT_HELP = (
    "Breakpoints for your next runs: the run stops before (or after) these nodes, as LangGraph's "
    "`interrupt_before` / `interrupt_after` run arguments do; Continue goes on. A replay or fork "
    "from a past checkpoint stops at them too, since each run is given them."
)


def _with_breakpoints(options: RunOptions, nodes: tuple[str, ...]) -> RunOptions:
    """Pause before / after nodes of your graph, for the next runs (this browser session)."""
    before = st.multiselect(
        "Pause before", nodes, key="set_pause_before", help=BREAKPOINT_HELP, placeholder="no node"
    )
    after = st.multiselect("Pause after", nodes, key="set_pause_after", placeholder="no node")
    if before or after:
        st.caption(BREAKPOINT_HELP)
    return replace(options, pause_before=tuple(before), pause_after=tuple(after))


def _run_options(engine: bool = True) -> RunOptions:
    """How runs go (engine, stream, durability): the same for every graph; without the engine
    choice on an Agent Server, which says so instead."""
    if engine:
        engine_choice = _radio("Engine", ENGINES, KEYS["engine"], "sync", ENGINE_HELP)
    else:
        st.caption(SERVER_ENGINE_NOTE)
        st.query_params.pop(KEYS["engine"], None)
        engine_choice = "sync"
    tokens = _radio("Stream", STREAMS, KEYS["stream"], "tokens", STREAM_HELP)
    durability = _radio(
        "Durability",
        {k: k for k in DURABILITY_HELP},
        KEYS["durability"],
        "sync",
        DURABILITY_HELP,
    )
    return RunOptions(
        engine=cast(Engine, engine_choice),
        stream_tokens=tokens == "tokens",
        durability=cast(Durability, durability),
    )


MULTITASKS = {
    "reject": "Is refused",
    "enqueue": "Waits its turn (enqueue)",
    "interrupt": "Interrupts the run",
    "rollback": "Rolls the run back",
}
SERVER_ENGINE_NOTE = (
    "Engine: the Agent Server's own. It runs the graph on its workers, so Waypoint's sync and "
    "async engines do not apply here; streaming, durability and breakpoints are sent with each run."
)


def _server_options() -> RunOptions:
    """On an Agent Server: the run options it is sent (not the engine: it is the server's), and
    what a message sent during a run does (the server's multitask strategies)."""
    options = _run_options(engine=False)
    multitask = _radio(
        "While a run is going, a new message…",
        MULTITASKS,
        KEYS["multitask"],
        "reject",
        MULTITASK_HELP,
        every=True,
    )
    return replace(options, multitask=cast(Multitask, multitask))


def _key_input(label: str, key: str) -> str | None:
    """A key, kept in this browser session only (never in the URL, never stored)."""
    typed = st.text_input(label, type="password", key=key)
    st.caption("Kept in this browser session only.")
    return typed or None
