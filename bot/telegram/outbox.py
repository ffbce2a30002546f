"""The outbox: one sender for everything the bot says.

Services speak plain types (ints, str, :class:`bot.domain.Button`); the outbox turns
them into Bot API calls and enforces Telegram's limits in one place:

* **Rate limits.** Each chat has a sliding-window limiter (groups and channels — negative
  ids — ``group_per_minute`` per 60 s; private chats ``private_per_second``) and the bot
  has a global one (``global_per_second``). A sliding window is a token bucket without
  the burst-then-refill overlap: it guarantees "at most N in *any* window", which is what
  Telegram measures.
* **Priorities.** ``REPLY`` goes ahead of ``NORMAL`` ahead of ``BULK``; within a priority
  it is FIFO, and one chat's calls go out one at a time and in order. The scheduler picks
  the best job *whose chat may send now*, so a throttled chat never blocks the others.
* **Retries.** ``TelegramRetryAfter`` pauses that chat for ``retry_after`` seconds (not
  counted as an attempt, capped at ``max_rate_limit_waits``). Network errors, timeouts and
  5xx back off exponentially with jitter up to ``max_attempts``, then fail.
* **Policy.** 403 fails the delivery and calls ``on_forbidden(chat_id, description)``.
  ``migrate_to_chat_id`` calls ``on_migrated(old, new)``, resends to the new id and
  redirects every later send to the old id. A reply whose target was deleted is sent
  without the reply (we also send ``allow_sending_without_reply=True`` from the start,
  so Telegram itself usually does this). "message is not modified" counts as success.
* **Splitting.** Text over 4096 UTF-16 units (captions over 1024) is split on paragraph,
  line and word boundaries with HTML kept balanced (:mod:`bot.telegram.split`). Every
  part keeps ``message_thread_id``; only the first is a reply; the keyboard goes on the
  last. The parts of one message go out back to back.

Every call returns a :class:`Delivery` (``call`` returns the method's result or raises
:class:`OutboxError`). Nothing the outbox logs or returns contains the bot token.

Known limits: a network error after Telegram accepted a message can make the retry
send it twice (the Bot API has no idempotency key); split Markdown is not repaired.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    PinChatMessage,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
    UnpinChatMessage,
)
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)

from bot.domain import Button, Delivery, ErrorKind, Keyboard, Priority
from bot.telegram.shown import ShownContent
from bot.telegram.split import CAPTION_LIMIT, TEXT_LIMIT, split_text, utf16_len, visible_html_len
from bot.textsafety import compile_pattern

__all__ = [
    "Delivery",
    "ErrorKind",
    "Outbox",
    "OutboxError",
    "OutboxMetrics",
    "Priority",
    "keyboard_markup",
]

log = logging.getLogger("steward.outbox")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
OnForbidden = Callable[[int, str], Awaitable[None]]
OnMigrated = Callable[[int, int], Awaitable[None]]


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


def keyboard_markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """Convert a plain keyboard. Raises ``ValueError`` for a malformed one."""
    if keyboard is None:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for row in keyboard:
        buttons: list[InlineKeyboardButton] = []
        for button in row:
            buttons.append(_button(button))
        if buttons:
            rows.append(buttons)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _button(button: Button) -> InlineKeyboardButton:
    if not button.text:
        raise ValueError("a button needs a text")
    if (button.url is None) == (button.callback_data is None):
        raise ValueError(f"button {button.text!r} needs exactly one of url and callback_data")
    if button.callback_data is not None and not 1 <= len(button.callback_data.encode()) <= 64:
        raise ValueError(f"callback data of button {button.text!r} must be 1-64 bytes")
    return InlineKeyboardButton(text=button.text, url=button.url, callback_data=button.callback_data)


class _Window:
    """At most ``limit`` events in any ``period`` seconds (half-open windows)."""

    __slots__ = ("events", "limit", "period")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.events: deque[float] = deque()

    @classmethod
    def per_second(cls, rate: float) -> _Window:
        if rate <= 0:
            raise ValueError("a rate must be positive")
        n = max(1, round(rate))
        return cls(n, n / rate)

    def _prune(self, now: float) -> None:
        while self.events and self.events[0] <= now - self.period:
            self.events.popleft()

    def wait(self, now: float) -> float:
        self._prune(now)
        if len(self.events) < self.limit:
            return 0.0
        return self.events[0] + self.period - now

    def take(self, now: float) -> None:
        self.events.append(now)

    def idle(self, now: float) -> bool:
        self._prune(now)
        return not self.events


@dataclass(eq=False)
class _Job:
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
class _Chat:
    key: int | None
    window: _Window | None
    heap: list[tuple[int, int, _Job]] = field(default_factory=list)
    active: _Job | None = None  # a started job keeps the chat until it ends
    busy: bool = False  # a request is in flight
    blocked_until: float = 0.0  # retry_after / backoff

    def head(self) -> _Job | None:
        if self.active is not None:
            return self.active
        return self.heap[0][2] if self.heap else None

    def has_work(self) -> bool:
        return self.active is not None or bool(self.heap)


_TOKEN_RE = compile_pattern(r"\d{5,}:[A-Za-z0-9_-]{20,}", name="outbox.token")
_REPLY_GONE = (
    "message to be replied not found",
    "replied message not found",
    "message to reply not found",
    "reply message not found",
)
_NO_RIGHTS = ("not enough rights", "have no rights", "chat_write_forbidden", "need administrator rights")


class Outbox:
    """Rate-limited, prioritised, retrying sender. See the module docstring."""

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
        private = _Window.per_second(private_per_second)
        self._private_limit, self._private_period = private.limit, private.period
        self._global = _Window.per_second(global_per_second)
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
        self._chats: dict[int | None, _Chat] = {}
        self._pending: dict[int | None, _Chat] = {}  # chats with queued or active work
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
        window = _Window.per_second(per_second)
        self._private_limit, self._private_period = window.limit, window.period
        for key, chat in self._chats.items():
            if key is not None and key > 0 and chat.window is not None:
                chat.window.limit, chat.window.period = window.limit, window.period
        self._wakeup.set()

    def set_global_rate(self, per_second: float) -> None:
        """Calls per second across all chats (default 30)."""
        window = _Window.per_second(per_second)
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

    # ------------------------------------------------------------------ public API

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = "HTML",
        silent: bool = False,
        protect: bool = False,
        disable_preview: bool = True,
        priority: Priority = Priority.NORMAL,
    ) -> Delivery:
        """Send a text, split into several messages when it is too long."""
        try:
            markup = keyboard_markup(keyboard)
        except ValueError as e:
            return self._refuse(chat_id, ErrorKind.INVALID, f"the keyboard is invalid: {e}")
        parts = split_text(text, parse_mode, TEXT_LIMIT)
        if not parts:
            return self._refuse(chat_id, ErrorKind.INVALID, "the message is empty")
        steps = self._text_steps(
            chat_id,
            parts,
            thread_id=thread_id,
            reply_to=reply_to,
            markup=markup,
            parse_mode=parse_mode,
            silent=silent,
            protect=protect,
            disable_preview=disable_preview,
        )
        if len(steps) > 1:
            self.metrics.split += 1
        return await self._submit(chat_id, steps, priority)

    async def send_photo(
        self,
        chat_id: int,
        photo: str | Path,
        *,
        caption: str | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = "HTML",
        silent: bool = False,
        protect: bool = False,
        priority: Priority = Priority.NORMAL,
    ) -> Delivery:
        """Send a photo (file_id, URL or local path). A caption over 1024 units continues
        in text messages after the photo; the keyboard goes on the last message."""
        return await self._send_media(
            SendPhoto,
            "photo",
            chat_id,
            photo,
            caption=caption,
            thread_id=thread_id,
            reply_to=reply_to,
            keyboard=keyboard,
            parse_mode=parse_mode,
            silent=silent,
            protect=protect,
            priority=priority,
        )

    async def send_document(
        self,
        chat_id: int,
        document: str | Path,
        *,
        caption: str | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = "HTML",
        silent: bool = False,
        protect: bool = False,
        priority: Priority = Priority.NORMAL,
    ) -> Delivery:
        """Send a document (file_id, URL or local path); captions as for :meth:`send_photo`."""
        return await self._send_media(
            SendDocument,
            "document",
            chat_id,
            document,
            caption=caption,
            thread_id=thread_id,
            reply_to=reply_to,
            keyboard=keyboard,
            parse_mode=parse_mode,
            silent=silent,
            protect=protect,
            priority=priority,
        )

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        keyboard: Keyboard | None = None,
        parse_mode: str | None = "HTML",
        disable_preview: bool = True,
        priority: Priority = Priority.REPLY,
    ) -> Delivery:
        """Edit a message's text (and keyboard). "Not modified" counts as ok. An edit
        cannot be split: a text over 4096 units fails with ``too_long``."""
        try:
            markup = keyboard_markup(keyboard)
        except ValueError as e:
            return self._refuse(chat_id, ErrorKind.INVALID, f"the keyboard is invalid: {e}")
        if not text.strip():
            return self._refuse(chat_id, ErrorKind.INVALID, "the message is empty")
        length = _text_len(text, parse_mode)
        if length > TEXT_LIMIT:
            return self._refuse(
                chat_id,
                ErrorKind.TOO_LONG,
                f"the new text is too long for one message ({length} of {TEXT_LIMIT} characters)",
            )
        method = EditMessageText(
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=parse_mode,
            reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=disable_preview),
        )
        return await self._submit(chat_id, [method], priority, preset_ids=[message_id])

    async def edit_keyboard(
        self,
        chat_id: int,
        message_id: int,
        keyboard: Keyboard | None,
        *,
        priority: Priority = Priority.REPLY,
    ) -> Delivery:
        """Replace (or with ``None`` remove) a message's inline keyboard."""
        try:
            markup = keyboard_markup(keyboard)
        except ValueError as e:
            return self._refuse(chat_id, ErrorKind.INVALID, f"the keyboard is invalid: {e}")
        method = EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=markup)
        return await self._submit(chat_id, [method], priority, preset_ids=[message_id])

    async def delete(self, chat_id: int, message_id: int, *, priority: Priority = Priority.NORMAL) -> Delivery:
        return await self._submit(
            chat_id,
            [DeleteMessage(chat_id=chat_id, message_id=message_id)],
            priority,
            preset_ids=[message_id],
        )

    async def pin(
        self, chat_id: int, message_id: int, *, silent: bool = True, priority: Priority = Priority.NORMAL
    ) -> Delivery:
        method = PinChatMessage(chat_id=chat_id, message_id=message_id, disable_notification=silent)
        return await self._submit(chat_id, [method], priority, preset_ids=[message_id])

    async def unpin(
        self, chat_id: int, message_id: int | None = None, *, priority: Priority = Priority.NORMAL
    ) -> Delivery:
        """Unpin ``message_id``, or the most recent pinned message when it is ``None``."""
        method = UnpinChatMessage(chat_id=chat_id, message_id=message_id)
        return await self._submit(
            chat_id, [method], priority, preset_ids=[message_id] if message_id is not None else []
        )

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

    # ------------------------------------------------------------------ building calls

    def _text_steps(
        self,
        chat_id: int,
        parts: Sequence[str],
        *,
        thread_id: int | None,
        reply_to: int | None,
        markup: InlineKeyboardMarkup | None,
        parse_mode: str | None,
        silent: bool,
        protect: bool,
        disable_preview: bool,
    ) -> list[TelegramMethod[Any]]:
        steps: list[TelegramMethod[Any]] = []
        last = len(parts) - 1
        for i, part in enumerate(parts):
            steps.append(
                SendMessage(
                    chat_id=chat_id,
                    text=part,
                    message_thread_id=thread_id,
                    parse_mode=parse_mode,
                    disable_notification=silent,
                    protect_content=protect,
                    link_preview_options=LinkPreviewOptions(is_disabled=disable_preview),
                    reply_parameters=_reply(reply_to) if i == 0 else None,
                    reply_markup=markup if i == last else None,
                )
            )
        return steps

    async def _send_media(
        self,
        method_type: type[SendPhoto] | type[SendDocument],
        field_name: str,
        chat_id: int,
        media: str | Path,
        *,
        caption: str | None,
        thread_id: int | None,
        reply_to: int | None,
        keyboard: Keyboard | None,
        parse_mode: str | None,
        silent: bool,
        protect: bool,
        priority: Priority,
    ) -> Delivery:
        try:
            markup = keyboard_markup(keyboard)
        except ValueError as e:
            return self._refuse(chat_id, ErrorKind.INVALID, f"the keyboard is invalid: {e}")
        payload: Any = FSInputFile(media) if isinstance(media, Path) else media
        parts = split_text(caption, parse_mode, CAPTION_LIMIT) if caption else []
        rest = parts[1:]
        first = method_type(
            chat_id=chat_id,
            caption=parts[0] if parts else None,
            message_thread_id=thread_id,
            parse_mode=parse_mode,
            disable_notification=silent,
            protect_content=protect,
            reply_parameters=_reply(reply_to),
            reply_markup=None if rest else markup,
            **{field_name: payload},
        )
        steps: list[TelegramMethod[Any]] = [first]
        if rest:
            self.metrics.split += 1
            steps += self._text_steps(
                chat_id,
                rest,
                thread_id=thread_id,
                reply_to=None,
                markup=markup,
                parse_mode=parse_mode,
                silent=silent,
                protect=protect,
                disable_preview=True,
            )
        return await self._submit(chat_id, steps, priority)

    # ------------------------------------------------------------------ queueing

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
    ) -> _Job:
        key = self.resolve_chat(chat_id) if chat_id is not None else None
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        job = _Job(int(priority), next(self._seq), key, steps, future, collect_ids=collect_ids)
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

    async def _await(self, job: _Job) -> Delivery:
        # Shielded: a caller that gives up does not take the message back.
        return await asyncio.shield(job.future)

    def _chat(self, key: int | None) -> _Chat:
        chat = self._chats.get(key)
        if chat is None:
            if key is None:
                window = None
            elif key < 0:
                window = _Window(self._group_limit, self._group_period)
            else:
                window = _Window(self._private_limit, self._private_period)
            chat = self._chats[key] = _Chat(key, window)
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

    def _pick(self, now: float) -> tuple[_Chat | None, float | None]:
        """The chat whose head job goes next, or how long until one may."""
        if len(self._inflight) >= self._max_in_flight:
            return None, None
        best: _Chat | None = None
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

    def _dispatch(self, chat: _Chat, now: float) -> None:
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

    # ------------------------------------------------------------------ one request

    async def _execute(self, chat: _Chat, job: _Job) -> None:
        try:
            await self._attempt(chat, job)
        except asyncio.CancelledError:
            self._finish(chat, job, self._failure(job, ErrorKind.SHUTDOWN, "shutting down"))
            raise
        except Exception as e:  # a bug: never let it kill the outbox
            log.error(
                "outbox: unexpected %s in %s to chat %s: %s",
                type(e).__name__,
                job.label,
                job.chat_id,
                self._scrub(e),
            )
            self._finish(chat, job, self._failure(job, ErrorKind.INTERNAL, "internal error (see the log)"))
        finally:
            chat.busy = False
            self._wakeup.set()

    async def _attempt(self, chat: _Chat, job: _Job) -> None:
        method = self._retarget(job.steps[0])
        job.steps[0] = method
        if self.shown.unchanged(method):
            # Checked now, after this chat's earlier calls: the edit would change nothing on screen.
            self.metrics.unchanged += 1
            self.metrics.sent -= 1  # _on_success counts a request; none was made
            self._on_success(chat, job, True)
            return
        try:
            result = await self._bot(method)
        except TelegramRetryAfter as e:
            await self._on_retry_after(chat, job, e)
        except TelegramMigrateToChat as e:
            await self._on_migrate(chat, job, e.migrate_to_chat_id)
        except TelegramForbiddenError as e:
            await self._on_forbidden(chat, job, e)
        except TelegramBadRequest as e:
            self._on_bad_request(chat, job, method, e)
        except TelegramNotFound as e:
            self._fail(chat, job, ErrorKind.NOT_FOUND, f"not found: {_describe(e)}")
        except TelegramUnauthorizedError:
            self._fail(chat, job, ErrorKind.UNAUTHORIZED, "Telegram rejected the bot token")
        except TelegramConflictError as e:
            self._fail(chat, job, ErrorKind.API, f"conflict: {_describe(e)}")
        except TelegramEntityTooLarge:
            self._fail(chat, job, ErrorKind.TOO_LARGE, "the file is too large for Telegram")
        except TelegramServerError as e:
            self._on_transient(chat, job, ErrorKind.SERVER, f"Telegram server error: {_describe(e)}")
        except (TelegramNetworkError, TimeoutError, ConnectionError) as e:
            detail = _describe(e) if isinstance(e, TelegramAPIError) else "timed out"
            self._on_transient(chat, job, ErrorKind.NETWORK, f"network error: {detail}")
        except ClientDecodeError:
            self._on_transient(chat, job, ErrorKind.SERVER, "Telegram sent an unreadable answer")
        except TelegramAPIError as e:
            self._fail(chat, job, ErrorKind.API, _describe(e))
        except OSError as e:  # a local file to upload is missing or unreadable
            self._fail(chat, job, ErrorKind.INVALID, f"the file could not be read: {e.strerror or e}")
        else:
            self._on_success(chat, job, result)

    def _retarget(self, method: TelegramMethod[Any]) -> TelegramMethod[Any]:
        target = getattr(method, "chat_id", None)
        if isinstance(target, int) and target in self._aliases:
            return method.model_copy(update={"chat_id": self.resolve_chat(target)})
        return method

    def _on_success(self, chat: _Chat, job: _Job, result: Any) -> None:
        self.metrics.sent += 1
        self.shown.record(job.steps[0], result)
        job.steps.pop(0)
        job.attempts = 0
        job.sent_parts += 1
        job.result = result
        if job.collect_ids and isinstance(result, Message):
            job.message_ids.append(result.message_id)
        if not job.steps:
            self._finish(chat, job, Delivery(ok=True, chat_id=self._final_chat(job), message_ids=job.message_ids))

    async def _on_retry_after(self, chat: _Chat, job: _Job, e: TelegramRetryAfter) -> None:
        self.metrics.rate_limited += 1
        job.rate_waits += 1
        if job.rate_waits > self._max_rate_limit_waits:
            self._fail(
                chat,
                job,
                ErrorKind.RATE_LIMITED,
                f"Telegram kept asking to slow down ({job.rate_waits} times); gave up",
            )
            return
        wait = max(float(e.retry_after), 0.0)
        chat.blocked_until = max(chat.blocked_until, self._clock() + wait)
        log.warning("outbox: flood control in chat %s, waiting %.1fs before %s", job.chat_id, wait, job.label)

    async def _on_migrate(self, chat: _Chat, job: _Job, new_id: int) -> None:
        old = job.chat_id
        job.migrations += 1
        if old is None or job.migrations > 3 or new_id == old:
            self._fail(chat, job, ErrorKind.API, f"the chat moved to {new_id} and the resend failed")
            return
        self.metrics.migrated += 1
        self._aliases[old] = new_id
        for src, dst in list(self._aliases.items()):
            if dst == old:
                self._aliases[src] = new_id
        log.info("outbox: chat %s migrated to %s; resending", old, new_id)
        if self.on_migrated is not None:
            try:
                await self.on_migrated(old, new_id)
            except Exception as err:
                log.error("outbox: on_migrated(%s, %s) failed: %s", old, new_id, self._scrub(err))
        # Move this job and everything queued for the old chat to the new one.
        target = self._chat(new_id)
        chat.active = None
        moved, chat.heap = chat.heap, []
        job.chat_id = new_id
        for item in moved:
            item[2].chat_id = new_id
            heapq.heappush(target.heap, item)
        if job.sent_parts and target.active is None:
            target.active = job
        else:
            heapq.heappush(target.heap, (job.priority, job.seq, job))
        self._pending.pop(chat.key, None)
        self._pending[new_id] = target

    async def _on_forbidden(self, chat: _Chat, job: _Job, e: TelegramForbiddenError) -> None:
        description = _describe(e)
        self.metrics.forbidden += 1
        chat_id = job.chat_id
        self._fail(chat, job, ErrorKind.FORBIDDEN, _forbidden_reason(description))
        if self.on_forbidden is not None and chat_id is not None:
            try:
                await self.on_forbidden(chat_id, description)
            except Exception as err:
                log.error("outbox: on_forbidden(%s) failed: %s", chat_id, self._scrub(err))

    def _on_bad_request(self, chat: _Chat, job: _Job, method: TelegramMethod[Any], e: TelegramBadRequest) -> None:
        description = _describe(e)
        text = description.lower()
        if "message is not modified" in text:
            self._on_success(chat, job, True)
            return
        if any(p in text for p in _REPLY_GONE):
            if getattr(method, "reply_parameters", None) is not None and not job.reply_dropped:
                job.reply_dropped = True
                self.metrics.reply_dropped += 1
                job.steps[0] = method.model_copy(update={"reply_parameters": None})
                log.info("outbox: reply target gone in chat %s; sending without the reply", job.chat_id)
                return
            self._fail(chat, job, ErrorKind.NOT_FOUND, "the message to reply to was deleted")
            return
        kind, reason = _bad_request_reason(text, description)
        self._fail(chat, job, kind, reason)

    def _on_transient(self, chat: _Chat, job: _Job, kind: str, reason: str) -> None:
        job.attempts += 1
        if job.attempts >= self._max_attempts:
            self._fail(
                chat,
                job,
                kind,
                f"gave up after {job.attempts} attempts: {reason}",
            )
            return
        self.metrics.retried += 1
        delay = min(self._base_backoff * 2 ** (job.attempts - 1), self._max_backoff)
        delay = delay / 2 + self._rng.random() * delay / 2  # "equal jitter"
        chat.blocked_until = max(chat.blocked_until, self._clock() + delay)
        log.warning(
            "outbox: %s to chat %s failed (attempt %d of %d): %s; retrying in %.1fs",
            job.label,
            job.chat_id,
            job.attempts,
            self._max_attempts,
            self._scrub(reason),
            delay,
        )

    # ------------------------------------------------------------------ endings

    def _final_chat(self, job: _Job) -> int:
        return job.chat_id if job.chat_id is not None else 0

    def _failure(self, job: _Job, kind: str, error: str) -> Delivery:
        return Delivery(
            ok=False,
            chat_id=self._final_chat(job),
            message_ids=list(job.message_ids),
            error=self._scrub(error),
            error_kind=kind,
        )

    def _fail(self, chat: _Chat, job: _Job, kind: str, error: str) -> None:
        log.warning("outbox: %s to chat %s failed (%s): %s", job.label, job.chat_id, kind, self._scrub(error))
        self._finish(chat, job, self._failure(job, kind, error))

    def _finish(self, chat: _Chat, job: _Job, delivery: Delivery) -> None:
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
        text = str(value)
        token = getattr(self._bot, "token", None)
        if token:
            text = text.replace(token, "<token>")
        return _TOKEN_RE.sub("<token>", text)


