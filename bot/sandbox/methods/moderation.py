"""Moderation: banning, unbanning and restricting members and sender chats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.methods.checks import check_admin_right, reachable_chat
from bot.sandbox.methods.registry import Family
from bot.sandbox.params import Ctx, Params
from bot.sandbox.state import RESTRICTED_PERMISSIONS, ChatState, Member

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


METHODS = Family("moderation")


def _moderate(sb: SandboxCore, ctx: Ctx, p: Params) -> tuple[ChatState, int]:
    chat = reachable_chat(sb, ctx, p)
    if chat.type == "private":
        raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
    check_admin_right(
        ctx,
        chat,
        "can_restrict_members",
        "Bad Request: not enough rights to restrict/unrestrict chat member",
    )
    user_id = p.req_int("user_id")
    if chat.member(user_id).status == "creator":
        raise ApiError(400, "Bad Request: can't remove chat owner")
    if user_id == ctx.bot_id:
        raise ApiError(400, "Bad Request: can't restrict self")
    if chat.member(user_id).status == "administrator":
        # Telegram allows it only for admins the bot itself promoted; the sandbox's bot promotes nobody.
        raise ApiError(400, "Bad Request: user is an administrator of the chat")
    return chat, user_id


@METHODS.method("banChatMember")
async def ban_chat_member(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat, user_id = _moderate(sb, ctx, p)
    until = p.get_int("until_date") or 0
    sb.member_changed(chat, user_id, Member(user_id, "kicked", until_date=until), sb.bot_user(ctx.bot_id))
    return True


@METHODS.method("unbanChatMember")
async def unban_chat_member(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat, user_id = _moderate(sb, ctx, p)
    member = chat.member(user_id)
    if member.status == "kicked" or (member.present and not p.get_bool("only_if_banned")):
        sb.member_changed(chat, user_id, Member(user_id, "left"), sb.bot_user(ctx.bot_id))
    return True


@METHODS.method("restrictChatMember")
async def restrict_chat_member(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat, user_id = _moderate(sb, ctx, p)
    if chat.type != "supergroup":
        raise ApiError(400, "Bad Request: method is available only for supergroups")
    perms = p.get_obj("permissions")
    if not isinstance(perms, dict):
        raise ApiError(400, "Bad Request: permissions are required")
    rights = {key: bool(perms.get(key, False)) for key in RESTRICTED_PERMISSIONS}
    present = chat.member(user_id).present
    if all(rights[key] for key in RESTRICTED_PERMISSIONS if chat.permissions.get(key, False)):
        # Every permission the group grants: Telegram lifts the restriction (a plain member again).
        if chat.member(user_id).status == "restricted":
            status = "member" if present else "left"
            sb.member_changed(chat, user_id, Member(user_id, status), sb.bot_user(ctx.bot_id))
        return True
    sb.member_changed(
        chat,
        user_id,
        Member(
            user_id,
            "restricted",
            rights=rights,
            until_date=p.get_int("until_date") or 0,
            is_member=present,
        ),
        sb.bot_user(ctx.bot_id),
    )
    return True


def _sender_chat_target(sb: SandboxCore, ctx: Ctx, p: Params) -> tuple[ChatState, int]:
    chat = reachable_chat(sb, ctx, p)
    if chat.type not in ("supergroup", "channel"):
        raise ApiError(400, "Bad Request: method is available only for supergroups and channel")
    check_admin_right(
        ctx, chat, "can_restrict_members", "Bad Request: not enough rights to restrict/unrestrict chat member"
    )
    sender_chat_id = p.req_int("sender_chat_id")
    if sender_chat_id == chat.id:
        raise ApiError(400, "Bad Request: can't ban the chat itself")  # the group's own anonymous admins
    return chat, sender_chat_id


@METHODS.method("banChatSenderChat")
async def ban_chat_sender_chat(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat, sender_chat_id = _sender_chat_target(sb, ctx, p)
    chat.banned_sender_chats.add(sender_chat_id)
    return True


@METHODS.method("unbanChatSenderChat")
async def unban_chat_sender_chat(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat, sender_chat_id = _sender_chat_target(sb, ctx, p)
    chat.banned_sender_chats.discard(sender_chat_id)
    return True
