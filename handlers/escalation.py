"""The managers' queue in Telegram: case buttons, the Reply flow, /queue, /case, /shadow_report, /escalation.

Thin: every decision is in bot.services.escalation. Permissions are checked by user id on every call,
with ``RoleService.can_manage``: buttons and the Reply flow against the case's community; the queue
commands (managers only) and /escalation (this group) through their rights flag (handlers/rights.py).
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services.escalation import ACTIONS, REPLY, Actor, EscalationService
from bot.services.roles import RoleService
from bot.telegram.outbox import Outbox, Priority
from handlers import rights
from handlers.callbacks import CaseButton
from handlers.convert import GROUP_TYPES
from handlers.replies import answer_button

log = logging.getLogger(__name__)


def actor_of(user: Any) -> Actor:
    return Actor(int(user.id), str(user.full_name or user.first_name or user.id))


class HasPendingReply(BaseFilter):
    """The author pressed Reply on a case and this chat is where the answer is expected."""

    async def __call__(self, message: Message, escalation: EscalationService) -> bool | dict[str, Any]:
        if message.from_user is None:
            return False
        pending = await escalation.pending_reply(message.from_user.id, message.chat.id)
        if pending is None:
            return False
        return {"pending": pending}


class InDesk(BaseFilter):
    """A private chat or the managers' group."""

    async def __call__(self, message: Message, escalation: EscalationService) -> bool:
        return message.chat.type == "private" or message.chat.id == escalation.managers_chat_id


def _topic(message: Message | None) -> int | None:
    """The forum topic a message is in (None outside forums: there thread ids are reply chains)."""
    if message is None or message.message_thread_id is None:
        return None
    if message.is_topic_message or message.chat.is_forum:
        return message.message_thread_id
    return None


async def _answer(outbox: Outbox, query: CallbackQuery, text: str, *, alert: bool = False) -> None:
    await answer_button(outbox, query, text, alert=alert)


def build_router() -> Router:
    router = Router(name="escalation")

    @router.callback_query(CaseButton.filter())
    async def on_button(
        query: CallbackQuery,
        callback_data: CaseButton,
        escalation: EscalationService,
        roles: RoleService,
        outbox: Outbox,
    ) -> None:
        user = query.from_user
        case = await escalation.case(callback_data.case_id)  # None also for a forged, out-of-range id
        if case is None:
            await _answer(outbox, query, _("There is no case #{id}.").format(id=callback_data.case_id), alert=True)
            return
        if not await roles.can_manage(case.chat_id, user.id):
            log.info("user %s pressed %s on case #%s and was refused", user.id, callback_data.action, case.id)
            await _answer(outbox, query, _("Only managers can work on cases."), alert=True)
            return
        if callback_data.action not in ACTIONS:
            await _answer(outbox, query, _("This button is out of date."), alert=True)
            return
        actor = actor_of(user)
        action = callback_data.action
        if action == REPLY:
            message = query.message if isinstance(query.message, Message) else None
            chat_id = message.chat.id if message is not None else user.id
            outcome = await escalation.begin_reply(case.id, actor, chat_id)
            if outcome.ok:
                delivery = await outbox.send_message(
                    chat_id, outcome.text, thread_id=_topic(message), priority=Priority.REPLY
                )
                if not delivery.ok:
                    await escalation.cancel_reply(user.id, chat_id)
                    await _answer(
                        outbox,
                        query,
                        _("I cannot write to you there: {error}").format(error=delivery.error),
                        alert=True,
                    )
                    return
                await _answer(outbox, query, _("Write your answer as your next message."))
            else:
                await _answer(outbox, query, outcome.text, alert=True)
            return
        handlers = {
            "take": escalation.take,
            "resolve": escalation.resolve,
            "dismiss": escalation.dismiss,
            "snooze": escalation.snooze,
        }
        outcome = await handlers[action](case.id, actor)
        await _answer(outbox, query, outcome.text, alert=not outcome.ok)

    @router.message(Command("cancel"), InDesk(), HasPendingReply())
    async def cancel(message: Message, escalation: EscalationService, pending: Any) -> None:
        assert message.from_user is not None
        await escalation.cancel_reply(message.from_user.id, message.chat.id)
        await message_reply(
            message, escalation, _("Cancelled: nothing was posted for case #{id}.").format(id=pending.case_id)
        )

    @router.message(InDesk(), HasPendingReply(), ~F.text.startswith("/"))
    async def answer(message: Message, escalation: EscalationService, roles: RoleService, pending: Any) -> None:
        user = message.from_user
        assert user is not None
        case = await escalation.case(pending.case_id)
        if case is None or not await roles.can_manage(case.chat_id, user.id):
            await escalation.cancel_reply(user.id, message.chat.id)
            await message_reply(message, escalation, _("Only managers can answer cases."))
            return
        if message.text is None:
            await message_reply(message, escalation, _("Send the answer as text (or /cancel)."))
            return
        outcome = await escalation.submit_reply(actor_of(user), message.chat.id, message.html_text)
        await message_reply(message, escalation, outcome.text)

    @router.message(Command("queue"), InDesk(), flags=rights.DESK)
    async def queue(message: Message, escalation: EscalationService) -> None:
        await message_reply(message, escalation, await escalation.queue_text())

    @router.message(Command("case"), InDesk(), flags=rights.DESK)
    async def case(message: Message, command: CommandObject, escalation: EscalationService) -> None:
        arg, _sep, rest = (command.args or "").strip().lstrip("#").partition(" ")
        why = rest.strip().lower() == "why"
        if not (arg.isascii() and arg.isdigit()) or len(arg) > 18 or (rest.strip() and not why):
            await message_reply(
                message,
                escalation,
                _("Usage: /case <number> [why], for example /case 12 why").replace("<", "&lt;").replace(">", "&gt;"),
            )
            return
        if why:
            outcome = await escalation.why(int(arg))
            await message_reply(message, escalation, outcome.text)
            return
        outcome = await escalation.show(int(arg), message.chat.id, _topic(message))
        if not outcome.ok:
            await message_reply(message, escalation, outcome.text)

    @router.message(Command("shadow_report"), InDesk(), flags=rights.DESK)
    async def shadow_report(message: Message, command: CommandObject, escalation: EscalationService) -> None:
        arg = (command.args or "").strip()
        valid = arg.isascii() and arg.isdigit() and len(arg) <= 3 and 1 <= int(arg) <= 365
        days = int(arg) if valid else 7
        if arg and not valid:
            await message_reply(message, escalation, _("Usage: /shadow_report [days from 1 to 365]; showing 7 days."))
        await message_reply(message, escalation, await escalation.shadow_report(days))

    @router.message(Command("escalation"), F.chat.type.in_(GROUP_TYPES), flags=rights.GROUP)
    async def configure(message: Message, command: CommandObject, escalation: EscalationService) -> None:
        args = (command.args or "").strip()
        if not args:
            await message_reply(message, escalation, await escalation.settings_text(message.chat.id))
            return
        key, _sep, value = args.partition(" ")
        if not value.strip():
            await message_reply(message, escalation, _("Usage: /escalation &lt;setting&gt; &lt;value&gt;"))
            return
        user = message.from_user
        actor = actor_of(user) if user is not None else Actor(message.chat.id, message.chat.title or "admin")
        outcome = await escalation.set_community_setting(message.chat.id, key.lower(), value, actor)
        await message_reply(message, escalation, outcome.text)

    return router


async def message_reply(message: Message, escalation: EscalationService, text: str) -> None:
    await escalation.reply(message.chat.id, text, thread_id=_topic(message), reply_to=message.message_id)