# ---------------------------------------------------------------------- helpers


def _reply(reply_to: int | None) -> ReplyParameters | None:
    if reply_to is None:
        return None
    return ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)


def _text_len(text: str, parse_mode: str | None) -> int:
    if parse_mode is not None and parse_mode.lower() == "html":
        return visible_html_len(text)
    return utf16_len(text)


def _describe(e: Exception) -> str:
    """Telegram's own description, without aiogram's decorations."""
    message = getattr(e, "message", None)
    return str(message if message is not None else e).split("\n", 1)[0]


def _forbidden_reason(description: str) -> str:
    text = description.lower()
    if "blocked by the user" in text:
        return "the user blocked the bot"
    if "kicked" in text:
        return "the bot was removed from this chat"
    if "not a member" in text:
        return "the bot is not a member of this chat"
    if "deactivated" in text:
        return "the user's account was deleted"
    if "can't initiate conversation" in text or "can't send messages to bots" in text:
        return "the user has not started a conversation with the bot"
    return "the bot lost the right to post in this chat"


def _bad_request_reason(text: str, description: str) -> tuple[str, str]:
    if "message thread not found" in text or "topic_deleted" in text:
        return ErrorKind.NOT_FOUND, "the forum topic no longer exists"
    if "topic_closed" in text:
        return ErrorKind.BAD_REQUEST, "the forum topic is closed"
    if "message to edit not found" in text:
        return ErrorKind.NOT_FOUND, "the message to edit was deleted"
    if "message to delete not found" in text:
        return ErrorKind.NOT_FOUND, "the message was already deleted"
    if "message to pin not found" in text or "message to unpin not found" in text:
        return ErrorKind.NOT_FOUND, "the message to pin was deleted"
    if "chat not found" in text:
        return ErrorKind.NOT_FOUND, "the chat does not exist or the bot is not in it"
    if any(p in text for p in _NO_RIGHTS):
        return ErrorKind.NO_RIGHTS, "the bot lacks the admin rights for this in the chat"
    if "too long" in text:
        return ErrorKind.TOO_LONG, "the message is too long for Telegram"
    if "can't parse entities" in text:
        return ErrorKind.BAD_REQUEST, f"the message formatting is invalid ({description})"
    if "message can't be deleted" in text:
        return ErrorKind.BAD_REQUEST, "the message can no longer be deleted"
    if "message can't be edited" in text:
        return ErrorKind.BAD_REQUEST, "the message can no longer be edited"
    if "text is empty" in text:
        return ErrorKind.INVALID, "the message is empty"
    return ErrorKind.BAD_REQUEST, description
