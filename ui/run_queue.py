"""On an Agent Server, what a message sent during a run did, said where the chat shows it.

The Multitask setting (`ui.settings_panel`) decides it and the server does it
(`agent.server_multitask`): the chat input says, while a run is going, what sending will do; a
queued message shows under the live run, marked as waiting, until its own run starts (then the
live view follows that run); and a run your message interrupted or rolled back is said so under
the transcript, which shows what of it is kept (nothing, after a rollback).
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import RunOptions, ThreadView
from ui.long_text import long_text
from ui.safe_text import plain_block
from ui.transcript import AVATARS

# The chat input's placeholder while a run is going, by what a message sent then does (short: a
# phone shows about forty characters; the chip above says the rest).
BUSY_PLACEHOLDERS = {
    "reject": "The agent is answering: wait for it, or press Stop to send something else",
    "enqueue": "Sent now, a message waits its turn",
    "interrupt": "Sent now, a message interrupts this run",
    "rollback": "Sent now, a message rolls this run back",
}
SUPERSEDED_ICONS = {"interrupted": ":material/pause_circle:", "rolled_back": ":material/undo:"}
QUEUED_CAPTION = "Queued: it runs when the run before it ends (the Agent Server's enqueue)."


def busy_placeholder(options: RunOptions, agent_server: bool) -> str:
    return BUSY_PLACEHOLDERS[options.multitask if agent_server else "reject"]


def superseded_notice(view: ThreadView) -> None:
    """The run the last message interrupted or rolled back, when it did."""
    if view.superseded is not None:
        st.info(view.superseded.text, icon=SUPERSEDED_ICONS.get(view.superseded.kind))


def queued_messages(view: ThreadView) -> None:
    """The messages waiting for a run of their own, each marked as such, oldest first."""
    for number, message in enumerate(view.queued):
        with st.chat_message(AVATARS["human"]):
            st.caption(QUEUED_CAPTION)
            long_text(message.text, f"queued_{number}_{message.id}", plain_block)
