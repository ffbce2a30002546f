"""MicroBatcher's ``group_by`` (one call of the model per key) and ``max_wait_ms=0`` (no waiting for company):
what the FAQ's encoder runtime relies on. No model: a fake function on the batcher's thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from models.batcher import MicroBatcher


async def _queued(batcher: MicroBatcher[Any, int], n: int) -> None:
    """Yield to the loop until ``n`` items wait in the batcher's queue."""
    for _ in range(1000):
        if batcher.pending >= n:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"only {batcher.pending} of {n} items reached the queue")


async def test_items_of_different_keys_never_share_a_call_and_keys_run_in_arrival_order() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[list[tuple[str, int]]] = []

    def model(items: list[tuple[str, int]]) -> list[int]:
        calls.append(list(items))
        started.set()
        release.wait(5)
        return [n * 10 for _, n in items]

    batcher: MicroBatcher[tuple[str, int], int] = MicroBatcher(
        model, max_batch=8, max_wait_ms=0, name="grouped", group_by=lambda item: item[0]
    )
    await batcher.start()
    first = asyncio.create_task(batcher.submit(("a", 0)))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    # While the first call runs, items for two keys queue up, interleaved.
    items = [("b", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5)]
    waiting = [asyncio.create_task(batcher.submit(item)) for item in items]
    await _queued(batcher, len(items))
    release.set()
    assert await first == 0
    assert await asyncio.gather(*waiting) == [10, 20, 30, 40, 50]
    await batcher.close()
    assert calls == [[("a", 0)], [("b", 1), ("b", 3)], [("a", 2), ("a", 4)], [("c", 5)]]
    assert batcher.batches == 4 and batcher.items == 6


async def test_an_error_in_one_group_fails_only_that_group() -> None:
    started, release = threading.Event(), threading.Event()

    def model(items: list[tuple[str, int]]) -> list[int]:
        started.set()
        release.wait(5)
        if items[0][0] == "broken":
            raise ValueError("this model is broken")
        return [n for _, n in items]

    batcher: MicroBatcher[tuple[str, int], int] = MicroBatcher(
        model, max_batch=8, max_wait_ms=0, name="grouped", group_by=lambda item: item[0]
    )
    await batcher.start()
    first = asyncio.create_task(batcher.submit(("ok", 0)))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    items = [("broken", 1), ("ok", 2), ("broken", 3)]
    waiting = [asyncio.create_task(batcher.submit(item)) for item in items]
    await _queued(batcher, len(items))
    release.set()
    outcomes = await asyncio.gather(first, *waiting, return_exceptions=True)
    await batcher.close()
    assert outcomes[0] == 0 and outcomes[2] == 2
    assert isinstance(outcomes[1], ValueError) and isinstance(outcomes[3], ValueError)


async def test_without_a_wait_an_item_runs_at_once_and_the_rest_batch_behind_it() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[list[int]] = []

    def model(items: list[int]) -> list[int]:
        calls.append(list(items))
        started.set()
        release.wait(5)
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(model, max_batch=3, max_wait_ms=0, name="nowait")
    await batcher.start()
    assert batcher.running
    first = asyncio.create_task(batcher.submit(0))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    assert calls == [[0]]  # taken alone, without waiting for more
    rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 6)]
    await _queued(batcher, 5)
    release.set()
    assert await first == 0 and await asyncio.gather(*rest) == [1, 2, 3, 4, 5]
    await batcher.close()
    assert not batcher.running
    assert calls == [[0], [1, 2, 3], [4, 5]]
