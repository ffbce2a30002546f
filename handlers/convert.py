"""Telegram objects → Steward's plain domain types."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import Chat, Message, User

from bot.domain import Author, ChatInfo, IncomingMessage
from bot.timeutil import from_epoch, utc_now

# Telegram's placeholder user for anonymous group admins and for channel posts in groups.
GROUP_ANONYMOUS_BOT_ID = 1087968824
# The chat types Steward serves as communities.
GROUP_TYPES = frozenset({"group", "supergroup"})
CHANNEL_BOT_ID = 136817688


def chat_info(chat: Chat) -> ChatInfo:
    return ChatInfo(
        chat_id=chat.id,
        title=chat.title or chat.full_name or str(chat.id),
        type=chat.type,
        is_forum=bool(chat.is_forum),
        username=chat.username,
    )


def author(user: User, sender_chat_id: int | None = None) -> Author:
    """A Telegram user as the services know them (``sender_chat_id``: the chat they wrote as, if any)."""
    return Author(user.id, user.first_name, user.username, user.language_code, user.is_bot, sender_chat_id)


def author_of(message: Message) -> Author:
    user: User | None = message.from_user
    sender_chat_id = message.sender_chat.id if message.sender_chat is not None else None
    if user is None:
        # Channel posts carry no user: attribute them to the channel.
        return Author(user_id=sender_chat_id or 0, first_name=message.chat.title or "", sender_chat_id=sender_chat_id)
    return author(user, sender_chat_id)


def message_text(message: Message) -> str:
    return message.text or message.caption or ""


def mentions_user(message: Message, username: str | None) -> bool:
    if not username:
        return False
    text = message_text(message)
    entities = message.entities or message.caption_entities or []
    needle = f"@{username}".lower()
    for entity in entities:
        if entity.type == "mention" and entity.extract_from(text).lower() == needle:
            return True
        if entity.type == "bot_command" and entity.extract_from(text).lower().endswith(needle):
            return True
    return False


def incoming(message: Message, *, bot_id: int, bot_username: str | None, is_edit: bool = False) -> IncomingMessage:
    reply = message.reply_to_message
    # In a forum every topic message points at the topic's creation message; that is not a reply.
    is_topic_root_reply = (
        reply is not None and message.is_topic_message and reply.message_id == message.message_thread_id
    )
    reply_to = None if reply is None or is_topic_root_reply else reply
    raw_date = message.edit_date if is_edit and message.edit_date is not None else message.date
    date = raw_date if isinstance(raw_date, datetime) else from_epoch(raw_date) if raw_date else utc_now()
    return IncomingMessage(
        chat_id=message.chat.id,
        message_id=message.message_id,
        author=author_of(message),
        text=message_text(message),
        date=date if date.tzinfo is not None else date.replace(tzinfo=UTC),
        thread_id=message.message_thread_id if message.is_topic_message else None,
        reply_to_message_id=reply_to.message_id if reply_to is not None else None,
        reply_to_user_id=reply_to.from_user.id if reply_to is not None and reply_to.from_user else None,
        is_topic_message=bool(message.is_topic_message),
        mentions_bot=mentions_user(message, bot_username),
        replies_to_bot=bool(reply_to is not None and reply_to.from_user and reply_to.from_user.id == bot_id),
        is_edit=is_edit,
        links=links_of(message),
        mentions=mentions_of(message),
        forward_chat_id=forward_chat_id(message),
        is_automatic_forward=bool(message.is_automatic_forward),
        has_media=bool(
            message.photo
            or message.video
            or message.document
            or message.animation
            or message.sticker
            or message.voice
            or message.audio
            or message.video_note
        ),
    )


def links_of(message: Message) -> tuple[str, ...]:
    text = message_text(message)
    out: list[str] = []
    for entity in message.entities or message.caption_entities or []:
        if entity.type == "url":
            out.append(entity.extract_from(text))
        elif entity.type == "text_link" and entity.url:
            out.append(entity.url)
    return tuple(out[:20])


def mentions_of(message: Message) -> tuple[str, ...]:
    text = message_text(message)
    out = [
        entity.extract_from(text).lstrip("@").lower()
        for entity in message.entities or message.caption_entities or []
        if entity.type == "mention"
    ]
    return tuple(out[:20])


def forward_chat_id(message: Message) -> int | None:
    origin = message.forward_origin
    chat = getattr(origin, "chat", None) or getattr(origin, "sender_chat", None)
    return int(chat.id) if chat is not None else None
