"""Growth in Telegram: join/leave service messages (fallback), welcome settings, invite
campaigns and /stats. The chat_member side lives in handlers/membership.py and calls
:func:`handle_chat_member` here."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain import Community
from bot.services.community import CommunityService
from bot.services.community_settings import CommunityLookup, CommunitySettingsService
from bot.services.growth import CampaignError, GrowthService, InviteLinkError, Joiner
from bot.services.roles import RoleService
from bot.services.stats import StatsService, Target
from bot.telegram.outbox import Outbox, Priority
from bot.textsafety import compile_pattern
from handlers import rights
from handlers.convert import GROUP_TYPES, author, chat_info
from handlers.rights import addressed_community
from handlers.settings_reply import refusal_text

log = logging.getLogger(__name__)

PRESENT = {"member", "administrator", "creator"}
COMMAND_PREFIX = compile_pattern(r"^\s*/\S+\s*", name="growth.command_prefix")
_CHAT_ID = compile_pattern(r"-\d{5,20}", name="growth.chat_id")
_DAYS = compile_pattern(r"(\d{1,3})d?", name="growth.days")
_WEEKS = compile_pattern(r"(\d{1,2})w", name="growth.weeks")
_MINUTES = compile_pattern(r"\d{1,5}", name="growth.minutes")
MAX_REPORTS = 10


def _is_present(member: object) -> bool:
    status = str(getattr(member, "status", ""))
    if status == "restricted":
        return bool(getattr(member, "is_member", False))
    return status in PRESENT


async def handle_chat_member(event: ChatMemberUpdated, growth: GrowthService) -> None:
    """A member's status changed (the bot is an admin): record joins and leaves."""
    if event.chat.type not in GROUP_TYPES:
        return
    was, now = _is_present(event.old_chat_member), _is_present(event.new_chat_member)
    if was == now:
        return
    user = event.new_chat_member.user
    at = int(event.date.timestamp())
    chat = chat_info(event.chat)
    if now:
        link = event.invite_link.invite_link if event.invite_link is not None else None
        if event.via_join_request:
            via = "join_request"
        elif event.via_chat_folder_invite_link:
            via = "folder"
        elif link is not None:
            via = "link"
        elif event.from_user.id != user.id:
            via = "added"
        else:
            via = "self"
        await growth.on_join(chat, author(user), at, source="chat_member", invite_link=link, via=via)
    else:
        status = "kicked" if str(event.new_chat_member.status) == "kicked" else "left"
        await growth.on_leave(chat, author(user), at, source="chat_member", status=status)


def _current_locale() -> str:
    try:
        return str(get_i18n().current_locale)
    except LookupError:
        return "en"


def _args(command: CommandObject) -> str:
    return (command.args or "").strip()


def _rest_html(message: Message) -> str:
    """The message after its /command, with the sender's formatting kept as HTML."""
    return COMMAND_PREFIX.sub("", message.html_text or "", count=1).strip()


async def _welcome_rules(args: str, chat_id: int, community_settings: CommunitySettingsService) -> str:
    value = "" if args.lower() == "off" else args
    changed = await community_settings.set(chat_id, "growth.rules_url", value) if value or args else None
    if changed is None or not changed.ok:
        return _("Usage: /welcome_rules https://example.org/rules (or /welcome_rules off)")
    if value:
        return _("The welcome now has a rules button linking to {url}.").format(url=html.escape(args))
    return _("The welcome has no rules button now.")


async def _welcome_delete(args: str, chat_id: int, community_settings: CommunitySettingsService) -> str:
    minutes = int(args) if _MINUTES.fullmatch(args) else -1
    changed = await community_settings.set(chat_id, "growth.welcome_delete_minutes", minutes)
    if not changed.ok:
        return _("Usage: /welcome_delete MINUTES (0 keeps welcomes; at most 10080, one week)")
    if minutes == 0:
        return _("Welcomes now stay in the chat.")
    return _("Welcomes now delete themselves after {minutes} min.").format(minutes=minutes)


