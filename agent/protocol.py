"""What pages and `ui/` exchange with the engine: plain data, with the user on every thread call.

`Backend` is the whole interface; `agent.backend.LocalBackend` implements it in this process, and
a later backend will implement it over a LangGraph Agent Server (`langgraph-sdk`). So nothing of
LangGraph, LangChain or SQLite crosses it: thread rows, views, events, choices, limits and errors
are the plain types re-exported here, and pages import nothing else of `agent` (tests/
test_boundary.py checks both: the imports of `ui/` and `app_pages/`, and that importing this
module loads none of those libraries).

Every thread belongs to the user who created it (forks and imports too), and every call that
touches a thread says who is asking. Another user's thread answers exactly like a thread that does
not exist, so a guessed or shared id reveals nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agent.choices import (
    APPROVAL_HELP,
    DURABILITY_HELP,
    ENGINE_HELP,
    EXIT_COST,
    MULTITASK_HELP,
    STREAM_HELP,
    TOOL_RULE_HELP,
    AgentChoices,
    ApprovalMode,
    ApprovalPolicy,
    Durability,
    Engine,
    Multitask,
    RunOptions,
    ToolRule,
)
from agent.errors import (
    BackendError,
    Conflict,
    DecisionError,
    InputError,
    Invalid,
    ModelListError,
    NotFound,
    ThreadBusy,
    TransferError,
    UnknownCheckpoint,
    UnknownThread,
)
from agent.events import Done, Error, Event, Halted, Step, Token, ToolCall, ToolResult, Transcript
from agent.hitl_policy import Verdict, verdicts
from agent.lesson_steps import (
    EDITED_QUERY,
    LESSON_CHOICES,
    LESSON_TITLE_PREFIX,
    MOCK_ANSWER,
    STEPS,
    EngineRestart,
    LessonStep,
    LessonThread,
    lesson_step,
)
from agent.limits import MAX_MESSAGE_CHARS, MAX_TOOL_RESULT_CHARS, too_long
from agent.run_limit import RunLimitReached
from agent.text import call_text, clean
from agent.views import (
    BackendInfo,
    CheckpointDetail,
    CheckpointRow,
    DecisionRecord,
    FieldChange,
    GraphEdge,
    GraphView,
    InterruptView,
    MessageVersions,
    MessageView,
    Notice,
    RunHandle,
    RunReport,
    SearchHit,
    SearchResults,
    StepRecord,
    SubgraphCheckpoint,
    SubgraphView,
    ThreadInfo,
    ThreadReport,
    ThreadView,
    TimelinePage,
    ToolCallView,
    TurnReport,
    WordChange,
)
from agent.visitor_tokens import (
    VISITOR_COOKIE,
    is_visitor,
    new_token,
    valid_token,
    visitor_owner,
)

__all__ = [
    "APPROVAL_HELP",
    "DURABILITY_HELP",
    "EDITED_QUERY",
    "ENGINE_HELP",
    "EXIT_COST",
    "EXPORT_MIME_TYPE",
    "LESSON_CHOICES",
    "LESSON_TITLE_PREFIX",
    "LOCAL_USER",
    "MAX_MESSAGE_CHARS",
    "MAX_TOOL_RESULT_CHARS",
    "MOCK_ANSWER",
    "MULTITASK_HELP",
    "STEPS",
    "VISITOR_COOKIE",
    "STREAM_HELP",
    "TOOL_RULE_HELP",
    "AgentChoices",
    "ApprovalMode",
    "ApprovalPolicy",
    "Backend",
    "BackendError",
    "BackendInfo",
    "CheckpointDetail",
    "CheckpointRow",
    "Conflict",
    "DecisionError",
    "DecisionRecord",
    "Done",
    "Durability",
    "EngineRestart",
    "Engine",
    "Error",
    "Event",
    "FieldChange",
    "GraphEdge",
    "GraphView",
    "InterruptView",
    "Halted",
    "InputError",
    "Invalid",
    "LessonStep",
    "LessonThread",
    "MessageVersions",
    "MessageView",
    "ModelListError",
    "Multitask",
    "NotFound",
    "Notice",
    "RunHandle",
    "RunLimitReached",
    "RunOptions",
    "RunReport",
    "SearchHit",
    "SearchResults",
    "Step",
    "StepRecord",
    "SubgraphCheckpoint",
    "SubgraphView",
    "ThreadBusy",
    "ThreadInfo",
    "ThreadReport",
    "ThreadView",
    "TimelinePage",
    "Token",
    "ToolCall",
    "ToolCallView",
    "ToolResult",
    "ToolRule",
    "TransferError",
    "Transcript",
    "TurnReport",
    "UnknownCheckpoint",
    "UnknownThread",
    "User",
    "Verdict",
    "WordChange",
    "call_text",
    "clean",
    "export_filename",
    "is_visitor",
    "lesson_step",
    "new_token",
    "too_long",
    "valid_token",
    "verdicts",
    "visitor_owner",
]

UserKind = Literal["local", "account", "visitor"]


@dataclass(frozen=True)
class User:
    """Who is asking. `id` is the stable owner key stored with each thread; `name` is for display.

    - local: the one person using Waypoint on their own machine (no login configured);
    - account: a person signed in through the deployment's OpenID Connect provider;
    - visitor: one browser's private, expiring space on a public deployment without accounts.
    """

    id: str
    name: str
    kind: UserKind = "account"
    email: str | None = None


LOCAL_USER = User(id="local", name="You", kind="local")


# --- export files ---------------------------------------------------------------------------------

EXPORT_MIME_TYPE = "application/x-ndjson"
EXPORT_SUFFIX = ".waypoint.jsonl"


def export_filename(info: ThreadInfo) -> str:
    """A download name from the title, safe on every file system: `weather-in-la.waypoint.jsonl`."""
    slug = re.sub(r"[^a-z0-9]+", "-", info.title.lower()).strip("-")[:60].strip("-")
    return f"{slug or 'thread'}{EXPORT_SUFFIX}"


# --- the interface ----------------------------------------------------------------------------------


class Backend(Protocol):
    """Everything pages and `ui/` ask of the engine. Plain data in and out; errors are
    `BackendError`s (plus ValueError for a setting that cannot work, e.g. a missing key).

    Every call that touches a thread or a run takes the asking `user` first; a thread or run of
    another user answers as one that does not exist (`UnknownThread`, an empty event list).
    """

    # threads
    def create_thread(self, user: User, title: str = ...) -> ThreadInfo: ...
    def list_threads(
        self, user: User, search: str = ..., limit: int = ..., offset: int = ...
    ) -> list[ThreadInfo]: ...
    def count_threads(self, user: User, search: str = ...) -> int: ...
    def get_thread(self, user: User, thread_id: str) -> ThreadInfo: ...
    def find_thread(self, user: User, thread_id: str) -> ThreadInfo | None: ...
    def rename_thread(self, user: User, thread_id: str, title: str) -> ThreadInfo: ...
    def delete_thread(self, user: User, thread_id: str, timeout: float = ...) -> None: ...
    def thread_view(self, user: User, thread_id: str) -> ThreadView: ...
    # the tools "always allowed in this thread" (`ThreadInfo.allowed_tools`): grant or take back
    def allow_tool(self, user: User, thread_id: str, tool: str, allowed: bool) -> ThreadInfo: ...

    # runs: started by a message (the first one creates its thread), a decision, a resume or a
    # branch operation
    def start_thread(
        self, user: User, text: str, choices: AgentChoices, options: RunOptions = ...
    ) -> RunHandle: ...
    def send_message(
        self,
        user: User,
        thread_id: str,
        text: str,
        choices: AgentChoices,
        options: RunOptions = ...,
    ) -> RunHandle: ...
    def decide(
        self,
        user: User,
        thread_id: str,
        decisions: Mapping[str, Mapping[str, Any]],
        choices: AgentChoices,
        options: RunOptions = ...,
    ) -> RunHandle: ...
    def answer(
        self,
        user: User,
        thread_id: str,
        answers: Mapping[str, str],
        options: RunOptions = ...,
    ) -> RunHandle: ...
    def decision_problem(
        self, call: ToolCallView, decision: Mapping[str, Any], choices: AgentChoices
    ) -> str | None: ...
    def resume(
        self,
        user: User,
        thread_id: str,
        choices: AgentChoices,
        options: RunOptions = ...,
        checkpoint_id: str | None = ...,
        checkpoint_ns: str = ...,  # a subgraph's namespace: replay from its checkpoint
    ) -> RunHandle: ...
    def any_run_active(self, user: User) -> bool: ...
    def cancel_run(self, user: User, run_id: str) -> bool: ...
    def read_events(
        self, user: User, run_id: str, offset: int = ..., timeout: float = ...
    ) -> list[Event]: ...
    def run_status(self, user: User, run_id: str) -> str | None: ...
    def run_report(self, user: User, run_id: str) -> RunReport | None: ...

    # time travel and branches
    def timeline(
        self,
        user: User,
        thread_id: str,
        limit: int = ...,
        offset: int = ...,
        written_by: str | None = ...,
    ) -> TimelinePage: ...
    def checkpoint_detail(
        self, user: User, thread_id: str, checkpoint_id: str, checkpoint_ns: str = ...
    ) -> CheckpointDetail: ...
    def edit_state(
        self,
        user: User,
        thread_id: str,
        checkpoint_id: str,
        values: str,
        as_node: str | None = ...,
    ) -> str: ...
    # a subgraph's own state at one of its checkpoints: (the namespace, the new checkpoint's id)
    def edit_subgraph_state(
        self,
        user: User,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        values: str,
        as_node: str | None = ...,
    ) -> tuple[str, str]: ...
    def edit_message(
        self,
        user: User,
        thread_id: str,
        checkpoint_id: str,
        message_id: str,
        *,
        text: str | None = ...,
        tool_args: Mapping[str, Any] | str | None = ...,
        tool_call_id: str | None = ...,
        tool_result: str | None = ...,
        choices: AgentChoices | None = ...,
    ) -> str: ...
    def fork_thread(
        self, user: User, thread_id: str, checkpoint_id: str, title: str | None = ...
    ) -> ThreadInfo: ...
    def show_branch(self, user: User, thread_id: str, checkpoint_id: str | None) -> ThreadInfo: ...
    def message_versions(self, user: User, thread_id: str) -> tuple[MessageVersions, ...]: ...
    def switch_branch(
        self, user: User, thread_id: str, message_id: str, index: int
    ) -> ThreadInfo: ...
    def regenerate(
        self,
        user: User,
        thread_id: str,
        ai_message_id: str,
        choices: AgentChoices,
        options: RunOptions = ...,
    ) -> RunHandle: ...
    def edit_and_resend(
        self,
        user: User,
        thread_id: str,
        human_message_id: str,
        text: str,
        choices: AgentChoices,
        options: RunOptions = ...,
    ) -> RunHandle: ...

    # export and import (JSON lines, `export_filename`, `EXPORT_MIME_TYPE`)
    def export_thread(self, user: User, thread_id: str) -> bytes: ...
    def import_thread(self, user: User, data: bytes) -> ThreadInfo: ...

    # what the backend is: its graph, its settings' defaults for this user, a server's models
    def graph_view(self) -> GraphView: ...
    def info(self, user: User = ...) -> BackendInfo: ...
    # sharing: whether this address may serve as set up; expired visitor spaces cleared
    def exposure_problem(self, address: str | None, auth_configured: bool) -> str | None: ...
    def sweep_visitors(self) -> int: ...
    def list_models(self, base_url: str, api_key: str | None = ...) -> tuple[str, ...]: ...

    # the lesson: a learner's scratch threads (marked, reset together) and a safe engine restart
    def mark_lesson_thread(
        self, user: User, thread_id: str, step: str, run_id: str | None = ...
    ) -> None: ...
    def lesson_threads(self, user: User) -> tuple[LessonThread, ...]: ...
    def reset_lesson(self, user: User) -> int: ...
    def restart_engine(self, user: User, thread_id: str) -> EngineRestart: ...
    def close(self) -> None: ...
