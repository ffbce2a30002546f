"""Links to Telegram messages (t.me).

* public chat (has a username): ``https://t.me/<username>/<message_id>``
* private supergroup or channel: ``https://t.me/c/<internal id>/<message_id>``, where the
  internal id is the chat id without its ``-100`` prefix
* a message in a forum topic: ``.../<thread_id>/<message_id>``

Basic groups and private chats have no message links: :func:`message_link` raises
``ValueError`` for them and :func:`message_link_or_none` returns ``None``.
"""

from __future__ import annotations

__all__ = ["GENERAL_TOPIC_ID", "internal_chat_id", "message_link", "message_link_or_none"]

# The "General" topic of a forum has no topic part in its links.
GENERAL_TOPIC_ID = 1
_SUPERGROUP_OFFSET = 1_000_000_000_000


def internal_chat_id(chat_id: int) -> int | None:
    """The id used in ``t.me/c/...`` links: ``-1001234567890`` → ``1234567890``.

    ``None`` for chats that are not supergroups or channels.
    """
    if chat_id <= -_SUPERGROUP_OFFSET:
        return -chat_id - _SUPERGROUP_OFFSET
    return None


def message_link(
    chat_id: int,
    message_id: int,
    *,
    username: str | None = None,
    thread_id: int | None = None,
) -> str:
    """A link that opens ``message_id`` in ``chat_id`` (in its forum topic, if given)."""
    if message_id <= 0:
        raise ValueError(f"invalid message id {message_id}")
    topic = f"{thread_id}/" if thread_id is not None and thread_id != GENERAL_TOPIC_ID else ""
    name = (username or "").lstrip("@").strip()
    if name:
        return f"https://t.me/{name}/{topic}{message_id}"
    internal = internal_chat_id(chat_id)
    if internal is None:
        raise ValueError(f"chat {chat_id} has no message links (a basic group or a private chat)")
    return f"https://t.me/c/{internal}/{topic}{message_id}"


def message_link_or_none(
    chat_id: int,
    message_id: int,
    *,
    username: str | None = None,
    thread_id: int | None = None,
) -> str | None:
    """Like :func:`message_link`, but ``None`` where no link exists."""
    try:
        return message_link(chat_id, message_id, username=username, thread_id=thread_id)
    except ValueError:
        return None
