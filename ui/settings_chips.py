"""What is in force for the next message, as compact chips above the chat input.

The settings live in the sidebar, folded, and on a phone the sidebar is closed: a learner sends a
message without seeing which engine, stream mode or durability it will run with. So the chat
shows them in one wrapping row ("Demo model · Offline search · sync engine · messages+updates ·
durability sync · ask before tools"), plus the tools this thread always allows. A chip opens to
say what its choice does and where to change it, and opens the sidebar's settings; the thread's
"always allowed" chip can take that permission back. Durability "exit" is the one choice whose
cost is not visible until something goes wrong, so it is said here, before you send.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from agent.protocol import EXIT_COST, AgentChoices, Backend, RunOptions, ThreadInfo
from ui.feedback import attempt
from ui.identity import current_user
from ui.safe_text import plain
from ui.settings_panel import EXPLANATIONS, OPEN_KEY, PROVIDERS, SERVER_ENGINE_NOTE

CHIPS_KEY = "settings_chips"
SEARCH_CHIPS = {"offline": "Offline search", "tavily": "Tavily search"}
STREAM_CHIPS = {"tokens": "messages+updates", "steps": "updates only"}
MODE_CHIPS = {"ask": "ask before tools", "never": "tools run unasked"}
RULE_CHIPS = {"ask": "ask", "allow": "auto-approve", "deny": "denied"}
MULTITASK_CHIPS = {
    "reject": "during a run: refused",
    "enqueue": "during a run: queued",
    "interrupt": "during a run: interrupts",
    "rollback": "during a run: rolls back",
}


@dataclass(frozen=True)
class Chip:
    """One choice in force: its short label, what it does, and the setting that changes it."""

    key: str
    label: str
    explanation: str
    setting: str
    icon: str


def chips(choices: AgentChoices, options: RunOptions, agent_server: bool = False) -> list[Chip]:
    """The chips for these choices, in the order of the settings; on an Agent Server the engine
    is the server's, and what a message sent during a run does is a choice of its own."""
    model = PROVIDERS[choices.provider] if choices.provider != "demo" else "Demo model"
    if choices.model_name:
        model = f"{model} · {choices.model_name}"
    found = [
        Chip(
            "model",
            model,
            EXPLANATIONS["provider"][choices.provider],
            "Model",
            ":material/smart_toy:",
        ),
        Chip(
            "search",
            SEARCH_CHIPS[choices.search],
            EXPLANATIONS["search"][choices.search],
            "Search",
            ":material/search:",
        ),
        Chip(
            "engine",
            "server's engine" if agent_server else f"{options.engine} engine",
            SERVER_ENGINE_NOTE if agent_server else EXPLANATIONS["engine"][options.engine],
            "Engine",
            ":material/settings:",
        ),
        Chip(
            "stream",
            STREAM_CHIPS["tokens" if options.stream_tokens else "steps"],
            EXPLANATIONS["stream"]["tokens" if options.stream_tokens else "steps"],
            "Stream",
            ":material/stream:",
        ),
        Chip(
            "durability",
            f"durability {options.durability}",
            EXPLANATIONS["durability"][options.durability],
            "Durability",
            ":material/save:",
        ),
    ]
    if agent_server:
        found.append(
            Chip(
                "multitask",
                MULTITASK_CHIPS[options.multitask],
                f"A message sent while a run is going: {EXPLANATIONS['multitask'][options.multitask]}",
                "While a run is going, a new message…",
                ":material/low_priority:",
            )
        )
    for where, nodes in (("before", options.pause_before), ("after", options.pause_after)):
        if nodes:
            found.append(
                Chip(
                    f"pause_{where}",
                    f"pause {where} {', '.join(nodes)}",
                    f"The next runs stop {where} {', '.join(nodes)} (a breakpoint); Continue "
                    "goes on.",
                    "Pause before" if where == "before" else "Pause after",
                    ":material/pause_circle:",
                )
            )
    policy = choices.approval
    ruled = sorted(policy.auto_tools | policy.denied_tools) if policy.mode == "auto" else []
    for tool in ruled:
        rule = policy.rule(tool)
        found.append(
            Chip(
                f"tool_{tool}",
                f"{tool}: {RULE_CHIPS[rule]}",
                f"{tool}: {EXPLANATIONS['tool'][rule]}. Tools with no chip here are asked about.",
                f"Approval → {tool}",
                ":material/front_hand:",
            )
        )
    if not ruled:
        mode = "never" if policy.mode == "never" else "ask"
        found.append(
            Chip(
                "approval",
                MODE_CHIPS[mode],
                EXPLANATIONS["approval"][mode],
                "Approval",
                ":material/front_hand:",
            )
        )
    return found


def _open_settings() -> None:
    """Open the sidebar's settings expander (a chip was clicked)."""
    st.session_state[OPEN_KEY] = True


def _chip(chip: Chip) -> None:
    with st.popover(
        plain(chip.label),
        icon=chip.icon,
        type="tertiary",
        key=f"chip_{chip.key}",
        on_change=_open_settings,
    ):
        st.text(chip.explanation)  # plain text: it may quote a model name
        st.caption(
            f"Change it in the sidebar: Settings → {chip.setting} (on a narrow screen, open the "
            "sidebar with the arrow at the top left)."
        )


def _allowed_chip(backend: Backend, thread: ThreadInfo, tool: str) -> None:
    with st.popover(
        plain(f"{tool} always allowed here"),
        icon=":material/verified_user:",
        type="tertiary",
        key=f"chip_allowed_{tool}",
    ):
        st.text(
            f"You chose “always allow {tool} in this thread” on an approval card: its calls "
            "run without asking in this thread, whatever the Approval setting says (a Deny "
            "there still wins). Other threads still ask."
        )
        if st.button("Ask again", key=f"chip_ask_again_{tool}", icon=":material/undo:"):
            attempt(lambda: backend.allow_tool(current_user(), thread.id, tool, False))


# Your own graph picks its model and search in its code: how it runs is shown, and the rules
# for the tools its HITL middleware asks about (`tool_<name>`).
RUN_CHIPS = ("engine", "stream", "durability", "multitask", "pause_before", "pause_after")


def settings_chips(
    backend: Backend,
    thread: ThreadInfo | None,
    choices: AgentChoices,
    options: RunOptions,
    own_graph: bool = False,
    agent_server: bool = False,
) -> None:
    """The chips in one wrapping row; the cost of durability "exit" under them."""
    with st.container(horizontal=True, gap="xsmall", key=CHIPS_KEY):
        for chip in chips(choices, options, agent_server):
            if not own_graph or chip.key in RUN_CHIPS or chip.key.startswith("tool_"):
                _chip(chip)
        if thread is not None:
            for tool in thread.allowed_tools:
                _allowed_chip(backend, thread, tool)
    if options.durability == "exit":
        st.warning(EXIT_COST, icon=":material/warning:")
