"""The names a checkpoint's metadata and pending writes use, LangGraph's and Waypoint's own.

LangGraph 1.x no longer stores `writes` in metadata, so metadata does not say which node wrote a
checkpoint, nor what `as_node` an update used; Waypoint's own updates add the `waypoint_*` keys
below for that (scalars only: LangGraph copies only str / int / float / bool values of the
config's metadata into the checkpoint's).
"""

from __future__ import annotations

INPUT = "__input__"  # the writer of "input" rows: a run's input
NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
RESUME, INTERRUPT, ERROR = "__resume__", "__interrupt__", "__error__"

# edit | cancel_calls | continue | fork_thread | regenerate | resend | allow_tool | ask_again | ...
OP = "waypoint_op"
SERVER_STOPPED = "server_stopped"  # the op of agent.recovery's checkpoint after a cut run
STOPPED = "stopped"  # the op of the checkpoint agent.recovery writes after your Stop
APPLIED = "waypoint_applied"  # the node whose saved results that checkpoint applied
AS_NODE = "waypoint_as_node"
MESSAGE = "waypoint_message"
POSITION = "waypoint_position"  # 1-based, as the UI numbers messages
PART = "waypoint_part"  # text | tool_args | tool_result
TOOL = "waypoint_tool"
COUNT = "waypoint_count"
SOURCE_THREAD = "waypoint_source_thread"
SOURCE_CHECKPOINT = "waypoint_source_checkpoint"
SOURCE_TITLE = "waypoint_source_title"
RUN = "waypoint_run"  # put there by agent.runs for every checkpoint of a run
# On the checkpoints of a run that answered your graph's HITL request partly or wholly by your
# rules: every decision in a few words ("web_search auto-approved by your setting").
DECIDED = "waypoint_decided"

# How the user's Stop shows in a stored `__error__` write: the sync engine raises RunCancelled, the
# async engine's task is cancelled (LangGraph stores the exception's repr).
STOP_ERRORS = ("RunCancelled(", "CancelledError(")


def is_stop(error: object) -> bool:
    """Whether a node's stored error is the user's Stop rather than a failure."""
    return str(error).startswith(STOP_ERRORS)
