"""Waiting in tests on a condition, not on the clock.

A test that sleeps "long enough" for something to have happened is slow on a fast machine and flaky on a
busy one. These helpers poll the condition itself, and fail with a message that names what never happened.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

Predicate = Callable[[], object | Awaitable[object]]


async def _holds(predicate: Predicate) -> bool:
    result = predicate()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


async def wait_until(
    predicate: Predicate,
    *,
    timeout: float = 5.0,
    what: str = "the condition",
    poll: float = 0.01,
    required: bool = True,
) -> bool:
    """Return as soon as ``predicate()`` (sync or async) is true; after ``timeout`` seconds fail, or with
    ``required=False`` return False and let the test's own assertions say what is wrong.

    ``poll=0`` only yields to the event loop between checks (for tests on a fake clock, where a real
    timer would let the clock jump)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await _holds(predicate):
        if loop.time() >= deadline:
            if required:
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
            return False
        await asyncio.sleep(poll)
    return True


async def stays_pending(task: asyncio.Future[object], *, window: float, what: str = "the task") -> None:
    """Assert that ``task`` does not finish within ``window`` seconds: a bounded chance for a wrong
    behaviour (answering too early, not waiting for a lock) to show itself."""
    done, _ = await asyncio.wait({task}, timeout=window)
    assert not done, f"{what} finished within {window:g}s but should still be waiting"


async def holds_for(predicate: Predicate, *, window: float, what: str = "the condition", poll: float = 0.01) -> None:
    """Assert that ``predicate()`` stays true for ``window`` seconds (a limit that must not be passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window
    while loop.time() < deadline:
        assert await _holds(predicate), f"{what} stopped holding within {window:g}s"
        await asyncio.sleep(poll)


async def wait_for_drain(
    remaining: Callable[[], int], *, stall: float = 20.0, what: str = "the backlog", poll: float = 0.2
) -> bool:
    """Wait until ``remaining()`` is 0 for as long as it keeps going down: a busy machine gets the time it
    needs, a stall (no progress for ``stall`` seconds) ends the wait. False when it stalled."""
    loop = asyncio.get_running_loop()
    best, progressed = remaining(), loop.time()
    while best > 0:
        await asyncio.sleep(poll)
        now = remaining()
        if now < best:
            best, progressed = now, loop.time()
        elif loop.time() - progressed > stall:
            return False
    return True
