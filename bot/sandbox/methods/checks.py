"""Checks shared by the Bot API methods: which chat a call names, and whether the bot may act there."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.params import Ctx, Params
from bot.sandbox.state import JSON, ChatState

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


def resolve_chat(sb: SandboxCore, p: Params, key: str = "chat_id") -> ChatState:
    value = p.get(key)
    if value is None or value == "":
        raise ApiError(400, f"Bad Request: {key} is empty")
    if isinstance(value, str) and not re.fullmatch(r"-?\d+", value):
        named = chat_by_username(sb, value)
        if named is None:
            raise ApiError(400, "Bad Request: chat not found")
        return named
    chat_id = p.get_int(key, required=True)
    chat = sb.chats.get(chat_id) if chat_id is not None else None
    if chat is None and chat_id is not None and chat_id in sb.users:
        chat = sb.private_chat(chat_id)  # a user the bot knows of: 403 "can't initiate" follows
    if chat is None:
        raise ApiError(400, "Bad Request: chat not found")
    return chat


def reachable_chat(sb: SandboxCore, ctx: Ctx, p: Params, key: str = "chat_id") -> ChatState:
    """The chat ``p[key]`` names, when the bot can see it (:func:`check_access`)."""
    chat = resolve_chat(sb, p, key)
    check_access(sb, ctx, chat)
    return chat


def check_access(sb: SandboxCore, ctx: Ctx, chat: ChatState) -> None:
    """Can the bot see this chat at all? (403 when kicked or not a member, 400 migrate for old groups)."""
    if chat.migrated_to is not None:
        raise ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": chat.migrated_to},
        )
    if chat.type == "private":
        if chat.id in sb.blocked_by:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        user = sb.users.get(chat.id)
        if user and user.get("is_bot"):
            raise ApiError(403, "Forbidden: bot can't send messages to bots")
        if chat.id not in sb.started_by and chat.id not in sb.join_requesters:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return
    member = chat.member(ctx.bot_id)
    if member.status == "kicked":
        raise ApiError(403, f"Forbidden: bot was kicked from the {chat.kind_word}")
    if not member.present:
        if chat.type == "channel":
            raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
        raise ApiError(403, f"Forbidden: bot is not a member of the {chat.kind_word}")


def check_can_send(sb: SandboxCore, ctx: Ctx, chat: ChatState, what: str = "can_send_messages") -> None:
    check_access(sb, ctx, chat)
    member = chat.member(ctx.bot_id)
    if chat.type == "channel":
        if not (member.status == "creator" or member.can("can_post_messages")):
            raise ApiError(400, "Bad Request: need administrator rights in the channel chat")
    elif (member.status == "restricted" and not member.rights.get(what, False)) or (
        chat.type in ("group", "supergroup") and member.status == "member" and not chat.permissions.get(what, True)
    ):
        raise ApiError(400, "Bad Request: not enough rights to send text messages to the chat")


def check_admin_right(ctx: Ctx, chat: ChatState, right: str, description: str) -> None:
    if chat.type == "private":
        return
    member = chat.member(ctx.bot_id)
    if not member.can(right):
        raise ApiError(400, description)


def get_message(chat: ChatState, message_id: int | None, missing: str) -> JSON:
    msg = chat.messages.get(message_id) if message_id is not None else None
    if msg is None:
        raise ApiError(400, missing)
    return msg


def require_group(chat: ChatState) -> None:
    if chat.type == "private":
        raise ApiError(400, "Bad Request: there are no administrators in the private chat")


def chat_by_username(sb: SandboxCore, name: str) -> ChatState | None:
    """The chat whose public username is ``name`` (with or without the ``@``)."""
    wanted = name.lstrip("@").lower()
    return next((c for c in sb.chats.values() if c.username and c.username.lower() == wanted), None)


def call_chat_id(sb: SandboxCore, method: str, params: dict[str, Any]) -> int | None:
    """The chat a call is about, for the journal, faults and flood limits (None: no chat, or unknown)."""
    value = params.get("chat_id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        named = chat_by_username(sb, value)
        return named.id if named is not None else None
    if method.lower() == "answercallbackquery":
        entry = sb.callback_queries.get(str(params.get("callback_query_id")))
        message = entry["query"].get("message") if entry else None
        if message:
            return int(message["chat"]["id"])
    return None
