"""Micro-batching for model inference, off the event loop.

Concurrent ``submit()`` calls are collected until ``max_batch`` items or ``max_wait_ms`` have
passed, then run as one call of ``fn`` on a single dedicated thread: fast tokenizers are not
thread-safe ("Already borrowed"), and one thread that owns the model is the simplest way to
respect that. The queue is bounded: when it is full, ``submit`` raises ``BatcherOverloaded``
at once, so a flood never grows memory and the caller can mark the item unclassified.

``group_by``: items whose keys differ never share a call of ``fn`` (say, texts for different models);
a batch runs as one call per key, in the order the keys first came, and an error fails only its group.
``max_wait_ms=0`` batches only what queued up while the previous batch ran: no item waits for company.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")


class BatcherOverloaded(Exception):
    """The queue is full: the caller should degrade (e.g. store the message unclassified)."""


class BatcherClosed(Exception):
    """The batcher was closed before this item ran."""


class MicroBatcher(Generic[T, R]):
    def __init__(
        self,
        fn: Callable[[list[T]], list[R]],
        *,
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        max_queue: int = 1024,
        name: str = "inference",
        group_by: Callable[[T], Hashable] | None = None,
    ) -> None:
        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be at least 1")
        self._fn = fn
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.name = name
        self._group_by = group_by
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self._busy = False  # a batch is running on the thread
        self._idle = asyncio.Event()
        self.batches = 0
        self.items = 0

    @property
    def pending(self) -> int:
        return 0 if self._queue is None else self._queue.qsize()

    @property
    def running(self) -> bool:
        """Started and not closed: ``submit`` and ``run_in_thread`` take work."""
        return self._worker is not None and not self._closed

    async def start(self) -> None:
        if self._worker is not None:
            return
        self._queue = asyncio.Queue(maxsize=self.max_queue)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        self._worker = asyncio.create_task(self._run(), name=f"{self.name}-batcher")

    async def run_in_thread(self, fn: Callable[[], V]) -> V:
        """Run ``fn`` on the inference thread (load the model there)."""
        if self._executor is None:
            raise RuntimeError("batcher not started")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def submit(self, item: T) -> R:
        if self._queue is None or self._closed:
            raise BatcherClosed(f"{self.name} batcher is not running")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((item, future))
        except asyncio.QueueFull:
            raise BatcherOverloaded(f"{self.name} queue is full ({self.max_queue})") from None
        return await future

    async def _collect(self) -> list[tuple[T, asyncio.Future[R]]]:
        assert self._queue is not None
        batch = [await self._queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        while len(batch) < self.max_batch:
            # Take whatever is already queued without waiting.
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            remaining = deadline - loop.time()
            if len(batch) >= self.max_batch or remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        while not self._closed:
            batch = await self._collect()
            self._busy = True
            self._idle.clear()
            try:
                await self._run_batch(batch)
            finally:
                self._busy = False
                self._idle.set()

    async def _run_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        live = [(item, future) for item, future in batch if not future.cancelled()]
        if self._group_by is None:
            groups = [live] if live else []
        else:
            by_key: dict[Hashable, list[tuple[T, asyncio.Future[R]]]] = {}
            for entry in live:
                by_key.setdefault(self._group_by(entry[0]), []).append(entry)
            groups = list(by_key.values())
        for group in groups:
            await self._run_group(group)

    async def _run_group(self, live: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in live]
        try:
            assert self._executor is not None
            results = await asyncio.get_running_loop().run_in_executor(self._executor, self._fn, items)
            if len(results) != len(items):
                raise RuntimeError(f"{self.name}: model returned {len(results)} results for {len(items)} inputs")
        except Exception as exc:
            # Every waiter of this batch learns of the error; the batcher stays up.
            log.warning("%s batch of %d failed: %s", self.name, len(items), exc)
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.items += len(items)
        for (_, future), result in zip(live, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        """Stop taking work, let the batch in flight finish, fail what is still queued, stop the thread."""
        self._closed = True
        if self._worker is not None:
            if self._busy:
                await self._idle.wait()
            self._worker.cancel()
            with suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._queue is not None:
            while not self._queue.empty():
                _, future = self._queue.get_nowait()
                if not future.done():
                    future.set_exception(BatcherClosed(f"{self.name} batcher closed"))
        if self._executor is not None:
            # Waits for a forward pass already running on the thread.
            await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)
            self._executor = None
