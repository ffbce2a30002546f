"""MicroBatcher with a fake model function: batching, a full queue, errors, shutdown."""

from __future__ import annotations

import asyncio
import threading

import pytest

from models.batcher import BatcherClosed, BatcherOverloaded, MicroBatcher
from tests.waiting import wait_until


async def test_concurrent_calls_share_batches_on_one_thread() -> None:
    seen: list[list[int]] = []
    threads: set[int] = set()

    def double(items: list[int]) -> list[int]:
        seen.append(items)
        threads.add(threading.get_ident())
        return [item * 2 for item in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(double, max_batch=8, max_wait_ms=50)
    await batcher.start()
    results = await asyncio.gather(*(batcher.submit(i) for i in range(20)))
    await batcher.close()
    assert results == [i * 2 for i in range(20)]
    assert all(len(batch) <= 8 for batch in seen)
    assert len(seen) < 20  # calls were grouped
    assert len(threads) == 1 and threading.get_ident() not in threads


class HeldModel:
    """A model function that blocks in its first batch until ``release`` is set (``started``: it is in)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, items: list[int]) -> list[int]:
        self.started.set()
        self.release.wait(5)
        return items

    async def wait_started(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.started.wait, 5)


async def test_full_queue_raises_at_once_instead_of_growing() -> None:
    model = HeldModel()
    batcher: MicroBatcher[int, int] = MicroBatcher(model, max_batch=1, max_wait_ms=0, max_queue=2)
    await batcher.start()
    first = asyncio.create_task(batcher.submit(0))
    await model.wait_started()  # the worker takes item 0 and blocks in the model
    queued = [asyncio.create_task(batcher.submit(i)) for i in (1, 2)]
    await wait_until(lambda: batcher.pending == 2, what="items 1 and 2 to be queued")
    with pytest.raises(BatcherOverloaded):
        await batcher.submit(3)
    model.release.set()
    assert await first == 0
    assert await asyncio.gather(*queued) == [1, 2]
    await batcher.close()


async def test_an_error_reaches_every_waiter_and_the_batcher_survives() -> None:
    calls = 0

    def flaky(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("model exploded")
        return [item.upper() for item in items]

    batcher: MicroBatcher[str, str] = MicroBatcher(flaky, max_batch=4, max_wait_ms=30)
    await batcher.start()
    outcomes = await asyncio.gather(*(batcher.submit(x) for x in "abc"), return_exceptions=True)
    assert all(isinstance(outcome, ValueError) for outcome in outcomes)
    assert await batcher.submit("d") == "D"
    await batcher.close()


async def test_close_finishes_the_batch_in_flight_and_fails_the_rest() -> None:
    model = HeldModel()
    batcher: MicroBatcher[int, int] = MicroBatcher(model, max_batch=1, max_wait_ms=0, max_queue=10)
    await batcher.start()
    in_flight = asyncio.create_task(batcher.submit(1))
    await model.wait_started()
    waiting = asyncio.create_task(batcher.submit(2))
    await wait_until(lambda: batcher.pending == 1, what="item 2 to be queued")
    closing = asyncio.create_task(batcher.close())
    await wait_until(lambda: batcher._closed, what="close() to begin")
    model.release.set()
    await closing
    assert await in_flight == 1
    with pytest.raises(BatcherClosed):
        await waiting
    with pytest.raises(BatcherClosed):
        await batcher.submit(3)


async def test_run_in_thread_uses_the_inference_thread() -> None:
    idents: list[int] = []

    def record(items: list[int]) -> list[int]:
        idents.append(threading.get_ident())
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(record, max_wait_ms=0)
    await batcher.start()
    loader_thread = await batcher.run_in_thread(threading.get_ident)
    await batcher.submit(1)
    await batcher.close()
    assert idents == [loader_thread]
