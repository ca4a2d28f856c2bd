"""What a user picks for a run: model, search, approval, engine, durability, as plain data.

The sidebar builds these and every run call takes them, so they are part of the backend's
protocol: frozen dataclasses and literals with the one-line help each choice shows, importing
nothing of LangChain or LangGraph. Keys are masked in repr and never persisted: they live in these
objects (in the browser session) and in the clients built from them, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agent.settings import Settings

ApprovalMode = Literal["ask", "auto", "never"]
Engine = Literal["sync", "async"]
Durability = Literal["sync", "async", "exit"]

APPROVAL_HELP: dict[str, str] = {
    "ask": "Ask every time: the run halts before any tool runs (a human-in-the-loop interrupt).",
    "auto": "Auto-approve the chosen tools; ask for the others.",
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


@dataclass(frozen=True)
class ApprovalPolicy:
    """Per-run rule for which tool calls halt for a human. Not persisted: chosen at each run."""

    mode: ApprovalMode = "ask"
    auto_tools: frozenset[str] = field(default_factory=frozenset)

    def needs_approval(self, tool_name: str) -> bool:
        if self.mode == "never":
            return False
        if self.mode == "auto":
            return tool_name not in self.auto_tools
        return True


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
    """How to run: engine, what to stream, how durably to checkpoint."""

    engine: Engine = "sync"
    stream_tokens: bool = True
    durability: Durability = "sync"
