"""The bot's own membership (my_chat_member) and admin changes (chat_member)."""

from __future__ import annotations

import html
import logging

from aiogram import Bot, F, Router
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner, ChatMemberUpdated
from aiogram.utils.i18n import gettext as _

from bot.i18n import Translator
from bot.services.access import AccessService
from bot.services.community import CommunityService
from bot.services.gate import GateService
from bot.services.growth import GrowthService
from bot.services.roles import RoleService
from bot.telegram.outbox import Outbox, Priority
from handlers.access import waiting_line
from handlers.convert import chat_info
from handlers.growth import handle_chat_member

log = logging.getLogger(__name__)

ACTIVE = {"member", "administrator", "creator", "restricted"}
ADMIN_TYPES = (ChatMemberAdministrator, ChatMemberOwner)


def rights_problems(new_member: object, *, can_read_all_group_messages: bool) -> list[str]:
    """What the bot lacks to do its job in a group, in words for the person who added it."""
    problems: list[str] = []
    is_admin = isinstance(new_member, ADMIN_TYPES)
    if not is_admin and not can_read_all_group_messages:
        problems.append(
            _(
                "I cannot read ordinary messages: privacy mode is on and I am not an admin. "
                "Make me an admin of the group, or turn privacy mode off in @BotFather "
                "(/setprivacy → Disable) and add me again."
            )
        )
    if isinstance(new_member, ChatMemberAdministrator):
        if not new_member.can_delete_messages:
            problems.append(_("Without the right to delete messages I cannot clean up my own welcomes."))
        if not new_member.can_pin_messages:
            problems.append(_("Without the right to pin messages I cannot pin scheduled posts."))
        if not new_member.can_invite_users:
            problems.append(_("Without the right to invite users I cannot create invite links for campaigns."))
    elif not is_admin:
        problems.append(_("As an admin I also see member joins and leaves, which growth analytics need."))
    return problems


def build_router() -> Router:
    router = Router(name="membership")
    router.my_chat_member.filter(F.chat.type.in_({"group", "supergroup"}))
    router.chat_member.filter(F.chat.type.in_({"group", "supergroup"}))

    @router.my_chat_member()
    async def bot_membership_changed(
        event: ChatMemberUpdated,
        bot: Bot,
        community_service: CommunityService,
        outbox: Outbox,
        roles: RoleService,
        access: AccessService,
    ) -> None:
        status = event.new_chat_member.status
        chat_id = event.chat.id
        if status not in ACTIVE:
            log.info("removed from chat %s (%s)", chat_id, status)
            await community_service.deactivate(chat_id, bot_status=str(status))
            roles.forget(chat_id)
            return
        was_active = event.old_chat_member.status in ACTIVE
        await community_service.register(chat_info(event.chat), bot_status=str(status), added_by=event.from_user.id)
        roles.forget(chat_id)
        if not await access.on_added(chat_id, event.from_user.id):
            # [access] communities = "approved" and nobody trusted added it: one polite line, then quiet.
            if await access.first_notice(chat_id):
                line = waiting_line(Translator(community_service.default_language), chat_id)
                delivery = await outbox.send_message(event.from_user.id, line, priority=Priority.NORMAL)
                if not delivery.ok:
                    await outbox.send_message(chat_id, line, priority=Priority.NORMAL)
            return
        me = await bot.me()
        problems = rights_problems(
            event.new_chat_member, can_read_all_group_messages=bool(me.can_read_all_group_messages)
        )
        if was_active and not problems:
            return
        title = html.escape(event.chat.title or str(chat_id))  # anyone names a group: the title is text, not HTML
        if problems:
            text = (
                _("Thanks for adding me to {title}. A few things need fixing:").format(title=title)
                + "\n\n"
                + "\n".join(f"• {problem}" for problem in problems)
            )
        else:
            text = _("Thanks for adding me to {title}. I have every right I need.").format(title=title)
        # Tell the person who added the bot in private; if they never started it, say it in the group.
        delivery = await outbox.send_message(event.from_user.id, text, priority=Priority.NORMAL)
        if not delivery.ok:
            await outbox.send_message(chat_id, text, priority=Priority.NORMAL)

    @router.chat_member()
    async def member_changed(
        event: ChatMemberUpdated,
        roles: RoleService,
        growth: GrowthService | None = None,
        gate: GateService | None = None,
    ) -> None:
        user_id = event.new_chat_member.user.id
        roles.admin_changed(event.chat.id, user_id, isinstance(event.new_chat_member, ADMIN_TYPES))
        joined = str(event.old_chat_member.status) in ("left", "kicked") and str(event.new_chat_member.status) in (
            "member",
            "restricted",
        )
        if gate is not None and joined:
            # Raid mode counts joins (handlers stay thin: the decision is in bot.services.gate).
            await gate.on_member_joined(event.chat.id, user_id, event.new_chat_member.user.full_name)
        if growth is not None:
            # Joins, leaves, invite-link attribution and welcomes (handlers/growth.py).
            await handle_chat_member(event, growth)

    return router
