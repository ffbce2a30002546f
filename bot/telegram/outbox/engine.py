"""The outbox's queue and worker: per-chat queues by priority, the scheduler that picks the best job whose
chat may send now under the rate limits, and how a job ends (a :class:`Delivery`)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod

from bot.domain import Delivery, ErrorKind, Priority
from bot.telegram.outbox.jobs import ChatQueue, Job, OutboxError, OutboxMetrics
from bot.telegram.outbox.limits import Window
from bot.telegram.outbox.reasons import scrub
from bot.telegram.shown import ShownContent

__all__ = ["Clock", "OnForbidden", "OnMigrated", "OutboxEngine", "Sleep"]

log = logging.getLogger("steward.outbox")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
OnForbidden = Callable[[int, str], Awaitable[None]]
OnMigrated = Callable[[int, int], Awaitable[None]]


class OutboxEngine:
    """Queues and schedules Bot API calls under the rate limits; :class:`bot.telegram.outbox.Outbox` is the
    whole thing (see the package docstring)."""

    def __init__(
        self,
        bot: Bot,
        *,
        group_per_minute: int = 20,
        global_per_second: float = 30.0,
        private_per_second: float = 1.0,
        max_attempts: int = 5,
        base_backoff: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        on_forbidden: OnForbidden | None = None,
        on_migrated: OnMigrated | None = None,
        max_backoff: float = 60.0,
        max_rate_limit_waits: int = 10,
        max_in_flight: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        if group_per_minute < 1 or max_attempts < 1 or max_in_flight < 1:
            raise ValueError("group_per_minute, max_attempts and max_in_flight must be at least 1")
        self._bot = bot
        self._group_limit = group_per_minute
        self._group_period = 60.0
        private = Window.per_second(private_per_second)
        self._private_limit, self._private_period = private.limit, private.period
        self._global = Window.per_second(global_per_second)
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._max_rate_limit_waits = max_rate_limit_waits
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.on_forbidden = on_forbidden
        self.on_migrated = on_migrated
        self.metrics = OutboxMetrics()
        self.shown = ShownContent()  # what each message we sent shows now (skips no-op edits)

        self._seq = itertools.count()
        self._chats: dict[int | None, ChatQueue] = {}
        self._pending: dict[int | None, ChatQueue] = {}  # chats with queued or active work
        self._aliases: dict[int, int] = {}  # migrated chat id -> new id
        self._inflight: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._dispatches = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the scheduler (sending also starts it on first use)."""
        self._ensure_started()

    def _ensure_started(self) -> None:
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._run(), name="steward-outbox")

    async def close(self, *, drain_timeout: float = 10.0) -> None:
        """Finish queued and in-flight work for up to ``drain_timeout`` seconds (on the
        outbox's clock), then fail what is left with ``"shutting down"``. New calls fail
        at once after ``close`` began."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._wakeup.set()
        if self._task is not None and self._has_work():
            await self._race(self._idle.wait(), drain_timeout)
        for task in list(self._inflight):
            task.cancel()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for chat in list(self._pending.values()):
            jobs = [item[2] for item in sorted(chat.heap)]
            if chat.active is not None:
                jobs.insert(0, chat.active)
            chat.heap.clear()
            chat.active = None
            for job in jobs:
                if not job.future.done():
                    self.metrics.failed += 1
                    job.future.set_result(self._failure(job, ErrorKind.SHUTDOWN, "shutting down"))
        self._pending.clear()
        self._idle.set()
        self._closed.set()

    def set_group_rate(self, limit: int, *, period_s: float = 60.0) -> None:
        """At most ``limit`` calls per ``period_s`` seconds to each group or channel
        (tests and benchmarks shrink the window; the default is 20 per 60 s)."""
        if limit < 1 or period_s <= 0:
            raise ValueError("the group rate needs limit >= 1 and period_s > 0")
        self._group_limit, self._group_period = limit, period_s
        for key, chat in self._chats.items():
            if key is not None and key < 0 and chat.window is not None:
                chat.window.limit, chat.window.period = limit, period_s
        self._wakeup.set()

    def set_private_rate(self, per_second: float) -> None:
        """Calls per second to each private chat (default 1)."""
        window = Window.per_second(per_second)
        self._private_limit, self._private_period = window.limit, window.period
        for key, chat in self._chats.items():
            if key is not None and key > 0 and chat.window is not None:
                chat.window.limit, chat.window.period = window.limit, window.period
        self._wakeup.set()

    def set_global_rate(self, per_second: float) -> None:
        """Calls per second across all chats (default 30)."""
        window = Window.per_second(per_second)
        self._global.limit, self._global.period = window.limit, window.period
        self._wakeup.set()

    @property
    def closed(self) -> bool:
        return self._closing

    @property
    def pending(self) -> int:
        """Outbox calls queued or in progress."""
        return sum(len(c.heap) + (c.active is not None) for c in self._pending.values())

    def resolve_chat(self, chat_id: int) -> int:
        """The chat id sends to ``chat_id`` go to (after migrations)."""
        seen = 0
        while chat_id in self._aliases and seen < 16:
            chat_id = self._aliases[chat_id]
            seen += 1
        return chat_id

    # ------------------------------------------------------------------ queueing

    async def call(
        self, chat_id: int | None, method: TelegramMethod[Any], *, priority: Priority = Priority.NORMAL
    ) -> Any:
        """Any other Bot API method, under the same limits, retries and policy.

        ``chat_id`` selects the per-chat limit (``None``: only the global one). Returns
        the method's result; raises :class:`OutboxError` on final failure.
        """
        job = self._enqueue(chat_id, [method], priority, collect_ids=False)
        delivery = await self._await(job)
        if not delivery.ok:
            raise OutboxError(delivery)
        return job.result

    def _refuse(self, chat_id: int, kind: str, error: str) -> Delivery:
        self.metrics.failed += 1
        return Delivery(ok=False, chat_id=self.resolve_chat(chat_id), error=error, error_kind=kind)

    async def _submit(
        self,
        chat_id: int,
        steps: list[TelegramMethod[Any]],
        priority: Priority,
        *,
        preset_ids: list[int] | None = None,
    ) -> Delivery:
        job = self._enqueue(chat_id, steps, priority, collect_ids=preset_ids is None)
        if preset_ids is not None:
            job.message_ids.extend(preset_ids)
        return await self._await(job)

    def _enqueue(
        self,
        chat_id: int | None,
        steps: list[TelegramMethod[Any]],
        priority: Priority,
        *,
        collect_ids: bool,
    ) -> Job:
        key = self.resolve_chat(chat_id) if chat_id is not None else None
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        job = Job(int(priority), next(self._seq), key, steps, future, collect_ids=collect_ids)
        if self._closing:
            self.metrics.failed += 1
            future.set_result(self._failure(job, ErrorKind.SHUTDOWN, "shutting down"))
            return job
        self._ensure_started()
        chat = self._chat(key)
        heapq.heappush(chat.heap, (job.priority, job.seq, job))
        self._pending[key] = chat
        self.metrics.enqueued += 1
        self._idle.clear()
        self._wakeup.set()
        return job

    async def _await(self, job: Job) -> Delivery:
        # Shielded: a caller that gives up does not take the message back.
        return await asyncio.shield(job.future)

    def _chat(self, key: int | None) -> ChatQueue:
        chat = self._chats.get(key)
        if chat is None:
            if key is None:
                window = None
            elif key < 0:
                window = Window(self._group_limit, self._group_period)
            else:
                window = Window(self._private_limit, self._private_period)
            chat = self._chats[key] = ChatQueue(key, window)
        return chat

    def _has_work(self) -> bool:
        return bool(self._pending) or bool(self._inflight)

    # ------------------------------------------------------------------ scheduler

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bug in the scheduler must not silence the bot
                log.error("outbox: scheduler error %s: %s", type(e).__name__, self._scrub(e))
                await self._sleep(1.0)

    async def _step(self) -> None:
        self._wakeup.clear()
        now = self._clock()
        chat, wait = self._pick(now)
        if chat is not None:
            self._dispatch(chat, now)
            return
        if not self._has_work():
            self._idle.set()
        elif wait is not None:
            self.metrics.throttled += 1
        await self._wait(wait)

    def _pick(self, now: float) -> tuple[ChatQueue | None, float | None]:
        """The chat whose head job goes next, or how long until one may."""
        if len(self._inflight) >= self._max_in_flight:
            return None, None
        best: ChatQueue | None = None
        best_key: tuple[int, int] = (0, 0)
        soonest: float | None = None
        for chat in self._pending.values():
            if chat.busy:
                continue
            job = chat.head()
            if job is None:  # pragma: no cover - _pending only holds chats with work
                continue
            delay = chat.blocked_until - now
            if chat.window is not None:
                delay = max(delay, chat.window.wait(now))
            if delay > 0:
                soonest = delay if soonest is None else min(soonest, delay)
                continue
            key = (job.priority, job.seq)
            if best is None or key < best_key:
                best, best_key = chat, key
        if best is None:
            return None, soonest
        global_wait = self._global.wait(now)
        if global_wait > 0:
            return None, global_wait
        return best, None

    def _dispatch(self, chat: ChatQueue, now: float) -> None:
        job = chat.active if chat.active is not None else heapq.heappop(chat.heap)[2]
        chat.active = job
        chat.busy = True
        if chat.window is not None:
            chat.window.take(now)
        self._global.take(now)
        task = asyncio.create_task(self._execute(chat, job))
        self._inflight.add(task)
        task.add_done_callback(self._done)
        self._dispatches += 1
        if self._dispatches % 256 == 0:
            self._prune(now)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wakeup.set()

    def _prune(self, now: float) -> None:
        """Forget idle chats whose limits no longer matter."""
        for key, chat in list(self._chats.items()):
            if (
                not chat.has_work()
                and not chat.busy
                and chat.blocked_until <= now
                and (chat.window is None or chat.window.idle(now))
            ):
                del self._chats[key]

    async def _wait(self, seconds: float | None) -> None:
        if seconds is None:
            await self._wakeup.wait()
        else:
            await self._race(self._wakeup.wait(), seconds)

    async def _race(self, awaitable: Awaitable[Any], seconds: float) -> None:
        """Wait for ``awaitable`` or ``seconds`` of the injected sleep, whichever is first."""
        first = asyncio.ensure_future(awaitable)
        timer = asyncio.ensure_future(self._sleep(max(seconds, 0.0)))
        try:
            await asyncio.wait({first, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (first, timer):
                if not t.done():
                    t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(first, timer, return_exceptions=True)

    async def _execute(self, chat: ChatQueue, job: Job) -> None:
        """Run the head step of ``job`` (:class:`bot.telegram.outbox.policy.DeliveryPolicy`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ endings

    def _final_chat(self, job: Job) -> int:
        return job.chat_id if job.chat_id is not None else 0

    def _failure(self, job: Job, kind: str, error: str) -> Delivery:
        return Delivery(
            ok=False,
            chat_id=self._final_chat(job),
            message_ids=list(job.message_ids),
            error=self._scrub(error),
            error_kind=kind,
        )

    def _finish(self, chat: ChatQueue, job: Job, delivery: Delivery) -> None:
        if chat.active is job:
            chat.active = None
        else:
            for i, item in enumerate(chat.heap):
                if item[2] is job:
                    chat.heap.pop(i)
                    heapq.heapify(chat.heap)
                    break
        if not chat.has_work() and self._pending.get(chat.key) is chat:
            del self._pending[chat.key]
        if job.future.done():
            return
        if delivery.ok:
            self.metrics.delivered += 1
        else:
            self.metrics.failed += 1
        job.future.set_result(delivery)

    def _scrub(self, value: object) -> str:
        return scrub(value, getattr(self._bot, "token", None))
