"""A wake-up signal that synchronous code may fire without a lock."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Pulse"]


class Pulse:
    """Wakes every current waiter on each :meth:`fire`. Long polls and ``wait_for()`` wait on it.

    The event is set and replaced on each change: unlike ``asyncio.Condition.notify_all()`` this needs no
    lock, so the synchronous user helpers can wake waiters."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float) -> None:
        """Return at the next :meth:`fire`, or after ``timeout`` seconds."""
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
