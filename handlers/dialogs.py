"""Dialog expiry: an admin's unfinished dialog (``/faq_add``, ``/newpost`` …) ends after ``dialogs.ttl_minutes``
without a step, and their next message there is told so instead of being swallowed, or dropped, silently.

Storage-neutral: the time of the last step is kept in the dialog's own data (``STAMP``), so it works the
same over the database storage (bot/telegram/fsm.py) and any other aiogram storage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.bases import NextMiddlewareType
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.telegram.outbox import Outbox
from handlers.replies import reply

log = logging.getLogger(__name__)

STAMP = "_step_at"  # unix seconds of the dialog's last step


def expired_notice(state: str, minutes: int) -> str:
    if state.startswith("FaqDialog:"):
        return _(
            "Your unfinished FAQ entry expired after {minutes} minutes without a reply; nothing was saved. "
            "Start again with /faq_add."
        ).format(minutes=minutes)
    if state.startswith("PostDialog:"):
        return _(
            "Your unfinished post expired after {minutes} minutes without a reply; nothing was scheduled. "
            "Start again with /newpost."
        ).format(minutes=minutes)
    return _("Your unfinished dialog expired after {minutes} minutes without a reply; nothing was changed.").format(
        minutes=minutes
    )


class DialogExpiry(BaseMiddleware):
    """Outer middleware of messages and button presses (after aiogram's FSM middleware has put the sender's
    ``state`` in the data): ends an expired dialog, tells the sender of a message, and stamps each step."""

    def __init__(self, ttl_s: float, outbox: Outbox, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self.outbox = outbox
        self.clock = clock

    def setup(self, dp: Dispatcher) -> None:
        dp.message.outer_middleware(self)
        dp.callback_query.outer_middleware(self)

    async def __call__(
        self, handler: NextMiddlewareType[TelegramObject], event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        context: FSMContext | None = data.get("state")
        raw_state = data.get("raw_state")
        if context is None:
            return await handler(event, data)
        if raw_state is not None:
            stamp = (await context.get_data()).get(STAMP)
            now = self.clock()
            if isinstance(stamp, int | float) and now - float(stamp) > self.ttl_s:
                log.info("a %s dialog expired after %.0f s without a step", raw_state, now - float(stamp))
                await context.clear()
                data["raw_state"] = None
                if isinstance(event, Message):
                    await self._tell(event, expired_notice(str(raw_state), max(1, round(self.ttl_s / 60))))
        try:
            return await handler(event, data)
        finally:
            # Every event inside a dialog is a step: the clock starts again (a dialog begun now gets its stamp).
            if await context.get_state() is not None:
                await context.update_data({STAMP: self.clock()})

    async def _tell(self, message: Message, text: str) -> None:
        await reply(self.outbox, message, text)
