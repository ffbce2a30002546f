"""The two ways a handler answers a person through the outbox: a reply to their message (in its forum topic),
and the answer to their button press. Failures are logged, never raised: an answer is a courtesy."""

from __future__ import annotations

import logging

from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message

from bot.domain import Priority
from bot.telegram.outbox import Outbox, OutboxError

log = logging.getLogger(__name__)


async def reply(outbox: Outbox, message: Message, text: str) -> bool:
    """Reply to ``message`` in its chat and topic; False (and a log line) when it could not be delivered."""
    delivery = await outbox.send_message(
        message.chat.id,
        text,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_to=message.message_id,
        priority=Priority.REPLY,
    )
    if not delivery.ok:
        log.warning("could not reply in chat %s: %s", message.chat.id, delivery.error)
    return delivery.ok


async def answer_button(outbox: Outbox, query: CallbackQuery, text: str, *, alert: bool = True) -> bool:
    """Answer a button press (the toast or alert its presser sees); False when Telegram could not be told."""
    try:
        await outbox.call(
            None,
            AnswerCallbackQuery(callback_query_id=query.id, text=text[:200] or None, show_alert=alert),
            priority=Priority.REPLY,
        )
    except OutboxError as exc:
        log.warning("could not answer a button press: %s", exc)
        return False
    return True


async def toast(outbox: Outbox, query: CallbackQuery, text: str, *, alert: bool = False) -> None:
    """A short toast under a button (an alert only when asked): :func:`answer_button` with the other default."""
    await answer_button(outbox, query, text, alert=alert)
