"""`python -m agent`: chat with the agent in a terminal, on the same engine as the browser app.

Tokens print as they arrive; before each tool runs you are asked: [y]es, [n]o (with a reason),
[e]dit the arguments, or [m]ock (type the tool's answer yourself). Proof that the engine stands
without the UI.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from agent.backend import LocalBackend
from agent.choices import AgentChoices, RunOptions
from agent.errors import ThreadBusy, UnknownThread
from agent.events import Done, Error, Step, Token, ToolCall, ToolResult
from agent.logs import TERMINAL_LEVEL, configure_logging
from agent.own_graph import kit_and_settings
from agent.protocol import LOCAL_USER
from agent.settings import load_settings
from agent.views import RunHandle, ThreadView, ToolCallView

Ask = Callable[[str], str]


def follow(backend: LocalBackend, run: RunHandle, out: TextIO) -> str:
    """Print a run's events as they come; return how it ended."""
    offset, streaming = 0, False
    while True:
        events = backend.read_events(LOCAL_USER, run.id, offset, timeout=0.5)
        offset += len(events)
        for event in events:
            if isinstance(event, Token):
                out.write(event.text if streaming else f"\nassistant> {event.text}")
                streaming = True
            elif isinstance(event, ToolCall):
                out.write(f"\n  [tool call] {event.name} {event.args}")
                streaming = False
            elif isinstance(event, ToolResult):
                status = "error" if event.is_error else "result"
                out.write(f"\n  [{status}] {event.name}: {event.content[:200]}")
            elif isinstance(event, Step):
                out.write(f"\n  · {event.node} ({event.seconds:.1f}s): {event.summary}")
                streaming = False
            elif isinstance(event, Error):
                out.write(f"\n  ! {event.message}")
            elif isinstance(event, Done):
                out.write("\n")
                out.flush()
                return event.status
            out.flush()
        if not events and backend.run_status(LOCAL_USER, run.id) is None:
            return "error"  # the run is gone (its thread deleted): no Done will come


def ask_decisions(calls: tuple[ToolCallView, ...], ask: Ask, out: TextIO) -> dict[str, dict]:
    """Ask y/n/edit/mock for each pending call."""
    decisions: dict[str, dict] = {}
    for call in calls:
        out.write(f"\nThe agent wants to run {call.name} with {call.args_json}\n")
        while True:
            answer = ask("Run it? [y]es / [n]o / [e]dit / [m]ock: ").strip().lower()[:1]
            if answer == "y":
                decisions[call.id] = {"action": "approve"}
            elif answer == "n":
                decisions[call.id] = {"action": "reject", "reason": ask("Reason (optional): ")}
            elif answer == "e":
                decisions[call.id] = {"action": "edit", "args": ask("New arguments as JSON: ")}
            elif answer == "m":
                decisions[call.id] = {"action": "mock", "content": ask("The tool's answer: ")}
            else:
                continue
            break
    return decisions


def ask_answers(view: ThreadView, ask: Ask, out: TextIO) -> dict[str, str]:
    """Your own graph's questions, one by one: the payload as JSON, the answer as JSON or text."""
    answers = {}
    for question in view.questions:
        out.write(f"\nThe graph asks: {json.dumps(question.value, ensure_ascii=False)}\n")
        if question.schema:
            out.write(f"  (answer as: {json.dumps(question.schema, ensure_ascii=False)})\n")
        answers[question.id] = ask("answer (JSON or text)> ")
    return answers


