"""Invite links and join requests."""

from __future__ import annotations

import copy
import secrets
from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.methods.checks import check_admin_right, reachable_chat
from bot.sandbox.methods.registry import Family
from bot.sandbox.params import Ctx, Params
from bot.sandbox.state import JSON, ChatState, Member, present

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


METHODS = Family("invite links and join requests")


def make_invite_link(
    chat: ChatState,
    creator: JSON,
    *,
    name: str | None = None,
    primary: bool = False,
    expire_date: int | None = None,
    member_limit: int | None = None,
    creates_join_request: bool = False,
) -> JSON:
    """A new invite link of ``chat`` (the bot's or a person's), stored with the chat."""
    link: JSON = {
        "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
        "creator": creator,
        "creates_join_request": creates_join_request,
        "is_primary": primary,
        "is_revoked": False,
    }
    link.update(present(name=name, expire_date=expire_date, member_limit=member_limit))
    chat.invite_links[link["invite_link"]] = link
    return link


def _inviting_chat(sb: SandboxCore, ctx: Ctx, p: Params) -> ChatState:
    """The chat, when the bot may manage its invite links."""
    chat = reachable_chat(sb, ctx, p)
    if chat.type == "private":
        raise ApiError(400, "Bad Request: can't invite members to a private chat")
    check_admin_right(ctx, chat, "can_invite_users", "Bad Request: not enough rights to manage chat invite links")
    return chat


@METHODS.method("createChatInviteLink")
async def create_chat_invite_link(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = _inviting_chat(sb, ctx, p)
    name = p.get_str("name")
    if name is not None and len(name) > 32:
        raise ApiError(400, "Bad Request: invite link name is too long")
    if p.get_bool("creates_join_request") and p.has("member_limit"):
        raise ApiError(400, "Bad Request: member limit can't be specified for links requiring administrator approval")
    return copy.deepcopy(
        make_invite_link(
            chat,
            sb.bot_user(ctx.bot_id),
            name=name,
            expire_date=p.get_int("expire_date"),
            member_limit=p.get_int("member_limit"),
            creates_join_request=p.get_bool("creates_join_request"),
        )
    )


def _find_link(chat: ChatState, p: Params) -> JSON:
    link = chat.invite_links.get(p.get_str("invite_link") or "")
    if link is None:
        raise ApiError(400, "Bad Request: INVITE_HASH_EXPIRED")
    return link


@METHODS.method("editChatInviteLink")
async def edit_chat_invite_link(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = _inviting_chat(sb, ctx, p)
    link = _find_link(chat, p)
    for key in ("name",):
        if p.has(key):
            link[key] = p.get_str(key)
    for key in ("expire_date", "member_limit"):
        if p.has(key):
            link[key] = p.get_int(key)
    if p.has("creates_join_request"):
        link["creates_join_request"] = p.get_bool("creates_join_request")
    return copy.deepcopy(link)


@METHODS.method("revokeChatInviteLink")
async def revoke_chat_invite_link(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = _inviting_chat(sb, ctx, p)
    link = _find_link(chat, p)
    link["is_revoked"] = True
    if link.get("is_primary"):
        link["is_primary"] = False
        make_invite_link(chat, link["creator"], primary=True)
    return copy.deepcopy(link)


@METHODS.method("exportChatInviteLink")
async def export_chat_invite_link(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = _inviting_chat(sb, ctx, p)
    for link in chat.invite_links.values():
        if link.get("is_primary"):
            link["is_primary"] = False
            link["is_revoked"] = True
    return make_invite_link(chat, sb.bot_user(ctx.bot_id), primary=True)["invite_link"]


def _join_request(sb: SandboxCore, ctx: Ctx, p: Params) -> tuple[ChatState, int]:
    chat = reachable_chat(sb, ctx, p)
    check_admin_right(ctx, chat, "can_invite_users", "Bad Request: not enough rights to invite users")
    user_id = p.req_int("user_id")
    if user_id not in chat.join_requests:
        raise ApiError(400, "Bad Request: HIDE_REQUESTER_MISSING")
    chat.join_requests.discard(user_id)
    return chat, user_id


@METHODS.method("approveChatJoinRequest")
async def approve_chat_join_request(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat, user_id = _join_request(sb, ctx, p)
    sb.member_changed(chat, user_id, Member(user_id, "member"), sb.bot_user(ctx.bot_id), via_join_request=True)
    return True


@METHODS.method("declineChatJoinRequest")
async def decline_chat_join_request(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    _join_request(sb, ctx, p)
    return True