def build_router() -> Router:
    router = Router(name="growth")

    # --- joins and leaves from service messages (the fallback when the bot is not an admin) ---

    @router.message(F.chat.type.in_(GROUP_TYPES), F.new_chat_members)
    async def members_joined(message: Message, growth: GrowthService) -> None:
        at = int(message.date.timestamp())
        adder = message.from_user
        for user in message.new_chat_members or []:
            via = "self" if adder is None or adder.id == user.id else "added"
            await growth.on_join(chat_info(message.chat), author(user), at, source="service", via=via)

    @router.message(F.chat.type.in_(GROUP_TYPES), F.left_chat_member)
    async def member_left(message: Message, growth: GrowthService) -> None:
        user = message.left_chat_member
        if user is None:
            return
        at = int(message.date.timestamp())
        await growth.on_leave(chat_info(message.chat), author(user), at, source="service")

    # --- welcome settings (in the group, by its admins and the managers) ---

    @router.message(F.chat.type.in_(GROUP_TYPES), Command("welcome"), flags=rights.GROUP_QUIET)
    async def welcome(
        message: Message,
        command: CommandObject,
        growth: GrowthService,
        community_service: CommunityService,
        community_settings: CommunitySettingsService,
        outbox: Outbox,
    ) -> None:
        community = await community_service.community_for(chat_info(message.chat))
        args = _args(command)
        changes: dict[str, object] = {}
        if args.lower() in {"off", "on"}:
            changes["growth.welcome_enabled"] = args.lower() == "on"
        elif args.lower() == "reset":
            changes["growth.welcome_text"] = None
        elif args:
            changes["growth.welcome_text"] = _rest_html(message)
            changes["growth.welcome_enabled"] = True
        if changes:
            changed = await community_settings.change(community.chat_id, changes)
            if not changed.ok:
                await _welcome_reply(message, outbox, refusal_text(changed))
                return
            community = changed.community or community
        await _describe_welcome(message, community, growth, outbox, saved=bool(changes))

    @router.message(F.chat.type.in_(GROUP_TYPES), Command("welcome_rules", "welcome_delete"), flags=rights.GROUP_QUIET)
    async def welcome_option(
        message: Message,
        command: CommandObject,
        community_service: CommunityService,
        community_settings: CommunitySettingsService,
        outbox: Outbox,
    ) -> None:
        """/welcome_rules and /welcome_delete: each sets one option of the welcome and says what it did."""
        community = await community_service.community_for(chat_info(message.chat))
        option = _welcome_rules if command.command == "welcome_rules" else _welcome_delete
        text = await option(_args(command), community.chat_id, community_settings)
        await _welcome_reply(message, outbox, text)

    # --- invite campaigns ---

    @router.message(Command("invite_new", "invites"))
    async def campaigns(
        message: Message,
        command: CommandObject,
        growth: GrowthService,
        roles: RoleService,
        community_service: CommunityService,
        outbox: Outbox,
        settings: Settings,
    ) -> None:
        target = await addressed_community(
            message, _args(command), roles, community_service, outbox, settings.managers.chat_id
        )
        if target is None:
            return
        community, rest = target
        if command.command == "invite_new":
            await _invite_new(message, growth, community, rest, _reply_in(message, outbox))
        else:
            await _invites(growth, community, _reply_in(message, outbox))

    # --- /stats ---

    @router.message(Command("stats"))
    async def stats(
        message: Message,
        command: CommandObject,
        roles: RoleService,
        stats_service: StatsService,
        growth: GrowthService,
        community_service: CommunityService,
        community_settings: CommunitySettingsService,
        settings: Settings,
        outbox: Outbox,
    ) -> None:
        services = _StatsServices(stats_service, growth, community_service, community_settings)
        await _stats(message, _args(command), roles, services, settings, outbox)

    return router


