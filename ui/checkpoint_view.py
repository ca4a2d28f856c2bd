"""One checkpoint in the inspector: its messages, what changed, the raw state, its metadata.

Everything is drawn from the engine's `CheckpointDetail`, which an imported file can fill with
anything: text goes through `ui.safe_text` (never as HTML, never fetching), and every long string
is cut (`ui.long_text` for messages, `clip_strings` for the JSON views) so the page stays small.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from agent.protocol import (
    CheckpointDetail,
    FieldChange,
    MessageView,
    SubgraphView,
    ToolCallView,
    WordChange,
    call_text,
)
from ui.long_text import json_view
from ui.safe_text import SENTENCE_CHARS, clip, code, markdown, plain, plain_block
from ui.transcript import transcript

DIFF_CHARS = 2_000  # of each message shown in the Changes tab (the Messages tab shows it all)

DIFF_HELP = (
    "What this checkpoint's step changed in the state, compared with its parent checkpoint: "
    "messages by id (an edit keeps the id, so it shows as changed, word by word), then other "
    "channels."
)
# How a word diff marks its runs: struck through on red, or bold on green (not by colour alone).
WORD_MARKS = {"removed": (":red-background[~~", "~~]"), "added": (":green-background[**", "**]")}
DIFF_LEGEND = (
    "Inside a changed message: "
    + WORD_MARKS["removed"][0]
    + "removed"
    + WORD_MARKS["removed"][1]
    + " · "
    + WORD_MARKS["added"][0]
    + "added"
    + WORD_MARKS["added"][1]
)
WRITES_HELP = (
    "Pending writes are saved on a checkpoint for the step after it: results of tasks that "
    "finished, an interrupt asking for approval, or the human's answer to it."
)


def _calls(calls: Iterable[ToolCallView]) -> str:
    return ", ".join(code(call_text(c.name, c.args)) for c in calls)


def _message_line(message: MessageView) -> str:
    render = plain_block if message.role == "human" else markdown
    body = render(clip(message.text, DIFF_CHARS)) if message.text else ""
    if len(message.text) > DIFF_CHARS:
        body += f"\n\n… ({len(message.text):,} characters: the Messages tab shows the rest)"
    if message.tool_calls:
        body += ("\n\n" if body else "") + "calls " + _calls(message.tool_calls)
    return f"**{plain(message.role)}** · {code(message.id)}\n\n{body or '(empty)'}"


def _run(kind: str, text: str) -> str:
    """One run of a word diff on one line: its words escaped (plain text), marked unless shared.
    White space stays outside the marks, where Markdown needs it for them to apply."""
    core = text.strip()
    if not core:
        return " " if text else ""
    lead = " " if text[0].isspace() else ""
    trail = " " if text[-1].isspace() else ""
    start, end = WORD_MARKS.get(kind, ("", ""))
    return f"{lead}{start}{plain_block(core)}{end}{trail}"


def words_markdown(words: Iterable[WordChange]) -> str:
    """A word diff as Markdown lines: every character of the text is escaped, so the only markup
    is the marks themselves (`WORD_MARKS`)."""
    lines: list[list[str]] = [[]]
    previous = "same"
    for word in words:
        for number, piece in enumerate(word.text.split("\n")):
            if number:
                lines.append([])
            elif previous == "removed" and word.kind == "added":
                lines[-1].append(" ")  # a replacement: the old and the new words apart
            lines[-1].append(_run(word.kind, piece))
        previous = word.kind
    return "  \n".join("".join(line).strip() or "\u00a0" for line in lines)


def _field(field: FieldChange) -> None:
    st.markdown(f"**{plain(field.label)}**  \n{words_markdown(field.words)}")
    if field.cut:
        st.caption("Compared over the start only (it is long): the Messages tab shows it all.")


def _changed(before: MessageView, after: MessageView, fields: tuple[FieldChange, ...]) -> None:
    with st.container(border=True):
        st.markdown(f":material/edit: **{plain(after.role)} message changed** · {code(after.id)}")
        for field in fields:
            _field(field)
        if not fields:  # same text and calls: its status, name or an unseen field moved
            st.caption("Its text and tool calls are the same; before and after:")
            st.markdown(_message_line(before) + "\n\n" + _message_line(after))


def _diff(detail: CheckpointDetail) -> None:
    st.caption(DIFF_HELP)
    diff = detail.diff
    if diff.empty:
        st.info("Nothing changed: this checkpoint holds the same state as its parent.")
    for message in diff.added:
        st.success(_message_line(message), icon=":material/add:")
    if diff.changed:
        st.caption(DIFF_LEGEND)
    for change in diff.changed:
        _changed(change.before, change.after, change.fields)
    for message in diff.removed:
        st.error(_message_line(message), icon=":material/delete:")
    if diff.channels:
        st.caption("Other channels written: " + ", ".join(code(c) for c in diff.channels))


def _metadata(detail: CheckpointDetail) -> None:
    st.markdown(
        f"**Checkpoint id** {code(detail.checkpoint_id)}  \n**Parent** {code(detail.parent_id)}"
    )
    st.markdown(
        "**Next** "
        + (", ".join(code(n) for n in detail.next_nodes) or "nothing: the run ended here")
    )
    json_view(detail.metadata, "metadata", detail.checkpoint_id, expanded=False)
    st.caption(WRITES_HELP)
    if not detail.pending_writes:
        st.caption("No pending writes.")
    for write in detail.pending_writes:
        st.markdown(
            f"{code(write.channel)} · {plain(write.summary, SENTENCE_CHARS)}  \n"
            f":gray[task {plain(write.task_id)}]"
        )
    for interrupt in detail.interrupts:
        st.warning(
            f"Interrupt {code(interrupt.id)}: asks about {_calls(interrupt.calls) or 'a value'}",
            icon=":material/front_hand:",
        )


def _subgraph(subgraph: SubgraphView) -> None:
    """A subgraph running inside the next step: where it stands, and its own checkpoints."""
    with st.container(border=True):
        st.markdown(
            f":material/account_tree: **Inside the subgraph {code(subgraph.node)}** · "
            f"namespace {code(subgraph.namespace)}"
        )
        waiting = ", ".join(subgraph.next_nodes)
        st.caption(
            "A subgraph keeps checkpoints of its own, in its own namespace, while the parent's "
            "step runs it: "
            + (f"it stands before {plain(waiting)}" if waiting else "it has finished")
            + (", waiting for your answer." if subgraph.interrupts else ".")
            + " Its newest state:"
        )
        json_view(subgraph.values, "subgraph state", f"sub_{subgraph.namespace}", expanded=1)
        rows = [
            f"- step {c.step} · {plain(c.source)} · {code(c.checkpoint_id)}"
            for c in subgraph.checkpoints
        ]
        if rows:
            st.markdown(f"Its checkpoints, newest first ({len(rows)}):\n" + "\n".join(rows))


def checkpoint_view(detail: CheckpointDetail) -> None:
    messages, changes, raw, meta = st.tabs(
        ["Messages", "Changes", "State (JSON)", "Metadata and writes"]
    )
    with messages:
        if detail.messages:
            transcript(detail.messages, key=f"inspector_{detail.thread_id}")
        else:
            st.caption("No messages yet at this checkpoint.")
        if detail.pending_calls:
            st.caption("A run from here would ask for approval of: " + _calls(detail.pending_calls))
    with changes:
        _diff(detail)
    with raw:
        state = {"messages": list(detail.raw_messages), **detail.values}
        json_view(state, "state", detail.checkpoint_id, expanded=1)
    with meta:
        _metadata(detail)
    for subgraph in detail.subgraphs:
        _subgraph(subgraph)
    if detail.calls:
        with st.expander("What LangGraph did", icon=":material/code:"):
            st.caption(
                "The LangGraph calls behind this view, as Python to copy: the state at this "
                "checkpoint, the timeline, and for a state edit the update_state that wrote it."
            )
            st.code(detail.calls, language="python")