def converse(
    backend: LocalBackend,
    thread_id: str | None,
    choices: AgentChoices,
    options: RunOptions,
    ask: Ask = input,
    out: TextIO = sys.stdout,
) -> str | None:
    """The read-run-approve loop, until end of input; returns the thread (None if none began).

    Without a thread, the first message starts one (`start_thread`): nothing is stored before it,
    and a message refused before its run leaves no thread behind.
    """
    try:
        while True:
            view = backend.thread_view(LOCAL_USER, thread_id) if thread_id else None
            try:
                if view is not None and view.questions:
                    answers = ask_answers(view, ask, out)
                    run = backend.answer(LOCAL_USER, view.thread.id, answers, options)
                elif view is not None and view.pending_calls:
                    decisions = ask_decisions(view.pending_calls, ask, out)
                    run = backend.decide(LOCAL_USER, view.thread.id, decisions, choices, options)
                else:
                    text = ask("\nyou> ")
                    if not text.strip():
                        continue
                    if thread_id is None:
                        run = backend.start_thread(LOCAL_USER, text, choices, options)
                        thread_id = run.thread_id
                    else:
                        run = backend.send_message(LOCAL_USER, thread_id, text, choices, options)
            except (ValueError, ThreadBusy) as problem:  # DecisionError and InputError included
                out.write(f"  ! {problem}\n")
                continue
            follow(backend, run, out)
            if backend.kit.messages_key is None:  # a graph without messages: its state is the reply
                values = backend.thread_view(LOCAL_USER, run.thread_id).values
                out.write(f"state> {json.dumps(values, ensure_ascii=False, indent=2)}\n")
    except (EOFError, KeyboardInterrupt):
        return thread_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent", description=__doc__.splitlines()[0])
    parser.add_argument("--thread", help="continue this thread id instead of starting a new one")
    parser.add_argument("--list", action="store_true", help="list recent threads and exit")
    parser.add_argument("--engine", choices=["sync", "async"], default="sync")
    parser.add_argument("--durability", choices=["sync", "async", "exit"], default="sync")
    parser.add_argument(
        "--graph",
        help="your own graph instead of the built-in agent: path/to/agent.py:graph, "
        "package.module:graph or a langgraph.json (the first graph it names)",
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
        if args.graph:
            settings = replace(settings, graph=args.graph)
        configure_logging(settings.log_level or TERMINAL_LEVEL)
        kit, settings = kit_and_settings(settings)
        backend = LocalBackend(settings, kit=kit)
    except (RuntimeError, ValueError) as problem:  # a bad secrets.toml, a database it cannot open
        print(problem, file=sys.stderr)
        return 2
    try:
        if args.list:
            for thread in backend.list_threads(LOCAL_USER, limit=20):
                print(f"{thread.id}  {thread.status:8}  {thread.title}")
            return 0
        choices = AgentChoices.defaults(settings)
        try:
            # A setting that cannot work (no key, no model) stops here, not at the first message.
            model = backend.contexts(choices, frozenset()).model if kit.builtin else None
            opened = backend.get_thread(LOCAL_USER, args.thread) if args.thread else None
        except (ValueError, UnknownThread) as problem:
            print(problem, file=sys.stderr)
            return 2
        name = getattr(model, "model_name", None)
        shown = f"{choices.provider} ({name})" if name else choices.provider
        where = f"Thread {opened.id}" if opened else "New thread (saved with your first message)"
        if kit.builtin:
            print(f"{where} · model: {shown} · search: {choices.search}")
        else:
            hint = "" if kit.messages_key else f" · input as JSON, like {kit.input_example()}"
            print(f"{where} · graph: {kit.label}{hint}")
        print("Type a question (Ctrl-D to quit).")
        if opened is not None:
            for message in backend.thread_view(LOCAL_USER, opened.id).messages:
                print(f"{message.role}> {message.text}")
        options = RunOptions(args.engine, True, args.durability)
        thread_id = converse(backend, opened.id if opened else None, choices, options)
        again = f"python -m agent --thread {thread_id}" + (
            f" --graph {args.graph}" if args.graph else ""
        )
        later = f" Continue later with: {again}" if thread_id else ""
        print(f"\nBye.{later}")
        return 0
    finally:
        backend.close()


if __name__ == "__main__":
    raise SystemExit(main())
