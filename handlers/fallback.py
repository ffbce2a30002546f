"""Last in the chain: a button no other handler took (an old card, a forged or outdated callback) gets an
answer, so the member's button stops spinning and nothing happens (a button of an older callback format
is told so: see :mod:`handlers.callbacks`); a command in private that no handler
took (a group command, a typo) gets a pointer instead of silence."""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain import Priority
from bot.telegram.outbox import Outbox, OutboxError
from handlers.callbacks import is_current

log = logging.getLogger(__name__)


def build_router() -> Router:
    router = Router(name="fallback")

    @router.callback_query()
    async def stale_button(query: CallbackQuery, outbox: Outbox) -> None:
        data = query.data or ""
        log.info("button %r from user %s matched no handler", data[:64], query.from_user.id)
        if is_current(data):
            text = _("This button is out of date.")
        else:
            text = _("This button is from an older version of the bot. Open the card again to get fresh buttons.")
        try:
            await outbox.call(
                None,
                AnswerCallbackQuery(callback_query_id=query.id, text=text),
                priority=Priority.REPLY,
            )
        except OutboxError as exc:
            log.warning("could not answer a stale button: %s", exc)

    @router.message(F.chat.type == "private", F.text.startswith("/"))
    async def unknown_private_command(message: Message, outbox: Outbox) -> None:
        command = (message.text or "").split()[0].split("@")[0][:40]
        text = _(
            "{command} does nothing here: it may be a command for a group (send it there), or a typo. "
            "/help lists what you can use."
        ).format(command=html.escape(command))
        await outbox.send_message(message.chat.id, text, priority=Priority.REPLY)

    return router
