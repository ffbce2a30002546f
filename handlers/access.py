"""Who may use the bot ([access] communities = "approved"): /approve for the managers, and the line a waiting
group gets (the gate itself is handlers/middlewares.py: AccessGate). The logic is in bot.services.access."""

from __future__ import annotations

import html
import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain import Priority
from bot.i18n import Translator
from bot.services.access import AccessService
from bot.services.roles import RoleService
from bot.telegram.outbox import Outbox
from handlers.replies import reply

log = logging.getLogger(__name__)


def waiting_line(t: Translator, chat_id: int) -> str:
    """The one polite line a group that waits for approval gets."""
    return t(
        "Hello! I only serve communities my managers have approved, so I will stay quiet here for now. "
        "To have this group approved, ask them to send /approve {chat_id}.",
        chat_id=chat_id,
    )


def _chat_id(text: str) -> int | None:
    value = text.strip()
    digits = value[1:] if value.startswith("-") else value
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None
    return int(value)


def build_router() -> Router:
    router = Router(name="access")

    @router.message(Command("approve"))
    async def approve(
        message: Message,
        command: CommandObject,
        roles: RoleService,
        access: AccessService,
        outbox: Outbox,
        settings: Settings,
    ) -> None:
        user = message.from_user
        where_allowed = message.chat.type == "private" or message.chat.id == settings.managers.chat_id
        if user is None or not await roles.can_manage(None, user.id) or not where_allowed:
            await _reply(
                outbox,
                message,
                _(
                    "Only the community managers can approve communities, in the "
                    "managers' chat or in a private chat with me."
                ),
            )
            return
        arg = (command.args or "").strip()
        if not arg:
            waiting = await access.waiting()
            if not waiting:
                await _reply(outbox, message, _("No community is waiting for approval."))
                return
            lines = [f"<code>{c.chat_id}</code> {html.escape(c.title)}" for c in waiting[:30]]
            await _reply(
                outbox,
                message,
                _("Waiting for approval (approve one with /approve CHAT_ID):") + "\n" + "\n".join(lines),
            )
            return
        chat_id = _chat_id(arg)
        if chat_id is None or chat_id >= 0:
            await _reply(
                outbox,
                message,
                _(
                    "Usage: /approve CHAT_ID (a group id such as -1001234567890); "
                    "/approve alone lists the groups waiting."
                ),
            )
            return
        community = await access.approve(chat_id, user.id)
        if community is None:
            await _reply(
                outbox, message, _("I do not know the chat {chat_id}: add me to it first.").format(chat_id=chat_id)
            )
            return
        await _reply(
            outbox,
            message,
            _("Approved {title} ({chat_id}): I serve it from now on.").format(
                title=html.escape(community.title), chat_id=chat_id
            ),
        )
        if community.is_active:
            t = Translator(community.language)
            await outbox.send_message(
                chat_id, t("This community has been approved: I am at your service."), priority=Priority.NORMAL
            )

    return router


async def _reply(outbox: Outbox, message: Message, text: str) -> None:
    await reply(outbox, message, text)
