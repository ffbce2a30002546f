"""Bot API methods that send, copy, forward, edit and delete messages."""

from __future__ import annotations

import contextlib
import copy
import secrets
from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.methods.checks import check_can_send, get_message, reachable_chat, resolve_chat
from bot.sandbox.methods.compose import (
    bot_message,
    check_markup,
    content_of,
    put_caption,
    resolve_reply,
    resolve_thread,
    store_bot_message,
    text_and_entities,
)
from bot.sandbox.methods.files import file_for, media_object
from bot.sandbox.methods.registry import Family
from bot.sandbox.params import Ctx, Params
from bot.sandbox.state import JSON, ChatState

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


METHODS = Family("messages")


@METHODS.method("sendMessage", creates_messages=True)
async def send_message(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = resolve_chat(sb, p)
    check_can_send(sb, ctx, chat)
    text, entities = text_and_entities(p, "text", "entities", 4096, required=True)
    body: JSON = {"text": text}
    if entities:
        body["entities"] = entities
    lpo = p.get_obj("link_preview_options")
    if isinstance(lpo, dict) and lpo:
        body["link_preview_options"] = lpo
    return bot_message(sb, ctx, chat, body, p)


@METHODS.method(
    "sendPhoto",
    "sendDocument",
    "sendVideo",
    "sendAudio",
    "sendAnimation",
    "sendVoice",
    "sendSticker",
    creates_messages=True,
)
async def send_media(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    kind = ctx.method.removeprefix("send").lower()  # sendPhoto → photo, sendVideo → video…
    chat = resolve_chat(sb, p)
    perm = {"photo": "can_send_photos", "document": "can_send_documents"}.get(kind, "can_send_other_messages")
    check_can_send(sb, ctx, chat, perm)
    info = file_for(sb, ctx, kind, p.get(kind))
    body: JSON = {kind: media_object(kind, info)}
    put_caption(body, p)
    if p.get_bool("has_spoiler"):
        body["has_media_spoiler"] = True
    return bot_message(sb, ctx, chat, body, p)


@METHODS.method("sendMediaGroup", creates_messages=True)
async def send_media_group(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = resolve_chat(sb, p)
    check_can_send(sb, ctx, chat, "can_send_photos")
    media = p.get_obj("media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise ApiError(400, "Bad Request: wrong number of media items: there must be 2-10")
    group_id = str(secrets.randbits(62))
    bodies: list[JSON] = []
    for item in media:
        kind = str(item.get("type", ""))
        if kind not in ("photo", "video", "document", "audio"):
            raise ApiError(400, f"Bad Request: unsupported media type {kind!r} in a media group")
        info = file_for(sb, ctx, kind, item.get("media"))
        body: JSON = {kind: media_object(kind, info), "media_group_id": group_id}
        caption = item.get("caption")
        if caption:
            sub = Params(
                {"caption": caption, "parse_mode": item.get("parse_mode"),
                 "caption_entities": item.get("caption_entities")}
            )  # fmt: skip
            put_caption(body, sub, always=True)
        bodies.append(body)
    reply_to = resolve_reply(sb, chat, p)
    thread_id = resolve_thread(chat, p, reply_to)
    return [store_bot_message(sb, ctx, chat, body, thread_id=thread_id, reply_to=reply_to) for body in bodies]


@METHODS.method("copyMessage", creates_messages=True)
async def copy_message(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = resolve_chat(sb, p)
    source_chat = reachable_chat(sb, ctx, p, "from_chat_id")
    source = get_message(source_chat, p.get_int("message_id"), "Bad Request: message to copy not found")
    if any(k in source for k in ("new_chat_members", "left_chat_member", "forum_topic_created", "pinned_message")):
        raise ApiError(400, "Bad Request: message can't be copied")
    check_can_send(sb, ctx, chat)
    body = content_of(source)
    if p.has("caption") and "text" not in body:
        body.pop("caption_entities", None)
        put_caption(body, p, always=True)
    msg = bot_message(sb, ctx, chat, body, p)
    return {"message_id": msg["message_id"]}


@METHODS.method("forwardMessage", creates_messages=True)
async def forward_message(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = resolve_chat(sb, p)
    source_chat = reachable_chat(sb, ctx, p, "from_chat_id")
    source = get_message(source_chat, p.get_int("message_id"), "Bad Request: message to forward not found")
    check_can_send(sb, ctx, chat)
    body = content_of(source)
    if "forward_origin" in source:
        body["forward_origin"] = copy.deepcopy(source["forward_origin"])
    elif source_chat.type == "channel":
        body["forward_origin"] = {
            "type": "channel",
            "date": source["date"],
            "chat": source_chat.render(),
            "message_id": source["message_id"],
        }
    elif "sender_chat" in source:
        body["forward_origin"] = {
            "type": "chat",
            "date": source["date"],
            "sender_chat": source["sender_chat"],
        }
    else:
        body["forward_origin"] = {
            "type": "user",
            "date": source["date"],
            "sender_user": source.get("from"),
        }
    return bot_message(sb, ctx, chat, body, p)


def _editable(sb: SandboxCore, ctx: Ctx, p: Params) -> tuple[ChatState | None, JSON | None]:
    """The bot's own message ``p`` names; (None, None) for an inline message (nothing stored to edit)."""
    if p.has("inline_message_id") and not p.has("chat_id"):
        return None, None
    chat = reachable_chat(sb, ctx, p)
    msg = get_message(chat, p.get_int("message_id", required=True), "Bad Request: message to edit not found")
    own = msg.get("from", {}).get("id") == ctx.bot_id or (
        chat.type == "channel" and (chat.id, msg["message_id"]) in sb._sent
    )
    if not own:
        raise ApiError(400, "Bad Request: message can't be edited")
    return chat, msg


def _apply_edit(sb: SandboxCore, chat: ChatState, msg: JSON, changes: JSON) -> JSON:
    before = {k: msg.get(k) for k in changes}
    if before == changes:
        raise ApiError(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are "
            "exactly the same as a content and reply markup of the current message",
        )
    for key, value in changes.items():
        if value is None:
            msg.pop(key, None)
        else:
            msg[key] = value
    msg["edit_date"] = sb.unix_now()
    return copy.deepcopy(msg)


@METHODS.method("editMessageText", "editMessageCaption")
async def edit_message_content(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    """A new text (editMessageText) or caption (editMessageCaption), with the keyboard."""
    is_text = ctx.method == "editMessageText"
    key, entities_key, limit = ("text", "entities", 4096) if is_text else ("caption", "caption_entities", 1024)
    chat, msg = _editable(sb, ctx, p)
    content, entities = text_and_entities(p, key, entities_key, limit, required=is_text)
    markup = check_markup(p.get_obj("reply_markup"))
    if chat is None or msg is None:
        return True
    if ("text" in msg) != is_text:
        raise ApiError(400, f"Bad Request: there is no {key} in the message to edit")
    return _apply_edit(sb, chat, msg, {key: content, entities_key: entities, "reply_markup": markup})


@METHODS.method("editMessageReplyMarkup")
async def edit_message_reply_markup(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat, msg = _editable(sb, ctx, p)
    markup = check_markup(p.get_obj("reply_markup"))
    if chat is None or msg is None:
        return True
    return _apply_edit(sb, chat, msg, {"reply_markup": markup})


def _delete_one(sb: SandboxCore, ctx: Ctx, chat: ChatState, message_id: int | None) -> None:
    msg = get_message(chat, message_id, "Bad Request: message to delete not found")
    own = msg.get("from", {}).get("id") == ctx.bot_id or (chat.id, msg["message_id"]) in sb._sent
    if not own and chat.type != "private" and not chat.member(ctx.bot_id).can("can_delete_messages"):
        raise ApiError(400, "Bad Request: message can't be deleted")
    chat.deleted[msg["message_id"]] = chat.messages.pop(msg["message_id"])


@METHODS.method("deleteMessage")
async def delete_message(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = reachable_chat(sb, ctx, p)
    _delete_one(sb, ctx, chat, p.get_int("message_id", required=True))
    return True


@METHODS.method("deleteMessages")
async def delete_messages(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = reachable_chat(sb, ctx, p)
    ids = p.get_obj("message_ids") or []
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise ApiError(400, "Bad Request: message_ids must be a list of 1-100 ids")
    for mid in ids:
        with contextlib.suppress(ApiError):
            _delete_one(sb, ctx, chat, int(mid))
    return True
