"""Group messages as stored, and the thread key a message has on its own."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import IncomingMessage


@dataclass(frozen=True, slots=True)
class StoredMessage:
    chat_id: int
    message_id: int
    thread_key: str
    user_id: int
    text: str
    date: int
    reply_to_message_id: int | None
    reply_to_user_id: int | None
    thread_id: int | None
    sentiment_label: str | None
    sentiment_score: float | None


def own_thread_key(msg: IncomingMessage) -> str:
    """The key a message has on its own: its forum topic, or itself as a new root."""
    if msg.thread_id is not None and msg.is_topic_message:
        return f"t:{msg.thread_id}"
    return f"m:{msg.message_id}"
