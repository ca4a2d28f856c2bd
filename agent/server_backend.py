"""`ServerBackend`: the `Backend` protocol over a LangGraph Agent Server (`langgraph dev`, or a
LangGraph deployment), through langgraph-sdk's sync client.

The server keeps the threads, checkpoints and runs; this process keeps nothing but the runs it is
following (`agent.server_runs`). Each thread carries its owner in its metadata
(`waypoint_owner`), and every call checks it: another user's thread answers as a missing one.
Threads are listed by that metadata only; a title search is matched here, so no user text ever
becomes a server-side filter. The API key goes into the client's headers and nowhere else.

A run id, as pages see it, is `<thread id>:<server run id>`: the server addresses a run by both,
and a page that found the run in `thread_view` (after a refresh, or on another app server) must
be able to read it with that id alone.

What Waypoint does in its own engine and the server does not offer (export and import, message
versions and branch heads, regenerate, the lesson, per-tool policies) is refused with a sentence,
or empty where a page only reads; see each method.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from typing import Any, NoReturn, cast

from langgraph_sdk.client import SyncAssistantsClient, SyncRunsClient, SyncThreadsClient
from langgraph_sdk.errors import (
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)
from langgraph_sdk.schema import Command, StreamMode

from agent.approval import ALWAYS, validate_decisions
from agent.backend import STOPPED_TEXT
from agent.choices import AgentChoices, Multitask, RunOptions
from agent.errors import (
    DecisionError,
    InputError,
    ModelListError,
    ThreadBusy,
    UnknownCheckpoint,
    UnknownThread,
)
from agent.events import Error, Event
from agent.exposure import exposure_problem
from agent.graph import offline_tools
from agent.interrupts import hitl_resume, parse_answer, questions
from agent.lesson_steps import EngineRestart, LessonThread
from agent.limits import MAX_MESSAGE_CHARS, too_long
from agent.message_views import message_views
from agent.models import list_models
from agent.protocol import LOCAL_USER, User
from agent.server_client import (
    Answering,
    ServerUnavailable,
    error_detail,
    graph_kit,
    server_client,
)
from agent.server_history import ServerHistory
from agent.server_multitask import SUPERSEDES, live_and_queued, run_input, superseded
from agent.server_runs import FollowedRun, ServerError

# First: it loads agent.timeline before agent.interrupts (see there).
from agent.server_views import (
    DEFAULT_TITLE,
    OWNER,
    RUN_STATUS,
    TITLE,
    checkpoint_id_of,
    interrupts_of,
    messages_of,
    other_values,
    owner_of,
    pending_calls,
    thread_info,
)
from agent.settings import Settings
from agent.threads import TITLE_LIMIT, title_from_text
from agent.views import (
    BackendInfo,
    CheckpointDetail,
    GraphEdge,
    GraphView,
    MessageVersions,
    MessageView,
    Notice,
    RunHandle,
    RunReport,
    ThreadInfo,
    ThreadView,
    TimelinePage,
    ToolCallView,
)

log = logging.getLogger(__name__)

STREAM_MODES: list[StreamMode] = ["messages-tuple", "updates"]
STEP_MODES: list[StreamMode] = ["updates"]  # the Stream setting "Steps only": no tokens
SEARCH_PAGE = 100  # threads read per request when all of a user's must be read (a title search)
ACTIVE = ("pending", "running")
QUEUE_LIMIT = 20  # the pending runs of a thread read, and so the queued messages shown
KEEP_FOLLOWED = 200  # ended runs whose events this process keeps for pages still reading them
NOT_ON_SERVER = "is not available on an Agent Server"


SUBGRAPH_REFUSED = (
    "Time travel from inside a subgraph needs the embedded engine: on an Agent Server, replay "
    "or edit from the parent checkpoint before the subgraph's step instead."
)


def _refused(what: str, instead: str) -> NoReturn:
    raise InputError(f"{what} {NOT_ON_SERVER}: {instead}")


class ServerBackend:
    """A client of one assistant on a LangGraph Agent Server."""

    def __init__(self, settings: Settings, graph: str | None = None) -> None:
        if not settings.server_url:
            raise ValueError("Set WAYPOINT_SERVER_URL to the Agent Server's address first.")
        self.settings = settings
        self.url = settings.server_url
        self.client = server_client(self.url, settings.server_api_key)
        # The calls this class makes, each a sentence for the page when the server is down.
        self.threads = cast(SyncThreadsClient, Answering(self.client.threads, self.url))
        self.runs = cast(SyncRunsClient, Answering(self.client.runs, self.url))
        self.assistants = cast(SyncAssistantsClient, Answering(self.client.assistants, self.url))
        self._lock = threading.Lock()
        self._runs: dict[str, FollowedRun] = {}
        self.graph_names: tuple[str, ...] = ()  # the picker's, filled by `_assistant`
        try:
            self.assistant = self._assistant(graph or settings.server_graph)
            schemas = self.assistants.get_schemas(self.assistant["assistant_id"])
        except ServerUnavailable as error:
            raise ValueError(str(error)) from None
        except ServerError as error:
            raise ValueError(
                f"The Agent Server at {self.url} refused Waypoint ({type(error).__name__}): "
                "check WAYPOINT_SERVER_API_KEY and that the address is the server's."
            ) from None
        self.kit = graph_kit(self.assistant, schemas)
        self.history = ServerHistory(self.threads, self.kit.messages_key)
        log.info("driving assistant %s on %s", self.assistant["assistant_id"], self.url)

    def _assistant(self, wanted: str | None) -> dict[str, Any]:
        """The assistant to drive (the first by name when none is named); without
        WAYPOINT_SERVER_GRAPH every assistant of the server is offered in the graph picker."""
        found_all = self.assistants.search(limit=SEARCH_PAGE)
        if not found_all:
            raise ValueError(f"The Agent Server at {self.url} has no assistant (no graph) to run.")
        assistants = sorted(found_all, key=lambda a: str(a.get("name") or a["graph_id"]))
        self.graph_names = (
            tuple(str(a.get("name") or a["graph_id"]) for a in assistants)
            if not self.settings.server_graph
            else ()
        )
        if wanted is None:
            return dict(assistants[0])
        for found in assistants:
            if wanted in (found["assistant_id"], found["graph_id"], found.get("name")):
                return dict(found)
        names = ", ".join(sorted({a["graph_id"] for a in assistants}))
        raise ValueError(
            f"The Agent Server at {self.url} has no assistant or graph {wanted!r}: it has {names}."
        )

    def close(self) -> None:
        """Stop following runs (they go on on the server) and close the connection."""
        with self._lock:
            followed, self._runs = list(self._runs.values()), {}
        for run in followed:
            run.close()
        self.client.http.client.close()

    # --- threads ---------------------------------------------------------------------------------

    def _thread(self, user: User, thread_id: str) -> dict[str, Any]:
        """The server's thread if `user` owns it; UnknownThread (as for a missing one) otherwise."""
        if not isinstance(user, User) or not isinstance(thread_id, str):
            raise InputError("Give the user asking and a thread id (text).")
        try:
            thread = dict(self.threads.get(thread_id))
        except (NotFoundError, UnprocessableEntityError):
            raise UnknownThread(thread_id) from None
        if owner_of(thread) != user.id:
            raise UnknownThread(thread_id)
        return thread

    def _info(self, thread: Mapping[str, Any]) -> ThreadInfo:
        return thread_info(thread, self.kit.messages_key)

    def create_thread(self, user: User, title: str = DEFAULT_TITLE) -> ThreadInfo:
        clean = " ".join(str(title).split())[:TITLE_LIMIT] or DEFAULT_TITLE
        thread = self.threads.create(metadata={OWNER: user.id, TITLE: clean})
        return self._info(thread)

    def _owned_threads(self, user: User) -> list[dict[str, Any]]:
        """Every thread of `user`, newest change first (read in pages: for a title search)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.threads.search(
                metadata={OWNER: user.id},
                limit=SEARCH_PAGE,
                offset=len(found),
                sort_by="updated_at",
                sort_order="desc",
            )
            found.extend(dict(t) for t in page)
            if len(page) < SEARCH_PAGE:
                return found

    def _matching(self, user: User, search: str) -> list[dict[str, Any]]:
        words = search.casefold().split()
        return [
            t
            for t in self._owned_threads(user)
            if all(w in self._info(t).title.casefold() for w in words)
        ]

    def list_threads(
        self, user: User, search: str = "", limit: int = 50, offset: int = 0
    ) -> list[ThreadInfo]:
        if search.strip():
            return [self._info(t) for t in self._matching(user, search)[offset : offset + limit]]
        page = self.threads.search(
            metadata={OWNER: user.id},
            limit=limit,
            offset=offset,
            sort_by="updated_at",
            sort_order="desc",
        )
        return [self._info(t) for t in page]

    def count_threads(self, user: User, search: str = "") -> int:
        if search.strip():
            return len(self._matching(user, search))
        return self.threads.count(metadata={OWNER: user.id})

    def get_thread(self, user: User, thread_id: str) -> ThreadInfo:
        return self._info(self._thread(user, thread_id))

    def find_thread(self, user: User, thread_id: str) -> ThreadInfo | None:
        try:
            return self.get_thread(user, thread_id)
        except UnknownThread:
            return None

    def rename_thread(self, user: User, thread_id: str, title: str) -> ThreadInfo:
        self._thread(user, thread_id)
        clean = " ".join(str(title).split())
        if not clean:
            raise InputError("A thread needs a title: type at least one character.")
        return self._info(self.threads.update(thread_id, metadata={TITLE: clean[:TITLE_LIMIT]}))

    def delete_thread(self, user: User, thread_id: str, timeout: float = 10) -> None:
        """Delete the thread on the server, stopping its run first."""
        self._thread(user, thread_id)
        for run in self._active_runs(thread_id):
            self.runs.cancel(thread_id, run["run_id"], wait=True)
        self.threads.delete(thread_id)
        with self._lock:
            for key in [k for k, r in self._runs.items() if r.thread_id == thread_id]:
                self._runs.pop(key).close()

    def allow_tool(self, user: User, thread_id: str, tool: str, allowed: bool) -> ThreadInfo:
        _refused(
            "Always allowing a tool in a thread",
            "approve each call, or set the graph's own human-in-the-loop policy on the server.",
        )

    # --- state -----------------------------------------------------------------------------------

    def _state(self, thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        try:
            if checkpoint_id is None:
                return dict(self.threads.get_state(thread_id))
            return dict(self.threads.get_state(thread_id, checkpoint_id=checkpoint_id))
        except (NotFoundError, UnprocessableEntityError):
            raise InputError(str(UnknownCheckpoint(thread_id, checkpoint_id or ""))) from None

    def thread_view(self, user: User, thread_id: str) -> ThreadView:
        thread = self._thread(user, thread_id)
        state = self._state(thread_id)
        live, queued = live_and_queued(self._active_runs(thread_id))
        running_id = _run_key(thread_id, live["run_id"]) if live else None
        latest = self.runs.list(thread_id, limit=1)
        last_id = _run_key(thread_id, latest[0]["run_id"]) if latest else None
        interrupts = interrupts_of(state)
        values = state.get("values")
        key = self.kit.messages_key
        messages = message_views(messages_of(values, key))
        sent = run_input(live, key) if live and key is not None else ()
        messages = _before_live(messages, sent)
        shown = {message.id for message in messages}
        return ThreadView(
            thread=self._info(thread),
            messages=messages,
            checkpoint_id=checkpoint_id_of(state),
            next_nodes=tuple(state.get("next") or ()),
            pending_calls=() if running_id else pending_calls(interrupts),
            active_run_id=running_id,
            last_run_id=last_id,
            last_error=None if running_id or not latest else self._run_error(latest[0]),
            notice=None if running_id or not latest else _notice(latest[0]),
            live_input=tuple(m for m in sent if m.id not in shown),
            queued=tuple(m for run in queued for m in run_input(run, key)),
            superseded=superseded(self.runs, latest[0]) if latest else None,
            questions=() if running_id else questions(interrupts),
            values=other_values(values, self.kit.messages_key),
            own_graph=True,
        )

    def _run_error(self, run: Mapping[str, Any]) -> str | None:
        """What ended the run with an error, as its stream said when this process followed it."""
        if RUN_STATUS.get(str(run["status"])) != "error":
            return None
        followed = self._runs.get(_run_key(str(run["thread_id"]), str(run["run_id"])))
        events = followed.log.read(0) if followed else []
        error = next((e for e in reversed(events) if isinstance(e, Error)), None)
        if error is not None:
            return error.message
        return "The last run on this thread ended with an error on the Agent Server (its log says why)."

    def _active_runs(self, thread_id: str) -> list[dict[str, Any]]:
        return [
            dict(run)
            for status in ACTIVE
            for run in self.runs.list(thread_id, status=status, limit=QUEUE_LIMIT)  # type: ignore[arg-type]
        ]

    # --- runs ------------------------------------------------------------------------------------

    def _input(self, text: str) -> dict[str, Any]:
        """What a typed message is as the graph's input (InputError when it cannot be one)."""
        if not isinstance(text, str) or not text.strip():
            raise InputError("Type a message first.")
        if too_long(text, MAX_MESSAGE_CHARS):
            raise InputError(f"The message is longer than {MAX_MESSAGE_CHARS:,} characters.")
        key = self.kit.messages_key
        if key is not None:
            return {key: [{"type": "human", "content": text, "id": str(uuid.uuid4())}]}
        return self.kit.input_for(text, "")

    def _start(
        self,
        user: User,
        thread_id: str,
        options: RunOptions,
        *,
        input: dict[str, Any] | None = None,
        command: Command | None = None,
        checkpoint_id: str | None = None,
        multitask: Multitask = "reject",
    ) -> RunHandle:
        """A background run on the server, and the thread of this process that follows it.

        `options` are sent with it: the stream modes (tokens or steps), the durability and the
        breakpoints. A thread with a run going refuses another (`ThreadBusy`) unless `multitask`
        (the setting, for a new message) says otherwise; the server's strategy also closes the
        race between the look at the thread's runs and the create. The runs an interrupt or
        rollback will stop are named in the new run's metadata (`agent.server_multitask`).
        """
        going = [str(run["run_id"]) for run in self._active_runs(thread_id)]
        if going and multitask == "reject":
            raise ThreadBusy(thread_id)
        supersedes = going if multitask in ("interrupt", "rollback") else []
        try:
            run = self.runs.create(
                thread_id,
                self.assistant["assistant_id"],
                input=input,
                command=command,
                checkpoint_id=checkpoint_id,
                stream_mode=STREAM_MODES if options.stream_tokens else STEP_MODES,
                stream_resumable=True,
                durability=options.durability,
                interrupt_before=list(options.pause_before) or None,
                interrupt_after=list(options.pause_after) or None,
                multitask_strategy=multitask,
                metadata={SUPERSEDES: supersedes} if supersedes else None,
            )
        except ConflictError:
            raise ThreadBusy(thread_id) from None
        except UnprocessableEntityError as error:
            raise InputError(f"The Agent Server refused this run: {error_detail(error)}") from None
        key = _run_key(thread_id, run["run_id"])
        self._follow(key, user.id)
        log.info("run started: thread %s, run %s (%s)", thread_id, run["run_id"], multitask)
        return RunHandle(id=key, thread_id=thread_id)

    def _follow(self, key: str, owner: str) -> FollowedRun:
        """The run's follower, started on first use; the oldest ended ones are let go."""
        thread_id, run_id = key.split(":", 1)
        with self._lock:
            followed = self._runs.get(key)
            if followed is None:
                followed = FollowedRun(self.client, thread_id, run_id, owner).start()
                self._runs[key] = followed
                ended = [k for k, r in self._runs.items() if r.log.closed]
                for old in ended[: max(0, len(self._runs) - KEEP_FOLLOWED)]:
                    del self._runs[old]
            return followed

    def start_thread(
        self, user: User, text: str, choices: AgentChoices, options: RunOptions = RunOptions()
    ) -> RunHandle:
        """A thread titled from its first message, and the run answering it; a message refused
        before the run starts leaves no thread behind."""
        payload = self._input(text)
        info = self.create_thread(user, title_from_text(self.kit.title_for(text)))
        try:
            return self._start(user, info.id, options, input=payload)
        except BaseException:
            self.threads.delete(info.id)
            raise

    def send_message(
        self,
        user: User,
        thread_id: str,
        text: str,
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
    ) -> RunHandle:
        """Run the graph on a new message; refused while the graph waits for an answer (the
        question would stay unanswered for good). While a run is going, `options.multitask`
        says what happens: refused (`ThreadBusy`), queued, or the run interrupted or rolled back
        (see `agent.server_multitask`)."""
        self._thread(user, thread_id)
        payload = self._input(text)
        if interrupts_of(self._state(thread_id)):
            raise InputError(
                f"{self.kit.label} is waiting for your answer above (an interrupt): answer it "
                "first, then send this."
            )
        return self._start(user, thread_id, options, input=payload, multitask=options.multitask)

    def decide(
        self,
        user: User,
        thread_id: str,
        decisions: Mapping[str, Mapping[str, Any]],
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
    ) -> RunHandle:
        """The decisions on a HITL request's calls, sent as `Command(resume={interrupt id:
        {"decisions": [...]}})`; DecisionError before anything is sent when one is wrong."""
        self._thread(user, thread_id)
        pending = pending_calls(interrupts_of(self._state(thread_id)))
        if not pending:
            raise InputError("Nothing is waiting for approval on this thread.")
        if any(decision.get(ALWAYS) for decision in decisions.values()):
            raise DecisionError(
                "“Always allow in this thread” is not available on an Agent Server (the server "
                "keeps no thread policy of Waypoint's): untick it to approve this call only."
            )
        if pending[0].interrupt_id is None:  # Waypoint's own agent, run by the server
            calls = [{"id": c.id, "name": c.name, "args": c.args} for c in pending]
            clean = validate_decisions(decisions, calls, offline_tools())
            return self._start(user, thread_id, options, command={"resume": clean})
        responses, _checked = hitl_resume(pending, decisions)
        return self._start(user, thread_id, options, command={"resume": responses})

    def answer(
        self,
        user: User,
        thread_id: str,
        answers: Mapping[str, str],
        options: RunOptions = RunOptions(),
    ) -> RunHandle:
        """Answer the graph's questions by interrupt id in one `Command(resume={id: value})`."""
        self._thread(user, thread_id)
        asked = {view.id for view in questions(interrupts_of(self._state(thread_id)))}
        if not asked:
            raise InputError("Nothing is waiting for an answer on this thread.")
        if not answers or set(answers) - asked:
            raise DecisionError(
                "Answer the questions this thread waits on: "
                + ("none was answered." if not answers else "some answers are for no question.")
            )
        resume = {interrupt_id: parse_answer(str(text)) for interrupt_id, text in answers.items()}
        return self._start(user, thread_id, options, command={"resume": resume})

    def decision_problem(
        self, call: ToolCallView, decision: Mapping[str, Any], choices: AgentChoices
    ) -> str | None:
        try:
            if call.interrupt_id is None:  # Waypoint's own agent, run by the server
                calls = [{"id": call.id, "name": call.name, "args": call.args}]
                validate_decisions({call.id: decision}, calls, offline_tools())
            else:
                hitl_resume([call], {call.id: decision})
        except DecisionError as problem:
            return str(problem)
        return None

    def resume(
        self,
        user: User,
        thread_id: str,
        choices: AgentChoices,
        options: RunOptions = RunOptions(),
        checkpoint_id: str | None = None,
        checkpoint_ns: str = "",
    ) -> RunHandle:
        """Continue where the graph stopped, or replay from a past checkpoint (the server forks
        there); an interrupt asked on the way is asked again."""
        if checkpoint_ns:
            raise InputError(SUBGRAPH_REFUSED)
        self._thread(user, thread_id)
        if checkpoint_id is not None:
            self._state(thread_id, checkpoint_id)  # an unknown checkpoint: a sentence
        return self._start(user, thread_id, options, checkpoint_id=checkpoint_id)

    def any_run_active(self, user: User) -> bool:
        return self.threads.count(metadata={OWNER: user.id}, status="busy") > 0

    def _owned_run(self, user: User, run_id: str) -> FollowedRun | None:
        """The followed run if `user` owns its thread (following it from now if this process
        was not); None, as for an unknown run, otherwise."""
        if not isinstance(run_id, str) or ":" not in run_id:
            return None
        with self._lock:
            followed = self._runs.get(run_id)
        if followed is not None:  # its owner was checked when it was first followed
            return followed if followed.owner == user.id else None
        thread_id, server_id = run_id.split(":", 1)
        if self.find_thread(user, thread_id) is None:
            return None
        try:
            self.runs.get(thread_id, server_id)
        except (NotFoundError, UnprocessableEntityError):
            return None
        return self._follow(run_id, user.id)

    def cancel_run(self, user: User, run_id: str) -> bool:
        """Stop the run on the server (its `Done` follows, "cancelled"); False if it had ended."""
        followed = self._owned_run(user, run_id)
        if followed is None or followed.log.closed:
            return False
        try:
            self.runs.cancel(followed.thread_id, followed.run_id)
        except ConflictError:  # it ended meanwhile
            return False
        return True

    def read_events(
        self, user: User, run_id: str, offset: int = 0, timeout: float = 0.0
    ) -> list[Event]:
        followed = self._owned_run(user, run_id)
        return [] if followed is None else followed.log.read(offset, timeout)

    def run_status(self, user: User, run_id: str) -> str | None:
        followed = self._owned_run(user, run_id)
        return None if followed is None else followed.status

    def run_report(self, user: User, run_id: str) -> RunReport | None:
        """None: the server keeps no Waypoint run record (its runs show without one)."""
        return None

    # --- time travel -----------------------------------------------------------------------------

    def timeline(
        self,
        user: User,
        thread_id: str,
        limit: int = 50,
        offset: int = 0,
        written_by: str | None = None,
    ) -> TimelinePage:
        self._thread(user, thread_id)
        return self.history.page(thread_id, limit, offset, written_by)

    def checkpoint_detail(
        self, user: User, thread_id: str, checkpoint_id: str, checkpoint_ns: str = ""
    ) -> CheckpointDetail:
        if checkpoint_ns:
            raise InputError(SUBGRAPH_REFUSED)
        self._thread(user, thread_id)
        return self.history.detail(thread_id, checkpoint_id)

    def edit_state(
        self,
        user: User,
        thread_id: str,
        checkpoint_id: str,
        values: str,
        as_node: str | None = None,
    ) -> str:
        """Fork from `checkpoint_id` with some channels changed (`update_state` on the server,
        as `as_node`); return the new checkpoint's id, the thread's latest."""
        self._thread(user, thread_id)
        if self._active_runs(thread_id):
            raise ThreadBusy(thread_id)
        self._state(thread_id, checkpoint_id)
        changes = self.kit.checked_values(values)
        if as_node is not None and as_node not in self.graph_view().nodes:
            raise InputError(f"The graph has no node {as_node!r}: pick one of its nodes.")
        try:
            written = self.threads.update_state(
                thread_id, changes, as_node=as_node, checkpoint_id=checkpoint_id
            )
        except (UnprocessableEntityError, ConflictError) as error:
            raise InputError(f"The Agent Server refused this edit: {error_detail(error)}") from None
        return str(written["checkpoint"]["checkpoint_id"])

    def edit_subgraph_state(
        self, user: User, thread_id: str, *args: Any, **kwargs: Any
    ) -> tuple[str, str]:
        raise InputError(SUBGRAPH_REFUSED)

    def edit_message(self, user: User, thread_id: str, *args: Any, **kwargs: Any) -> str:
        _refused("Editing one message", "edit the state's channels as JSON (Edit state) instead.")

    def fork_thread(
        self, user: User, thread_id: str, checkpoint_id: str, title: str | None = None
    ) -> ThreadInfo:
        _refused(
            "Fork thread",
            "edit the state at that checkpoint or replay from it: both fork inside this thread.",
        )

    def show_branch(self, user: User, thread_id: str, checkpoint_id: str | None) -> ThreadInfo:
        if checkpoint_id is None:  # back to the latest: what the chat always shows here
            return self.get_thread(user, thread_id)
        _refused(
            "Showing an older branch in the chat",
            "replay from its checkpoint in the Inspector to make it the latest.",
        )

    def message_versions(self, user: User, thread_id: str) -> tuple[MessageVersions, ...]:
        return ()

    def switch_branch(self, user: User, thread_id: str, message_id: str, index: int) -> ThreadInfo:
        _refused("Switching message versions", "replay from a checkpoint in the Inspector.")

    def regenerate(self, user: User, thread_id: str, *args: Any, **kwargs: Any) -> RunHandle:
        _refused("Regenerate", "replay from the checkpoint before the answer in the Inspector.")

    def edit_and_resend(self, user: User, thread_id: str, *args: Any, **kwargs: Any) -> RunHandle:
        _refused("Edit and resend", "send a new message, or edit the state in the Inspector.")

    # --- export and import -----------------------------------------------------------------------

    def export_thread(self, user: User, thread_id: str) -> bytes:
        _refused("Export", "the thread stays on the server; read it there with langgraph-sdk.")

    def import_thread(self, user: User, data: bytes) -> ThreadInfo:
        _refused("Import", "run Waypoint without WAYPOINT_SERVER_URL to import a thread file.")

    # --- what this backend is --------------------------------------------------------------------

    def graph_view(self) -> GraphView:
        """The assistant's graph as the server draws it, subgraphs inside (`xray`)."""
        drawing = self.assistants.get_graph(self.assistant["assistant_id"], xray=True)
        return GraphView(
            nodes=tuple(str(node["id"]) for node in drawing.get("nodes", [])),
            edges=tuple(
                GraphEdge(str(e["source"]), str(e["target"]), bool(e.get("conditional")))
                for e in drawing.get("edges", [])
            ),
            approval_node="",
        )

    def info(self, user: User = LOCAL_USER) -> BackendInfo:
        """The graph runs on the server with its own model and tools: no provider to choose."""
        return BackendInfo(
            default_provider="demo",
            default_search="offline",
            model_name=None,
            openai_base_url=None,
            has_openai_key=False,
            has_tavily_key=False,
            tool_names=(),
            visitors=self.settings.visitors,
            visitor_hours=self.settings.visitor_hours,
            graph_name=self.kit.name,
            graph_description=self.kit.description,
            graphs=self.graph_names or (self.kit.name,),
            chat_messages=self.kit.messages_key is not None,
            input_example=self.kit.input_example(),
            agent_server=True,
        )

    def exposure_problem(self, address: str | None, auth_configured: bool) -> str | None:
        return exposure_problem(address, auth_configured, self.settings)

    def sweep_visitors(self) -> int:
        """Visitors' threads live on the server, which expires nothing for Waypoint: none swept."""
        return 0

    def list_models(self, base_url: str, api_key: str | None = None) -> tuple[str, ...]:
        if not isinstance(base_url, str) or not base_url.strip():
            raise ModelListError("Give the server's base URL, e.g. http://localhost:11434/v1.")
        return list_models(base_url.strip(), api_key)

    # --- the lesson: Waypoint's own engine only ----------------------------------------------------

    def mark_lesson_thread(
        self, user: User, thread_id: str, step: str, run_id: str | None = None
    ) -> None:
        _refused("The lesson", "run Waypoint without WAYPOINT_SERVER_URL to take it.")

    def lesson_threads(self, user: User) -> tuple[LessonThread, ...]:
        return ()

    def reset_lesson(self, user: User) -> int:
        return 0

    def restart_engine(self, user: User, thread_id: str) -> EngineRestart:
        _refused("The lesson's engine restart", "restart `langgraph dev` itself to see it.")


def _notice(run: Mapping[str, Any]) -> Notice | None:
    """After your Stop (the server's run "interrupted"), the page says so and offers Continue."""
    return Notice("stopped", STOPPED_TEXT) if run["status"] == "interrupted" else None


def _before_live(
    messages: tuple[MessageView, ...], sent: tuple[MessageView, ...]
) -> tuple[MessageView, ...]:
    """The messages up to the live run's own message: what the run wrote after it the live view
    shows (from the run's stream, replayed from its start), so a page drawn mid-run (a message
    sent during it, a refresh) does not show it twice."""
    ids = [message.id for message in messages]
    for message in sent:
        if message.id in ids:
            return messages[: ids.index(message.id) + 1]
    return messages


def _run_key(thread_id: str, run_id: str) -> str:
    return f"{thread_id}:{run_id}"
