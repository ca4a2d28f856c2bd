"""One long-lived asyncio event loop on its own thread, for the async engine.

An async checkpointer (AsyncSqliteSaver) is bound to the loop it was created on, and Streamlit's
script thread has no loop that outlives a rerun. So every async run, and the async saver itself,
lives on this loop, and callers on other threads submit coroutines to it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """An event loop running forever on a daemon thread."""

    def __init__(self, name: str = "waypoint-async-engine"):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule a coroutine on the loop; the returned future is safe to wait on elsewhere."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return self.submit(coro).result(timeout)

    def cancel_tasks(self, timeout: float = 2.0) -> None:
        """Cancel every task left on the loop and let them unwind, for up to `timeout` seconds.

        A run that Stop ended may still be unwinding its cancelled task (it can no longer write);
        stopping the loop under it would leave it pending forever.
        """

        async def cancel_all() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=timeout)

        if self.loop.is_running():
            self.run(cancel_all(), timeout + 5)

    def stop(self) -> None:
        """Cancel what is left, stop the loop and close it; stopping twice is harmless."""
        if self.loop.is_running():
            self.cancel_tasks()
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()