async def _invite_new(
    message: Message, growth: GrowthService, community: Community, name: str, reply: Callable[[str], Awaitable[None]]
) -> None:
    if not name:
        await reply(_("Usage: /invite_new CAMPAIGN (for example /invite_new spring_newsletter)"))
        return
    try:
        campaign, created = await growth.create_campaign(
            community.chat_id, name, created_by=message.from_user.id if message.from_user else None
        )
    except CampaignError as exc:
        if exc.code == "bad_name":
            await reply(_("A campaign name has 1 to 32 letters, digits, spaces, dots, dashes or underscores."))
        else:
            await reply(_("Invite links cannot be created here."))
        return
    except InviteLinkError as exc:
        if exc.no_rights:
            await reply(_("I need to be an admin with the right to invite users to create invite links."))
        else:
            await reply(_("Telegram refused to create the link: {error}").format(error=html.escape(exc.detail)))
        return
    if created:
        text = _(
            "New invite link for the campaign <b>{name}</b> in {chat}:\n{link}\n\n"
            "Joins through it are counted in /stats and /invites."
        )
    else:
        text = _("The campaign <b>{name}</b> in {chat} already has a link:\n{link}")
    await reply(
        text.format(
            name=html.escape(campaign.name),
            chat=html.escape(community.title),
            link=html.escape(campaign.invite_link),
        )
    )


async def _invites(growth: GrowthService, community: Community, reply: Callable[[str], Awaitable[None]]) -> None:
    figures = await growth.campaigns(community.chat_id)
    if not figures:
        await reply(
            _("No invite campaigns in {chat} yet. Create one with /invite_new CAMPAIGN.").format(
                chat=html.escape(community.title)
            )
        )
        return
    lines = [_("Invite campaigns in <b>{chat}</b>:").format(chat=html.escape(community.title))]
    for f in figures:
        lines.append(
            _("• <b>{name}</b>: {joins} joined, {leaves} left, {still} still here\n  {link}").format(
                name=html.escape(f.campaign.name),
                joins=f.joins,
                leaves=f.leaves,
                still=f.still_members,
                link=html.escape(f.campaign.invite_link),
            )
        )
    await reply("\n".join(lines))


async def _answer(message: Message, outbox: Outbox, text: str, *, thread_id: int | None) -> None:
    await outbox.send_message(
        message.chat.id, text, reply_to=message.message_id, thread_id=thread_id, priority=Priority.REPLY
    )


async def _welcome_reply(message: Message, outbox: Outbox, text: str) -> None:
    await _answer(message, outbox, text, thread_id=message.message_thread_id)


def _reply_in(message: Message, outbox: Outbox) -> Callable[[str], Awaitable[None]]:
    async def reply(text: str) -> None:
        await _answer(message, outbox, text, thread_id=message.message_thread_id if message.is_topic_message else None)

    return reply


def _parse_stats_args(args: str) -> tuple[int, int | None] | None:
    days, chat_id = 7, None
    for token in args.split():
        token = token.lower()
        if m := _DAYS.fullmatch(token):
            days = int(m.group(1))
            if not 1 <= days <= 365:
                return None
        elif m := _WEEKS.fullmatch(token):
            days = 7 * int(m.group(1))
            if not 1 <= days <= 365:
                return None
        elif _CHAT_ID.fullmatch(token):
            chat_id = int(token)
        else:
            return None
    return days, chat_id


class _StatsServices(NamedTuple):
    stats: StatsService
    growth: GrowthService
    community: CommunityService
    communities: CommunityLookup


