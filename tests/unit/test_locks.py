"""bot.services.locks.KeyedLocks: work under one key runs one at a time, other keys do not wait, and a key's
lock is dropped once nobody holds or waits for it (the escalation thread and member locks, moderation's
reporter lock)."""

from __future__ import annotations

import asyncio

import pytest

from bot.services.locks import KeyedLocks


async def test_same_key_runs_one_at_a_time_and_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    first_in = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []

    async def first() -> str:
        order.append("first in")
        first_in.set()
        await release.wait()
        order.append("first out")
        return "a"

    async def second() -> str:
        order.append("second in")
        return "b"

    async def other() -> str:
        order.append("other key")
        return "c"

    one = asyncio.create_task(locks.run("thread", first))
    await first_in.wait()
    two = asyncio.create_task(locks.run("thread", second))
    assert await locks.run("elsewhere", other) == "c"  # another key runs while "thread" is held
    await asyncio.sleep(0)  # one step of the loop: the second task starts and queues on the key
    assert locks._locks["thread"][1] == 2 and not two.done()  # it waits for the first
    release.set()
    assert (await one, await two) == ("a", "b")
    assert order == ["first in", "other key", "first out", "second in"]
    assert locks._locks == {}  # nothing kept once nobody holds or waits


async def test_a_failing_call_releases_its_key() -> None:
    locks = KeyedLocks()

    async def boom() -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        await locks.run(1, boom)
    assert locks._locks == {}

    async def fine() -> int:
        return 2

    assert await asyncio.wait_for(locks.run(1, fine), timeout=1) == 2
