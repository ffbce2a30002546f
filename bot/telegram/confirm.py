"""Confirming updates to Telegram only once they are stored, in polling (``ConfirmWhenStored``) and in
webhook mode (bot/webhook.py), and counting the updates in flight (``InFlight``) for a clean shutdown."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update

from bot.services.ledger import UpdateLedger, on_stored, reset_stored

log = logging.getLogger(__name__)

# Updates handled at once, in polling and in webhook mode alike: memory stays flat under a flood.
CONCURRENCY_LIMIT = 256
# The longest an update's confirmation (the next getUpdates, or the webhook's answer) waits for its row.
STORE_TIMEOUT_S = 10.0


class InFlight:
    """Counts updates being handled (shutdown waits for them before closing the database),
    skips updates an earlier run already handled, and knows which fetched updates are not yet stored."""

    def __init__(self, ledger: UpdateLedger) -> None:
        self.ledger = ledger
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._unstored: set[int] = set()  # fetched by getUpdates, message row not yet written
        self._all_stored = asyncio.Event()
        self._all_stored.set()
        # Webhook requests waiting for their update to be stored: True once it is (or was handled
        # without a row), False when handling failed before the update was stored.
        self._watchers: dict[int, list[asyncio.Future[bool]]] = {}

    def watch(self, update_id: int) -> asyncio.Future[bool]:
        """A future resolved when ``update_id`` is safely stored (True) or failed before that (False)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._watchers.setdefault(update_id, []).append(future)
        return future

    def unwatch(self, update_id: int, future: asyncio.Future[bool]) -> None:
        waiting = self._watchers.get(update_id)
        if waiting is not None and future in waiting:
            waiting.remove(future)
            if not waiting:
                del self._watchers[update_id]

    def _resolve(self, update_id: int, stored: bool) -> None:
        for future in self._watchers.pop(update_id, []):
            if not future.done():
                future.set_result(stored)

    def _on_stored(self, update_id: int) -> None:
        self.stored(update_id)
        self._resolve(update_id, True)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        update_id = event.update_id if isinstance(event, Update) else None
        if update_id is None:
            return await handler(event, data)
        if not self.ledger.begin(update_id):
            log.info("update %s was handled before a restart; skipping it", update_id)
            self._on_stored(update_id)
            return None
        self.count += 1
        self._idle.clear()
        token = on_stored(functools.partial(self._on_stored, update_id))
        finished = False
        try:
            result = await handler(event, data)
            finished = True
            return result
        finally:
            reset_stored(token)
            self.stored(update_id)  # whatever it was, it is taken care of
            # Handled (an update without a row: a command, a button) or stored earlier: True. A crash
            # before the row was written: False, so a webhook answers with an error and Telegram retries.
            self._resolve(update_id, finished)
            self.ledger.done(update_id)
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def expect(self, update_ids: Iterable[int]) -> None:
        self._unstored.update(update_ids)
        if self._unstored:
            self._all_stored.clear()

    def stored(self, update_id: int) -> None:
        self._unstored.discard(update_id)
        if not self._unstored:
            self._all_stored.set()

    async def wait_stored(self, timeout: float) -> bool:
        """Until every expected update is stored; False (and they are forgotten) after ``timeout``."""
        if self._all_stored.is_set():
            return True
        try:
            # Not wait_for: on Python 3.11 it can swallow a cancellation that arrives as the event is set,
            # and then stop_polling never stops the polling task.
            async with asyncio.timeout(timeout):
                await self._all_stored.wait()
        except TimeoutError:
            log.warning(
                "%d fetched updates are still not stored after %.0f s; fetching the next ones anyway",
                len(self._unstored),
                timeout,
            )
            self._unstored.clear()
            self._all_stored.set()
            return False
        return True


class ConfirmWhenStored(BaseRequestMiddleware):
    """Hold each getUpdates until the previous batch is stored.

    Its offset tells Telegram to forget everything before it, and aiogram asks for the next batch as soon
    as the previous one is *scheduled*: a crash in between lost the messages not yet written (seen in
    tests/integration/test_crash_pipeline.py). Storing takes milliseconds to a second (sentiment first),
    so the wait is short; handling the rest (FAQ, cases) goes on concurrently with the next batch."""

    def __init__(self, in_flight: InFlight, timeout: float = STORE_TIMEOUT_S) -> None:
        self.in_flight = in_flight
        self.timeout = timeout

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        fetching = isinstance(method, GetUpdates)  # a flag: narrowing `method` would upset make_request's type
        if fetching:
            await self.in_flight.wait_stored(self.timeout)
        response = await make_request(bot, method)
        # Typed as a Response, but the session hands back the method's result (the list of updates).
        result: Any = getattr(response, "result", response)
        updates = cast(list[Update] | None, result) if fetching else None
        if updates:
            self.in_flight.expect(u.update_id for u in updates)
        return response
