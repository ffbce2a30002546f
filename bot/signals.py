"""SIGINT and SIGTERM for long-running commands, installed by the command itself.

Python turns SIGINT into KeyboardInterrupt only when the process started with SIGINT at its
default. A background job of a shell script (``python -m bot.sandbox --port 8081 &``, anything
under ``nohup``) starts with SIGINT *ignored*, and then Ctrl-C or ``kill -INT`` does nothing.
So every long-running command (``steward run``, ``steward demo``, ``python -m bot.sandbox``)
installs its own handlers on the event loop, which replace an inherited "ignore".
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["STOP_SIGNALS", "run_until_signalled", "stop_signal_handlers"]

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signal_handlers(stop: Callable[[], None]) -> Any:
    """Call ``stop`` on SIGINT or SIGTERM while the block runs (the running loop's handlers)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def run_until_signalled(work: Coroutine[Any, Any, T]) -> tuple[bool, T | None]:
    """Run ``work``; SIGINT or SIGTERM cancels it (its ``finally`` blocks run). Returns (stopped, result)."""
    task: asyncio.Task[T] = asyncio.ensure_future(work)
    stopped = False

    def stop() -> None:
        nonlocal stopped
        stopped = True
        task.cancel()

    with stop_signal_handlers(stop):
        try:
            return False, await task
        except asyncio.CancelledError:
            if not stopped:
                raise
            return True, None
