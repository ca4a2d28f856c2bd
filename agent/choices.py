"""What a user picks for a run: model, search, approval, engine, durability, as plain data.

The sidebar builds these and every run call takes them, so they are part of the backend's
protocol: frozen dataclasses and literals with the one-line help each choice shows, importing
nothing of LangChain or LangGraph. Keys are masked in repr and never persisted: they live in these
objects (in the browser session) and in the clients built from them, nowhere else.

Approval is decided per tool call: a tool is asked about, allowed or denied (`ApprovalPolicy.rule`).
The run's settings give the mode and the per-tool rules; the thread adds the tools a person chose
to "always allow in this thread" from an approval card (stored with the thread, see
`agent.threads`), which the backend merges in at each run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from agent.settings import Settings

ApprovalMode = Literal["ask", "auto", "never"]
ToolRule = Literal["ask", "allow", "deny"]
Engine = Literal["sync", "async"]
Durability = Literal["sync", "async", "exit"]
# What a message sent while a run is going does: the Agent Server's multitask strategies.
Multitask = Literal["reject", "enqueue", "interrupt", "rollback"]

APPROVAL_HELP: dict[str, str] = {
    "ask": "Ask every time: the run halts before any tool runs (a human-in-the-loop interrupt).",
    "auto": "Per tool: ask, auto-approve or deny each tool.",
    "never": "Never ask: tools run as soon as the model calls them.",
}
ENGINE_HELP: dict[str, str] = {
    "sync": "graph.stream() on a worker thread, with the sync SQLite checkpointer.",
    "async": "graph.astream() on one background event loop, with the async SQLite checkpointer.",
}
DURABILITY_HELP: dict[str, str] = {
    "sync": "Each checkpoint is written before the next step starts: safest, a little slower.",
    "async": "Checkpoints are written in the background while the next step runs: faster, and a "
    "crash may lose the last step.",
    "exit": "Only each run's last checkpoint is written, when it ends or halts: least storage, "
    "no time travel inside a run.",
}
# Said next to the chips before you send, while durability "exit" is chosen.
EXIT_COST = (
    "Durability exit: nothing is checkpointed until the run ends or halts. If the server stops "
    "mid-run the whole turn is lost, and the Inspector shows none of its steps until it ends."
)
STREAM_HELP: dict[str, str] = {
    "tokens": 'stream_mode=["messages", "updates"]: each token as the model writes it, and each '
    "node's output when the node finishes.",
    "steps": 'stream_mode="updates": each node\'s output when the node finishes, no tokens.',
}
MULTITASK_HELP: dict[str, str] = {
    "reject": "Refused: you are told to wait for the run, or to stop it first.",
    "enqueue": "Queued: it runs after the current run ends.",
    "interrupt": "The current run stops where it is, its progress kept, and the new one starts.",
    "rollback": "The current run is stopped and its work deleted (the message it answered "
    "too), then the new one starts.",
}
TOOL_RULE_HELP: dict[str, str] = {
    "ask": "the run halts before the tool runs, and you decide",
    "allow": "runs as soon as the model calls it",
    "deny": "never runs: the model is told it was denied, and answers without it",
}


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which tool calls halt for a human, run at once, or are denied.

    `mode` and the per-tool sets come from the settings at each run; `thread_allowed` are the
    tools "always allowed in this thread" (the backend fills it in from the thread). A denied tool
    is denied whatever else says to allow it: it is the narrower, current choice.
    """

    mode: ApprovalMode = "ask"
    auto_tools: frozenset[str] = field(default_factory=frozenset)
    denied_tools: frozenset[str] = field(default_factory=frozenset)
    thread_allowed: frozenset[str] = field(default_factory=frozenset)

    def rule(self, tool_name: str) -> ToolRule:
        if tool_name in self.denied_tools:
            return "deny"
        if self.mode == "never" or tool_name in self.thread_allowed:
            return "allow"
        if self.mode == "auto" and tool_name in self.auto_tools:
            return "allow"
        return "ask"

    def needs_approval(self, tool_name: str) -> bool:
        return self.rule(tool_name) == "ask"

    def allowing(self, tools: Iterable[str]) -> ApprovalPolicy:
        """This policy with `tools` also always allowed (the thread's choice)."""
        return replace(self, thread_allowed=self.thread_allowed | frozenset(tools))


@dataclass(frozen=True)
class AgentChoices:
    """What the user picked in the sidebar. Keys are masked in repr and never persisted."""

    provider: str = "demo"
    model_name: str | None = None
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    search: str = "offline"
    tavily_key: str | None = field(default=None, repr=False)
    approval: ApprovalPolicy = field(default_factory=ApprovalPolicy)

    @classmethod
    def defaults(cls, settings: Settings) -> AgentChoices:
        return cls(provider=settings.default_provider, search=settings.default_search)


@dataclass(frozen=True)
class RunOptions:
    """How to run: engine, what to stream, how durably to checkpoint, and what a message sent
    while a run is going does (`multitask`: the Agent Server's strategy; the embedded engine
    always refuses it)."""

    engine: Engine = "sync"
    stream_tokens: bool = True
    durability: Durability = "sync"
    multitask: Multitask = "reject"
    # Breakpoints for this run: pause before / after these nodes (LangGraph's `interrupt_before`
    # and `interrupt_after` run arguments). Chosen in the settings for your own graph.
    pause_before: tuple[str, ...] = ()
    pause_after: tuple[str, ...] = ()
