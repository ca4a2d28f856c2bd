"""Time travel over a thread's checkpoints: the timeline, one checkpoint's detail, and branches.

Everything here reads what LangGraph 1.2 already stores; nothing needs a table of its own. The
algorithms work on plain stored data, so they serve any database's `CheckpointStore`:

- `keys`: the metadata keys and write channels Waypoint reads and writes (`waypoint_op`, ...).
- `tree`: the checkpoint tree from (id, parent, metadata) rows: paths, tips, branches, runs.
- `nodes`: what runs next from a stored checkpoint and which nodes wrote it (the trigger rule).
- `labels` and `text`: what happened at a checkpoint, and its calls and writes, in a few words.
- `versions`: sibling versions of a message (the chat's `< 2 / 3 >` switcher) and their order.
- `diff` and `rows`: what changed since the parent; a checkpoint as the timeline lists it.
- `reader`: `Timeline`, which runs them over one saver and store, with caches.

What a checkpoint's metadata tells (measured on LangGraph 1.2.24 with Waypoint's savers): `source`
("input" before a run applies its input, "loop" after each step, "update" after `update_state`,
"fork" when a run starts from a past checkpoint or `as_node="__copy__"`), `step`, `parents`, and
every scalar of the run config's `metadata`: so the `waypoint_run` that `agent.runs` puts there is
on every checkpoint a run writes (not on `update_state` ones). Pending writes are saved on a
checkpoint for the step after it: `messages` and `branch:to:*` from finished tasks,
`__interrupt__` when `action` asked for approval, `__resume__` with the human's decisions,
`__error__` when a node failed.

The names other modules use are importable from here.
"""

from agent.timeline.keys import (
    APPLIED,
    AS_NODE,
    COUNT,
    DECIDED,
    ERROR,
    INPUT,
    INTERRUPT,
    MESSAGE,
    NULL_TASK_ID,
    OP,
    PART,
    POSITION,
    RESUME,
    RUN,
    SERVER_STOPPED,
    SOURCE_CHECKPOINT,
    SOURCE_THREAD,
    SOURCE_TITLE,
    STOP_ERRORS,
    STOPPED,
    TOOL,
    is_stop,
)
from agent.timeline.nodes import GraphShape, as_node_keeping_next
from agent.timeline.reader import Timeline, UnknownCheckpoint, config_at
from agent.timeline.text import call_text, decisions_text, message_preview, preview
from agent.timeline.tree import Skeleton, bisect_path
from agent.timeline.versions import divergence, same_version, version_key

__all__ = [
    "APPLIED",
    "AS_NODE",
    "COUNT",
    "DECIDED",
    "ERROR",
    "INPUT",
    "INTERRUPT",
    "MESSAGE",
    "NULL_TASK_ID",
    "OP",
    "PART",
    "POSITION",
    "RESUME",
    "RUN",
    "SERVER_STOPPED",
    "SOURCE_CHECKPOINT",
    "SOURCE_THREAD",
    "SOURCE_TITLE",
    "STOPPED",
    "STOP_ERRORS",
    "TOOL",
    "GraphShape",
    "Skeleton",
    "Timeline",
    "UnknownCheckpoint",
    "as_node_keeping_next",
    "bisect_path",
    "call_text",
    "config_at",
    "decisions_text",
    "divergence",
    "is_stop",
    "message_preview",
    "preview",
    "same_version",
    "version_key",
]
