"""Small reply helpers the routers share (everything goes through the outbox)."""

from __future__ import annotations

import logging

from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery

from bot.domain import Priority
from bot.telegram.outbox import Outbox, OutboxError

log = logging.getLogger(__name__)


async def toast(outbox: Outbox, query: CallbackQuery, text: str, *, alert: bool = False) -> None:
    """Answer a button press (a short toast, or an alert); a failure is logged, never raised."""
    try:
        await outbox.call(
            None,
            AnswerCallbackQuery(callback_query_id=query.id, text=text[:200] or None, show_alert=alert),
            priority=Priority.REPLY,
        )
    except OutboxError as exc:
        log.warning("could not answer a button press in %s: %s", query.message.chat.id if query.message else "-", exc)
