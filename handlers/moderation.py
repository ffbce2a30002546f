"""Moderation in Telegram: card buttons, /report, /modlog, /mute on a case, /moderation settings.

Thin: every decision is in bot.services.moderation. Rights are checked there, by user id against the
message's community, for buttons and commands alike (``ModerationService.act``, with
``RoleService.can_manage``); the other commands carry a rights flag (handlers/rights.py).
"""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, ChatJoinRequest, Message
from aiogram.utils.i18n import gettext as _

from bot.services.community import CommunityService
from bot.services.escalation import Actor, EscalationService
from bot.services.gate import GateService
from bot.services.moderation import ModerationService
from bot.services.moderation_settings import set_setting, settings_text
from bot.services.moderation_types import TargetMessage, parse_duration
from bot.telegram.outbox import Outbox
from handlers import rights
from handlers.callbacks import GateButton, ModButton
from handlers.convert import GROUP_TYPES, author_of, chat_info, message_text
from handlers.escalation import InDesk, _answer, _topic, actor_of, message_reply

log = logging.getLogger(__name__)


def target_of(reply: Message) -> TargetMessage:
    author = author_of(reply)
    name = reply.sender_chat.title if reply.sender_chat is not None and reply.sender_chat.title else author.display_name
    return TargetMessage(
        chat_id=reply.chat.id,
        message_id=reply.message_id,
        user_id=author.user_id,
        name=name or str(author.user_id),
        text=message_text(reply),
        thread_id=reply.message_thread_id if reply.is_topic_message else None,
        sender_chat_id=author.sender_chat_id,
        is_automatic_forward=bool(reply.is_automatic_forward),
    )


def build_router() -> Router:
    router = Router(name="moderation")

    @router.callback_query(ModButton.filter())
    async def on_button(
        query: CallbackQuery, callback_data: ModButton, moderation: ModerationService, outbox: Outbox
    ) -> None:
        outcome = await moderation.act(callback_data.subject_id, callback_data.action, actor_of(query.from_user))
        await _answer(outbox, query, outcome.text, alert=not outcome.ok)

    @router.callback_query(GateButton.filter())
    async def on_gate(query: CallbackQuery, callback_data: GateButton, gate: GateService, outbox: Outbox) -> None:
        outcome = await gate.press(callback_data.chat_id, query.from_user.id)
        await _answer(outbox, query, outcome.text, alert=True)

    @router.chat_join_request()
    async def on_join_request(event: ChatJoinRequest, gate: GateService) -> None:
        await gate.on_join_request(event.chat.id, event.from_user.id, event.from_user.full_name, event.user_chat_id)

    @router.message(Command("report"), F.chat.type.in_(GROUP_TYPES))
    async def report(message: Message, moderation: ModerationService, escalation: EscalationService) -> None:
        user = message.from_user
        if user is None or (user.is_bot and message.sender_chat is None):
            return
        reply = message.reply_to_message
        if reply is None or (message.is_topic_message and reply.message_id == message.message_thread_id):
            await moderation.notice(
                message.chat.id, _("Reply to the message you want to report with /report."), thread_id=_topic(message)
            )
            return
        reporter = Actor(user.id, user.full_name or str(user.id))
        await moderation.report_command(
            message.chat.id, reporter, target_of(reply), command_message_id=message.message_id, topic_id=_topic(message)
        )

    @router.message(Command("modlog"), F.chat.type.in_(GROUP_TYPES), ~InDesk(), flags=rights.GROUP)
    async def modlog_here(message: Message, moderation: ModerationService, escalation: EscalationService) -> None:
        await message_reply(message, escalation, await moderation.modlog_text([message.chat.id]))

    @router.message(Command("modlog"), InDesk(), flags=rights.DESK)
    async def modlog_all(message: Message, moderation: ModerationService, escalation: EscalationService) -> None:
        await message_reply(message, escalation, await moderation.modlog_text(None))

    @router.message(Command("mute"), InDesk(), flags=rights.DESK)
    async def mute_case(
        message: Message,
        command: CommandObject,
        moderation: ModerationService,
        escalation: EscalationService,
    ) -> None:
        user = message.from_user
        assert user is not None  # the rights flag let a manager through
        parts = (command.args or "").split(maxsplit=2)
        number = parts[0].lstrip("#") if parts else ""
        seconds = parse_duration(parts[1]) if len(parts) > 1 else None
        if not (number.isascii() and number.isdigit() and len(number) <= 18) or seconds is None:
            await message_reply(
                message,
                escalation,
                html.escape(
                    _("Usage: /mute <case> <duration> [reason], for example /mute 12 3h flooding (m, h, d, w)")
                ),
            )
            return
        subject = await moderation.subject_of_case(int(number))
        if subject is None:
            await message_reply(
                message, escalation, _("Case #{id} is not about a member's message.").format(id=int(number))
            )
            return
        outcome = await moderation.act(
            subject.id, "mute", actor_of(user), reason=parts[2] if len(parts) > 2 else "", seconds=seconds
        )
        await message_reply(message, escalation, outcome.text)

    @router.message(Command("moderation"), F.chat.type.in_(GROUP_TYPES), flags=rights.GROUP)
    async def configure(
        message: Message,
        command: CommandObject,
        moderation: ModerationService,
        escalation: EscalationService,
        community_service: CommunityService,
    ) -> None:
        await community_service.community_for(chat_info(message.chat))  # the first word may be this command
        args = (command.args or "").strip()
        if not args:
            await message_reply(message, escalation, await settings_text(moderation, message.chat.id))
            return
        key, _sep, value = args.partition(" ")
        user = message.from_user
        actor = actor_of(user) if user is not None else Actor(message.chat.id, message.chat.title or "admin")
        outcome = await set_setting(moderation, message.chat.id, key.lower(), value, actor)
        await message_reply(message, escalation, outcome.text)

    return router