async def _stats(
    message: Message,
    args: str,
    roles: RoleService,
    services: _StatsServices,
    settings: Settings,
    outbox: Outbox,
) -> None:
    stats_service, growth, community_service, communities = services
    user = message.from_user
    if user is None:
        return
    reply = _reply_in(message, outbox)
    sender_chat_id = message.sender_chat.id if message.sender_chat is not None else None
    in_group = message.chat.type in GROUP_TYPES
    managers_chat = in_group and message.chat.id == settings.managers.chat_id
    if (
        in_group
        and not managers_chat
        and not await roles.can_manage(message.chat.id, user.id, sender_chat_id=sender_chat_id)
    ):
        return  # not for members; say nothing in the group
    if managers_chat and not await roles.can_manage(None, user.id):
        return  # the managers' chat: only the managers
    parsed = _parse_stats_args(args)
    if parsed is None:
        await reply(_("Usage: /stats [7d|30d] — the figures of the last 7 or 30 days (up to 365d)."))
        return
    days, chat_id = parsed
    locale = _current_locale()
    here = Target(
        message.chat.id,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_to=message.message_id,
    )

    if in_group and not managers_chat:
        community = await community_service.community_for(chat_info(message.chat))
        if chat_id is not None and chat_id != community.chat_id:
            await reply(_("Ask for another group's figures in private or in the managers' chat."))
            return
        if growth.stats_in_group(community):
            await stats_service.send(here, community, days, locale=locale)
            return
        if sender_chat_id is not None:
            await reply(
                _("Figures are not posted in this group. Ask me in private: /stats {days}d {chat_id}").format(
                    days=days, chat_id=community.chat_id
                )
            )
            return
        if await stats_service.send(Target(user.id), community, days, locale=locale):
            await reply(_("I sent you the figures in private."))
        else:
            await reply(_("I could not message you in private. Open a chat with me, press Start, and ask again."))
        return

    # Private chat or the managers' chat: one community, or every one this person manages.
    if chat_id is not None:
        chosen = await communities.get(chat_id)
        if chosen is None or not await roles.can_manage(chat_id, user.id):
            await reply(_("I do not know a group {chat_id} that you manage.").format(chat_id=chat_id))
            return
        targets = [chosen]
    else:
        active = [c for c in await communities.list(active_only=True) if c.chat_id != settings.managers.chat_id]
        managed = set(await roles.managed_by(user.id, [c.chat_id for c in active]))
        targets = [c for c in active if c.chat_id in managed]
        if not targets:
            await reply(_("There are no groups you manage yet."))
            return
        if len(targets) > MAX_REPORTS:
            listing = "\n".join(f"{html.escape(c.title)}: <code>{c.chat_id}</code>" for c in targets[:50])
            await reply(
                _("You manage {n} groups; ask for one: /stats 7d CHAT_ID\n\n{list}").format(
                    n=len(targets), list=listing
                )
            )
            return
    for community in targets:
        await stats_service.send(here, community, days, locale=locale)


async def _describe_welcome(
    message: Message, community: Community, growth: GrowthService, outbox: Outbox, *, saved: bool
) -> None:
    enabled, minutes, rules = growth.welcome_settings(community)
    lines = [_("Saved.") if saved else _("Welcome settings for this group:")]
    lines.append(_("Welcomes are on.") if enabled else _("Welcomes are off (/welcome on to turn them on)."))
    lines.append(
        _("Self-delete after {minutes} min.").format(minutes=minutes) if minutes else _("Welcomes are not deleted.")
    )
    lines.append(_("Rules button: {url}").format(url=html.escape(rules)) if rules else _("No rules button."))
    lines.append(
        _(
            "Change it with /welcome TEXT ({name} and {chat} are filled in), /welcome reset, /welcome off, "
            "/welcome_rules URL, /welcome_delete MINUTES."
        )
    )
    lines.append("")
    lines.append(_("Preview:"))
    user = message.from_user
    joiner = Joiner(user.id if user else 0, user.first_name if user else "", 0)
    reply = _reply_in(message, outbox)
    await reply("\n".join(lines))
    delivery = await outbox.send_message(
        message.chat.id,
        growth.welcome_text(community, [joiner]),
        keyboard=growth.welcome_keyboard(community),
        thread_id=message.message_thread_id if message.is_topic_message else None,
        priority=Priority.REPLY,
    )
    if not delivery.ok:
        await reply(_("Telegram refused this welcome: {error}").format(error=html.escape(delivery.error or "")))
