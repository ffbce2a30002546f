"""Building the bot's messages: text and entities (``parse_mode=HTML``), inline keyboards, the reply and
the forum topic a send names, and storing the result."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from bot.sandbox.entities import EntityParseError, detect_entities, parse_html
from bot.sandbox.faults import ApiError
from bot.sandbox.methods.checks import call_chat_id
from bot.sandbox.params import Ctx, Params
from bot.sandbox.state import JSON, ChatState

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


MEDIA_KINDS = ("photo", "document", "video", "audio", "animation", "voice", "video_note", "sticker")


def text_and_entities(
    p: Params, text_key: str, entities_key: str, limit: int, *, required: bool
) -> tuple[str | None, list[JSON] | None]:
    text = p.get_str(text_key)
    if text is None or text == "":
        if required:
            raise ApiError(400, "Bad Request: message text is empty")
        return None, None
    parse_mode = (p.get_str("parse_mode") or "").lower()
    entities = p.get_obj(entities_key)
    if entities is None and parse_mode == "html":
        try:
            text, entities = parse_html(text)
        except EntityParseError as exc:
            raise ApiError(400, str(exc)) from exc
    if required and not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(text) > limit:
        raise ApiError(
            400,
            "Bad Request: message is too long" if text_key == "text" else "Bad Request: message caption is too long",
        )
    auto = detect_entities(text)
    merged = list(entities or [])
    taken = [(e["offset"], e["offset"] + e["length"]) for e in merged]
    for e in auto:
        if not any(e["offset"] < end and start < e["offset"] + e["length"] for start, end in taken):
            merged.append(e)
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return text, (merged or None)


def put_caption(body: JSON, p: Params, *, always: bool = False) -> None:
    """Set ``body``'s caption and its entities from ``p`` (``always``: even when the caption is empty)."""
    caption, entities = text_and_entities(p, "caption", "caption_entities", 1024, required=False)
    if caption or always:
        body["caption"] = caption
        if entities:
            body["caption_entities"] = entities


def check_markup(markup: Any) -> JSON | None:
    """Validate a reply_markup; return it when it belongs in the Message (inline keyboards only)."""
    if not isinstance(markup, dict):
        return None
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list):
        raise ApiError(400, "Bad Request: can't parse inline keyboard button: InlineKeyboardMarkup expected")
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
            data = button.get("callback_data")
            if data is not None and not (1 <= len(str(data).encode()) <= 64):
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
    return markup if rows else None


def resolve_reply(sb: SandboxCore, chat: ChatState, p: Params) -> JSON | None:
    rp = p.get_obj("reply_parameters") or {}
    if not isinstance(rp, dict):
        raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
    target_id = rp.get("message_id")
    if target_id is None:
        target_id = p.get_int("reply_to_message_id")
    if target_id is None:
        return None
    allow = bool(rp.get("allow_sending_without_reply", p.get_bool("allow_sending_without_reply")))
    target_chat: ChatState | None = chat
    if rp.get("chat_id") not in (None, chat.id):
        other = call_chat_id(sb, "", {"chat_id": rp["chat_id"]})
        target_chat = sb.chats.get(other) if other is not None else None
    target = target_chat.messages.get(int(target_id)) if target_chat is not None else None
    if target is None:
        if allow:
            return None
        raise ApiError(400, "Bad Request: message to be replied not found")
    return target


def resolve_thread(chat: ChatState, p: Params, reply_to: JSON | None) -> int | None:
    thread = p.get_int("message_thread_id")
    if chat.is_forum:
        try:
            thread = chat.topic_of(thread, reply_to)
        except KeyError:
            raise ApiError(400, "Bad Request: message thread not found") from None
        if thread is not None and chat.topics.get(thread, {}).get("is_closed"):
            raise ApiError(400, "Bad Request: TOPIC_CLOSED")
        return thread
    if thread is not None and (chat.type != "supergroup" or thread not in chat.messages):
        raise ApiError(400, "Bad Request: message thread not found")
    return thread


def bot_message(sb: SandboxCore, ctx: Ctx, chat: ChatState, body: JSON, p: Params) -> JSON:
    reply_to = resolve_reply(sb, chat, p)
    thread_id = resolve_thread(chat, p, reply_to)
    markup = check_markup(p.get_obj("reply_markup"))
    if markup is not None:
        body["reply_markup"] = markup
    if p.get_bool("protect_content"):
        body["has_protected_content"] = True
    return store_bot_message(sb, ctx, chat, body, thread_id=thread_id, reply_to=reply_to)


def store_bot_message(
    sb: SandboxCore, ctx: Ctx, chat: ChatState, body: JSON, *, thread_id: int | None, reply_to: JSON | None
) -> JSON:
    """Store a message the bot sends (in a channel: as the channel, and never as a reply)."""
    if chat.type == "channel":
        msg = sb.new_message(chat, body, from_user=None, sender_chat=chat.render(), thread_id=thread_id)
    else:
        msg = sb.new_message(chat, body, from_user=sb.bot_user(ctx.bot_id), thread_id=thread_id, reply_to=reply_to)
    sb._sent.append((chat.id, msg["message_id"]))
    return msg


def content_of(msg: JSON) -> JSON:
    """What a copy or forward of ``msg`` shows: its text or media, with entities."""
    keys = ("text", "entities", "caption", "caption_entities", *MEDIA_KINDS)
    return {k: copy.deepcopy(msg[k]) for k in keys if k in msg}
