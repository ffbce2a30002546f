"""Last in the chain: a button no other handler took (an old card, a forged or outdated callback) gets an
answer, so the member's button stops spinning and nothing happens."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.domain import Priority
from bot.telegram.outbox import Outbox, OutboxError

log = logging.getLogger(__name__)


def build_router() -> Router:
    router = Router(name="fallback")

    @router.callback_query()
    async def stale_button(query: CallbackQuery, outbox: Outbox) -> None:
        log.info("button %r from user %s matched no handler", (query.data or "")[:64], query.from_user.id)
        try:
            await outbox.call(
                None,
                AnswerCallbackQuery(callback_query_id=query.id, text=_("This button is out of date.")),
                priority=Priority.REPLY,
            )
        except OutboxError as exc:
            log.warning("could not answer a stale button: %s", exc)

    return router
