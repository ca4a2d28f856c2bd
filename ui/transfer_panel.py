"""Export the selected thread (every checkpoint and branch) and import a file as a new thread.

The export is built only when the user clicks Download (deferred data), not on every rerun. An
import is validated in full before anything is written; a bad file gets the reason and writes
nothing.
"""

from __future__ import annotations

import streamlit as st

from agent.protocol import EXPORT_MIME_TYPE, Backend, ThreadInfo, TransferError, export_filename
from ui.identity import current_user
from ui.safe_text import SENTENCE_CHARS, plain
from ui.session import INSPECTOR_NOTICE, select_thread

HELP = (
    "An export holds every checkpoint of the thread, with all its branches, as readable JSON "
    "lines. Importing it creates a new thread with the same history; the original is untouched."
)


def export_button(backend: Backend, thread: ThreadInfo) -> None:
    st.download_button(
        "Export this thread",
        data=lambda: backend.export_thread(current_user(), thread.id),
        file_name=export_filename(thread),
        mime=EXPORT_MIME_TYPE,
        icon=":material/download:",
        on_click="ignore",
        width="stretch",
        help=HELP,
    )


def import_form(backend: Backend) -> None:
    upload = st.file_uploader(
        "Import a thread (.jsonl)", type=["jsonl"], key="import_file", help=HELP
    )
    if upload is not None and st.button(
        "Import as a new thread", icon=":material/upload:", key="import_go"
    ):
        try:
            info = backend.import_thread(current_user(), upload.getvalue())
        except TransferError as problem:
            st.error(plain(problem, SENTENCE_CHARS), icon=":material/error:")
            return
        select_thread(info.id)
        st.session_state[INSPECTOR_NOTICE] = f"Imported as “{plain(info.title)}”, a new thread."
        del st.session_state["import_file"]  # so a second click cannot import it twice
        st.rerun()
