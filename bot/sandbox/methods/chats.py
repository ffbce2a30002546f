"""Chats as the bot sees them: chat and member info, pins, leaving, chat actions, reactions, and answering
callback queries."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.methods.checks import (
    check_access,
    check_admin_right,
    check_can_send,
    get_message,
    reachable_chat,
    require_group,
    resolve_chat,
)
from bot.sandbox.methods.registry import Family
from bot.sandbox.params import Ctx, Params
from bot.sandbox.state import JSON, ChatState, Member

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


METHODS = Family("chats")

# Fields a ChatFullInfo must carry that the sandbox does not model (fixed values, as for a plain chat).
CHAT_INFO_DEFAULTS: JSON = {
    "accent_color_id": 0,
    "max_reaction_count": 11,
    "accepted_gift_types": {
        "unlimited_gifts": False,
        "limited_gifts": False,
        "unique_gifts": False,
        "premium_subscription": False,
        "gifts_from_channels": False,
    },
}


@METHODS.method("getChat")
async def get_chat(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = resolve_chat(sb, p)
    if chat.type != "private" or chat.migrated_to is not None:
        check_access(sb, ctx, chat)
    info = chat.render()
    info.update(copy.deepcopy(CHAT_INFO_DEFAULTS))
    if chat.description:
        info["description" if chat.type != "private" else "bio"] = chat.description
    if chat.type in ("group", "supergroup"):
        info["permissions"] = dict(chat.permissions)
    primary = next((link for link in chat.invite_links.values() if link.get("is_primary")), None)
    if primary is not None and chat.member(ctx.bot_id).can("can_invite_users"):
        info["invite_link"] = primary["invite_link"]
    if chat.pinned and chat.pinned[-1] in chat.messages:
        info["pinned_message"] = copy.deepcopy(chat.messages[chat.pinned[-1]])
    if chat.linked_chat_id is not None:
        info["linked_chat_id"] = chat.linked_chat_id
    if chat.migrated_from is not None:
        info["migrated_from_chat_id"] = chat.migrated_from
    return info


@METHODS.method("getChatMember")
async def get_chat_member(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = reachable_chat(sb, ctx, p)
    user_id = p.req_int("user_id")
    if user_id not in sb.users and user_id not in chat.members:
        raise ApiError(400, "Bad Request: user not found")
    if chat.type == "private":
        status = "member" if user_id in (chat.id, ctx.bot_id) else "left"
        return Member(user_id, status).render(sb._render_user(user_id))
    return sb.render_member(chat, user_id)


@METHODS.method("getChatAdministrators")
async def get_chat_administrators(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = resolve_chat(sb, p)
    require_group(chat)
    check_access(sb, ctx, chat)
    return [sb.render_member(chat, uid) for uid, m in chat.members.items() if m.is_admin]


@METHODS.method("getChatMemberCount")
async def get_chat_member_count(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = reachable_chat(sb, ctx, p)
    if chat.type == "private":
        return 2
    return sum(1 for m in chat.members.values() if m.present)


def _pinning_chat(sb: SandboxCore, ctx: Ctx, p: Params, *, in_channel: str = "can_edit_messages") -> ChatState:
    """The chat, when the bot may pin there (``can_pin_messages``; in a channel, ``in_channel``)."""
    chat = reachable_chat(sb, ctx, p)
    right = "can_pin_messages" if chat.type != "channel" else in_channel
    check_admin_right(ctx, chat, right, "Bad Request: not enough rights to manage pinned messages in the chat")
    return chat


@METHODS.method("pinChatMessage")
async def pin_chat_message(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = _pinning_chat(sb, ctx, p)
    msg = get_message(chat, p.get_int("message_id", required=True), "Bad Request: message to pin not found")
    if msg["message_id"] in chat.pinned:
        chat.pinned.remove(msg["message_id"])
    chat.pinned.append(msg["message_id"])
    return True


@METHODS.method("unpinChatMessage")
async def unpin_chat_message(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = _pinning_chat(sb, ctx, p)
    mid = p.get_int("message_id")
    if mid is None:
        if not chat.pinned:
            raise ApiError(400, "Bad Request: message to unpin not found")
        chat.pinned.pop()
    elif mid in chat.pinned:
        chat.pinned.remove(mid)
    else:
        raise ApiError(400, "Bad Request: message to unpin not found")
    return True


@METHODS.method("unpinAllChatMessages")
async def unpin_all_chat_messages(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = _pinning_chat(sb, ctx, p, in_channel="can_pin_messages")
    chat.pinned.clear()
    return True


@METHODS.method("leaveChat")
async def leave_chat(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = resolve_chat(sb, p)
    if chat.type == "private":
        raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
    check_access(sb, ctx, chat)
    old = sb.render_member(chat, ctx.bot_id)
    chat.members[ctx.bot_id] = Member(ctx.bot_id, "left")
    sb._enqueue(
        "my_chat_member",
        {
            "chat": chat.render(),
            "from": sb.bot_user(ctx.bot_id),
            "date": sb.unix_now(),
            "old_chat_member": old,
            "new_chat_member": sb.render_member(chat, ctx.bot_id),
        },
    )
    return True


@METHODS.method("sendChatAction")
async def send_chat_action(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = resolve_chat(sb, p)
    check_can_send(sb, ctx, chat)
    action = p.get_str("action") or ""
    if action not in (
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ):
        raise ApiError(400, "Bad Request: wrong parameter action in request")
    sb.chat_actions.append((chat.id, action))
    return True


@METHODS.method("setMessageReaction")
async def set_message_reaction(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = reachable_chat(sb, ctx, p)
    msg = get_message(chat, p.get_int("message_id", required=True), "Bad Request: message to react not found")
    reaction = p.get_obj("reaction") or []
    if not isinstance(reaction, list):
        raise ApiError(400, "Bad Request: reaction must be a list")
    if len(reaction) > 1:
        raise ApiError(400, "Bad Request: REACTIONS_TOO_MANY")
    sb.bot_reactions[(chat.id, msg["message_id"])] = copy.deepcopy(reaction)
    return True


@METHODS.method("answerCallbackQuery")
async def answer_callback_query(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    qid = p.get_str("callback_query_id") or ""
    entry = sb.callback_queries.get(qid)
    if entry is None or entry["answered"]:
        raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
    text = p.get_str("text")
    if text is not None and len(text) > 200:
        raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
    entry["answered"] = True
    entry["answer"] = {
        "text": text,
        "show_alert": p.get_bool("show_alert"),
        "url": p.get_str("url"),
        "cache_time": p.get_int("cache_time") or 0,
    }
    return True
