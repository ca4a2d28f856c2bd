"""The errors a backend raises for people: what was wrong and how to fix it, in one sentence.

Three kinds, as an HTTP API would answer (langgraph-sdk's errors map the same way): something is
not there (not found), the thread is busy (conflict), or what was sent cannot be used (invalid).
A page catches `BackendError` and shows the message; a remote backend maps its status codes onto
these, so pages never learn which backend they talk to. Each kind also keeps the built-in base it
had before (LookupError, RuntimeError, ValueError), so engine code catching those still works.
"""

from __future__ import annotations


class BackendError(Exception):
    """Base of every error meant for the user; `str(error)` says what to do."""


class NotFound(BackendError, LookupError):
    """What was asked for does not exist, or is not the caller's (both answer the same)."""


class Conflict(BackendError, RuntimeError):
    """The request is fine but cannot run now (a run is going)."""


class Invalid(BackendError, ValueError):
    """The request cannot be used as it is."""


class UnknownThread(NotFound):
    """No thread has this id (deleted, or a stale link)."""

    def __init__(self, thread_id: str):
        super().__init__(
            f"There is no thread {thread_id!r}: it may have been deleted. "
            "Pick another thread or start a new one."
        )
        self.thread_id = thread_id


class UnknownCheckpoint(NotFound):
    """The thread has no checkpoint with this id."""

    def __init__(self, thread_id: str, checkpoint_id: str):
        super().__init__(
            f"This thread has no checkpoint {checkpoint_id!r}. Reload the timeline and pick one "
            "from it."
        )
        self.thread_id = thread_id
        self.checkpoint_id = checkpoint_id


class ThreadBusy(Conflict):
    """The thread already has an active run."""

    def __init__(self, thread_id: str):
        super().__init__(
            "This thread is busy: a run is still going. Wait for it to finish or press Stop."
        )
        self.thread_id = thread_id


class InputError(Invalid):
    """The user's input cannot be used as it is; the message says how to fix it."""


class DecisionError(Invalid):
    """A human decision that cannot be applied; the message says what to fix."""


class TransferError(Invalid):
    """A thread cannot be exported, or a file cannot be imported; the message says how to fix it."""


class ModelListError(Invalid):
    """The server could not be asked for its models; the message says why and what to do."""
