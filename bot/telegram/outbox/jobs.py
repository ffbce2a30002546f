"""What the outbox queues: a job (one outbox call, one or more Bot API steps), each chat's queue, the
counters, and the error :meth:`Outbox.call` raises."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any

from aiogram.methods import TelegramMethod

from bot.domain import Delivery
from bot.telegram.outbox.limits import Window

__all__ = ["ChatQueue", "Job", "OutboxError", "OutboxMetrics"]


class OutboxError(Exception):
    """Raised by :meth:`Outbox.call` when the call finally failed."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(delivery.error or "the call failed")
        self.delivery = delivery


@dataclass
class OutboxMetrics:
    """Counters for `steward check` and the benchmarks."""

    enqueued: int = 0  # outbox calls accepted
    delivered: int = 0  # outbox calls that ended ok
    failed: int = 0  # outbox calls that ended failed
    sent: int = 0  # successful Bot API requests (a split message counts each part)
    retried: int = 0  # retries after network errors, timeouts and 5xx
    rate_limited: int = 0  # 429 answers honoured (retry_after waits)
    throttled: int = 0  # times the outbox waited for its own rate limits
    migrated: int = 0
    forbidden: int = 0
    split: int = 0  # messages sent in several parts
    reply_dropped: int = 0  # replies sent without the reply because the target was gone
    unchanged: int = 0  # edits not sent because the message already shows that text and keyboard

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(eq=False)
class Job:
    priority: int
    seq: int
    chat_id: int | None
    steps: list[TelegramMethod[Any]]
    future: asyncio.Future[Delivery]
    collect_ids: bool = True
    message_ids: list[int] = field(default_factory=list)
    result: Any = None
    attempts: int = 0  # failed attempts of the current step (network / 5xx)
    rate_waits: int = 0
    migrations: int = 0
    reply_dropped: bool = False
    sent_parts: int = 0

    @property
    def label(self) -> str:
        return type(self.steps[0]).__name__ if self.steps else "done"


@dataclass(eq=False)
class ChatQueue:
    key: int | None
    window: Window | None
    heap: list[tuple[int, int, Job]] = field(default_factory=list)
    active: Job | None = None  # a started job keeps the chat until it ends
    busy: bool = False  # a request is in flight
    blocked_until: float = 0.0  # retry_after / backoff

    def head(self) -> Job | None:
        if self.active is not None:
            return self.active
        return self.heap[0][2] if self.heap else None

    def has_work(self) -> bool:
        return self.active is not None or bool(self.heap)
