"""The lesson as data: its steps in teaching order, and the plain results the engine reports.

A person who has never used LangGraph follows these steps on the Lesson page, one button each, on
scratch threads of their own. Keeping the steps here (what each says, asks and needs) rather than
in the page lets tests walk the same list the page shows, and keeps the page a renderer. This
module imports nothing of LangGraph, LangChain or SQLite: `agent.protocol` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.choices import AgentChoices

# The lesson always runs on these, whatever the sidebar says: it must work with nothing to set up
# (the approval policy is each step's).
LESSON_CHOICES = AgentChoices(provider="demo", search="offline")
LESSON_TITLE_PREFIX = "Lesson: "
MOCK_ANSWER = "Sunny and 31 °C all week (typed by you, in the tool's place)."
EDITED_QUERY = "weather in New York"


@dataclass(frozen=True)
class LessonStep:
    """One idea: what it is (`idea`, two or three plain sentences), the one button that makes it
    happen (`button`), the LangGraph call behind it (`code`), and the step whose scratch thread it
    works on (`needs`; None when it starts its own)."""

    key: str
    title: str
    idea: str
    button: str
    code: str
    needs: str | None = None


STEPS: tuple[LessonStep, ...] = (
    LessonStep(
        "checkpoints",
        "Persistence and checkpoints",
        "A LangGraph agent is a graph of nodes: here `llm` (the model) and `action` (the tools). "
        "A checkpointer saves the whole state after every step, so each step of a conversation is "
        "a checkpoint you can look at later.",
        "Ask “What's the weather in LA?”",
        'config = {"configurable": {"thread_id": thread_id}}\n'
        'graph.stream({"messages": [("user", "What\'s the weather in LA?")]}, config,\n'
        '             stream_mode=["messages", "updates"], durability="sync")\n'
        "len(list(graph.get_state_history(config)))  # the checkpoints",
    ),
    LessonStep(
        "restart",
        "Restart the engine",
        "Checkpoints live in the database, not in memory. This button opens a brand-new engine "
        "(new database connection, new checkpointer, new compiled graph) over the same database, "
        "the way a restarted server starts, and reads the thread through it. The engine everyone "
        "else uses keeps running: nobody's run is cut.",
        "Restart the engine and read the thread",
        "saver = SqliteSaver(sqlite3.connect(path))  # a new connection and checkpointer\n"
        "graph = builder.compile(checkpointer=saver)  # a new compiled graph\n"
        'graph.get_state({"configurable": {"thread_id": thread_id}})',
        needs="checkpoints",
    ),
    LessonStep(
        "threads",
        "Threads",
        "A thread is one conversation: its `thread_id` picks which checkpoints a run reads and "
        "writes. A new thread starts empty, so it remembers nothing of the others. The button "
        "asks the same follow-up on the first thread and on a new one.",
        "Ask “What about London?” on both threads",
        'graph.stream(inputs, {"configurable": {"thread_id": first_thread}})\n'
        'graph.stream(inputs, {"configurable": {"thread_id": new_thread}})  # an empty state',
        needs="checkpoints",
    ),
    LessonStep(
        "messages",
        "Streaming tokens: `messages`",
        '`stream_mode="messages"` sends each piece of text as the model writes it, so the '
        "answer appears word by word. Waypoint runs the graph in the background and the page "
        "reads its events as they arrive.",
        "Ask “What's the weather in Paris?”, streaming tokens",
        'for mode, chunk in graph.stream(inputs, config, stream_mode=["messages", "updates"]):\n'
        '    ...  # mode == "messages": (token, metadata); mode == "updates": {node: output}',
    ),
    LessonStep(
        "updates",
        "Streaming steps: `updates`",
        '`stream_mode="updates"` sends each node\'s output once the node has finished: no '
        "tokens, the answer arrives whole when `llm` is done. Watch the steps appear one at a "
        "time instead of the words.",
        "Ask “What about Tokyo?”, streaming steps only",
        'for update in graph.stream(inputs, config, stream_mode="updates"):\n'
        '    ...  # {"llm": {"messages": [...]}}, then {"action": ...}',
        needs="messages",
    ),
    LessonStep(
        "async",
        "Sync and async engines",
        "The same graph runs with `graph.stream` on a worker thread and a sync checkpointer, or "
        "with `graph.astream` on an event loop and an async checkpointer. The events and "
        "checkpoints are the same; only how Python waits differs.",
        "Ask “What about Rome?” on the async engine",
        "async with AsyncSqliteSaver.from_conn_string(path) as saver:\n"
        "    graph = builder.compile(checkpointer=saver)\n"
        '    async for mode, chunk in graph.astream(inputs, config, stream_mode=["messages", '
        '"updates"]):\n'
        "        ...",
        needs="messages",
    ),
    LessonStep(
        "interrupt",
        "Human in the loop: halt before `action`",
        "Before `action` runs a tool, it calls `interrupt()`: the run stops and its checkpoint "
        "waits for a person's decision. Nothing runs until someone answers, even after a restart.",
        "Ask “What's the weather in SF and LA?” with approval on",
        "# inside the action node:\n"
        'decisions = interrupt({"calls": pending_calls})\n'
        "graph.get_state(config).next  # ('action',): waiting",
    ),
    LessonStep(
        "edit",
        "Edit the pending call",
        "While the run waits, its state can be changed: `update_state` writes a new checkpoint "
        "with the tool call's arguments edited, as if the model had written them. The run still "
        "waits for approval, now of the edited call.",
        "Change the first search to “weather in New York”",
        'graph.update_state(config, {"messages": [ai_message_with_new_args]}, as_node="llm")',
        needs="interrupt",
    ),
    LessonStep(
        "mock",
        "Answer in the tool's place",
        "A person can approve a call, or answer it themselves: their text becomes the tool's "
        "result and the tool never runs (a mock). The run goes on and the model answers from "
        "both results.",
        "Approve the first call, answer the second yourself",
        'graph.stream(Command(resume={first_id: {"action": "approve"},\n'
        '                             second_id: {"action": "mock", "content": text}}), '
        "config)",
        needs="interrupt",
    ),
    LessonStep(
        "replay",
        "Time travel: replay",
        "Every checkpoint can be run again. Replaying from the checkpoint just after the first "
        "search asks the model again without searching again, and the history forks there: the "
        "old branch stays, the new one is shown.",
        "Replay the first thread from just after its search",
        "past = [s for s in graph.get_state_history(config) if s.next == ('llm',)][-2]\n"
        "graph.stream(None, past.config)  # past.config holds its checkpoint_id",
        needs="checkpoints",
    ),
    LessonStep(
        "fork",
        "Time travel: fork",
        "A fork copies the state at a checkpoint into a new thread; the original stays as it "
        "was. Forking the approval thread at its halt gives a thread that asks again: a fork "
        "never runs a tool unasked.",
        "Fork the approval thread at its halt",
        "halt = graph.get_state(halt_config)\n"
        'graph.update_state({"configurable": {"thread_id": new_id}}, halt.values, as_node="llm")',
        needs="interrupt",
    ),
)

STEP_KEYS: tuple[str, ...] = tuple(step.key for step in STEPS)


def lesson_step(key: str) -> LessonStep:
    """The step with this key (ValueError naming the keys there are)."""
    for step in STEPS:
        if step.key == key:
            return step
    raise ValueError(f"There is no lesson step {key!r}; the steps are {', '.join(STEP_KEYS)}.")


@dataclass(frozen=True)
class LessonThread:
    """A scratch thread the lesson made for a learner, and what made it: the step, the run it
    started (None for a step that writes without running), when."""

    step: str
    thread_id: str
    run_id: str | None
    created_at: float


@dataclass(frozen=True)
class EngineRestart:
    """What a brand-new engine read from the database for one thread (the restart step)."""

    thread_id: str
    title: str
    checkpoints: int
    messages: int
    latest_checkpoint_id: str | None
    seconds: float  # to open the new engine, read the thread and close it again
    database: str  # "SQLite" or "Postgres"
    calls: str = ""  # what the new engine did, as LangGraph calls (short Python)
