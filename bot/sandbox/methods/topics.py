"""Forum topics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.methods.checks import check_admin_right, reachable_chat
from bot.sandbox.methods.registry import Family
from bot.sandbox.params import Ctx, Params
from bot.sandbox.state import JSON, ChatState

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


METHODS = Family("forum topics")


def make_topic(
    sb: SandboxCore,
    chat: ChatState,
    name: str,
    icon_color: int,
    creator: JSON,
    icon_custom_emoji_id: str | None = None,
) -> JSON:
    """Create a forum topic and its forum_topic_created service message; return that message."""
    if not chat.is_forum:
        raise ApiError(400, "Bad Request: the chat is not a forum")
    if not 1 <= len(name) <= 128:
        raise ApiError(400, "Bad Request: TOPIC_TITLE_EMPTY" if not name else "Bad Request: topic name is too long")
    created: JSON = {"name": name, "icon_color": icon_color}
    if icon_custom_emoji_id:
        created["icon_custom_emoji_id"] = icon_custom_emoji_id
    thread_id = chat.take_message_id()
    topic: JSON = {"message_thread_id": thread_id, **created}
    chat.topics[thread_id] = topic
    return sb.new_message(
        chat,
        {"forum_topic_created": created},
        from_user=creator,
        thread_id=thread_id,
        message_id=thread_id,
    )


def _forum(sb: SandboxCore, ctx: Ctx, p: Params, *, to: str) -> ChatState:
    """The forum ``p`` names, when the bot may manage its topics (``to`` words the refusal)."""
    chat = reachable_chat(sb, ctx, p)
    if not chat.is_forum:
        raise ApiError(400, "Bad Request: the chat is not a forum")
    check_admin_right(ctx, chat, "can_manage_topics", f"Bad Request: not enough rights to {to}")
    return chat


@METHODS.method("createForumTopic")
async def create_forum_topic(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat = _forum(sb, ctx, p, to="create a topic")
    color = p.get_int("icon_color") or 7322096
    if color not in (7322096, 16766590, 13338331, 9367192, 16749490, 16478047):
        raise ApiError(400, "Bad Request: invalid icon color specified")
    msg = make_topic(
        sb, chat, p.get_str("name") or "", color, sb.bot_user(ctx.bot_id), p.get_str("icon_custom_emoji_id")
    )
    topic = chat.topics[msg["message_id"]]
    return {k: v for k, v in topic.items() if k != "is_closed"}


def _topic(sb: SandboxCore, ctx: Ctx, p: Params) -> tuple[ChatState, JSON]:
    chat = _forum(sb, ctx, p, to="manage topics")
    topic = chat.topics.get(p.get_int("message_thread_id", required=True) or 0)
    if topic is None:
        raise ApiError(400, "Bad Request: message thread not found")
    return chat, topic


@METHODS.method("editForumTopic")
async def edit_forum_topic(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    _, topic = _topic(sb, ctx, p)
    if p.has("name"):
        topic["name"] = p.get_str("name")
    if p.has("icon_custom_emoji_id"):
        topic["icon_custom_emoji_id"] = p.get_str("icon_custom_emoji_id")
    return True


@METHODS.method("closeForumTopic")
async def close_forum_topic(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    _, topic = _topic(sb, ctx, p)
    topic["is_closed"] = True
    return True


@METHODS.method("reopenForumTopic")
async def reopen_forum_topic(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    _, topic = _topic(sb, ctx, p)
    topic["is_closed"] = False
    return True


@METHODS.method("deleteForumTopic")
async def delete_forum_topic(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    chat, topic = _topic(sb, ctx, p)
    tid = topic["message_thread_id"]
    del chat.topics[tid]
    for mid in [m for m, msg in chat.messages.items() if msg.get("message_thread_id") == tid]:
        chat.deleted[mid] = chat.messages.pop(mid)
    return True
