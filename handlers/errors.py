"""The one home of errors: a handler that raised ends here (aiogram's ``errors`` event, for the whole dispatcher).

It logs the update's type and chat with the traceback (the bot token redacted, whatever the logging setup),
and answers the person where there is one waiting: a button press gets its answerCallbackQuery, a command or
a private message a short reply through the outbox. An ordinary group message gets no reply (the group
would see the bot apologise for a message nobody asked it about).
"""

from __future__ import annotations

import logging
import traceback

from aiogram import Router
from aiogram.types import CallbackQuery, ErrorEvent, Message, Update
from aiogram.utils.i18n import gettext as _

from bot.logs import redact
from bot.telegram.outbox import Outbox
from handlers.replies import answer_button, reply

log = logging.getLogger(__name__)


def update_type(update: Update) -> str:
    try:
        return update.event_type
    except LookupError:  # aiogram's UpdateTypeLookupError: a kind of update it does not know
        return "unknown"


def _inner(update: Update) -> object | None:
    return update.event if update_type(update) != "unknown" else None


def _chat_id(update: Update) -> int | None:
    event = _inner(update)
    if isinstance(event, CallbackQuery):
        return event.message.chat.id if event.message is not None else None
    chat = getattr(event, "chat", None)
    return int(chat.id) if chat is not None else None


def sorry_text() -> str:
    return _("Sorry, something went wrong on my side. Please try again in a moment.")


async def on_error(event: ErrorEvent, outbox: Outbox) -> bool:
    update = event.update
    kind = update_type(update)
    chat_id = _chat_id(update)
    trace = "".join(traceback.format_exception(event.exception))
    log.error("update %s (%s) in chat %s failed:\n%s", update.update_id, kind, chat_id, redact(trace))
    inner = _inner(update)
    try:
        if isinstance(inner, CallbackQuery):
            await answer_button(outbox, inner, sorry_text())
        elif isinstance(inner, Message) and kind == "message" and _someone_asked(inner):
            await reply(outbox, inner, sorry_text())
    except LookupError as exc:  # no locale context (the error came before it was set)
        log.warning("could not tell the user in chat %s that update %s failed: %s", chat_id, update.update_id, exc)
    return True


def _someone_asked(message: Message) -> bool:
    """A private message, or a command in a group: someone waits for an answer."""
    text = message.text or message.caption or ""
    return message.chat.type == "private" or text.startswith("/")


def build_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
