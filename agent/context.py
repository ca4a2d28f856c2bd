"""From the user's choices (model, search, approval) to the context a run executes with.

Clients are built once per distinct choice and reused: a ChatOpenAI or a search index is not
something to rebuild on every message. Keys typed in the UI stay in these in-memory objects only.
"""

from __future__ import annotations

import threading

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from agent.choices import AgentChoices
from agent.graph import RunContext
from agent.models import make_chat_model
from agent.search import make_search_backend
from agent.settings import Settings
from agent.tools import make_web_search_tool


class ContextFactory:
    """Builds RunContexts, caching the model and tool objects per distinct choice."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._models: dict[tuple, BaseChatModel] = {}
        self._tools: dict[tuple, tuple[BaseTool, ...]] = {}

    def model(self, choices: AgentChoices) -> BaseChatModel:
        key = (choices.provider, choices.model_name, choices.api_key, choices.base_url)
        with self._lock:
            if key not in self._models:
                self._models[key] = make_chat_model(
                    choices.provider,
                    self.settings,
                    model_name=choices.model_name,
                    api_key=choices.api_key,
                    base_url=choices.base_url,
                )
            return self._models[key]

    def tools(self, choices: AgentChoices) -> tuple[BaseTool, ...]:
        key = (choices.search, choices.tavily_key)
        with self._lock:
            if key not in self._tools:
                backend = make_search_backend(
                    choices.search, self.settings, api_key=choices.tavily_key
                )
                self._tools[key] = (make_web_search_tool(backend),)
            return self._tools[key]

    def __call__(self, choices: AgentChoices, deciding: frozenset[str] = frozenset()) -> RunContext:
        return RunContext(
            model=self.model(choices),
            tools=self.tools(choices),
            approval=choices.approval,
            deciding=deciding,
        )
