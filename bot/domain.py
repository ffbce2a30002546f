"""Plain types shared by services, storage and handlers.

Nothing here imports aiogram or our other modules: services speak these types,
handlers translate Telegram objects into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SentimentLabel(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"
    UNCLASSIFIED = "unclassified"


@dataclass(frozen=True, slots=True)
class Sentiment:
    label: SentimentLabel
    score: float  # probability of `label`; 0.0 when unclassified
    negative: float = 0.0
    neutral: float = 0.0
    positive: float = 0.0

    @classmethod
    def unclassified(cls) -> Sentiment:
        return cls(SentimentLabel.UNCLASSIFIED, 0.0)


@dataclass(frozen=True, slots=True)
class Author:
    user_id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    # Set when the message was sent on behalf of a chat (anonymous admin, linked channel).
    sender_chat_id: int | None = None

    @property
    def display_name(self) -> str:
        return self.first_name or (f"@{self.username}" if self.username else str(self.user_id))


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A group message as the services see it."""

    chat_id: int
    message_id: int
    author: Author
    text: str
    date: datetime  # timezone-aware UTC
    thread_id: int | None = None  # forum topic (message_thread_id) when the chat is a forum
    reply_to_message_id: int | None = None
    reply_to_user_id: int | None = None
    is_topic_message: bool = False
    mentions_bot: bool = False
    replies_to_bot: bool = False
    is_edit: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: exactly one of url or callback_data is set."""

    text: str
    url: str | None = None
    callback_data: str | None = None


Keyboard = list[list[Button]]


@dataclass(frozen=True, slots=True)
class Community:
    chat_id: int
    title: str
    type: str
    is_forum: bool = False
    username: str | None = None
    timezone: str = "UTC"
    language: str = "en"
    is_active: bool = True
    settings: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """What Telegram tells us about a chat with each update."""

    chat_id: int
    title: str
    type: str  # private | group | supergroup | channel
    is_forum: bool = False
    username: str | None = None


@dataclass(frozen=True, slots=True)
class MessageContext:
    """One recorded group message, handed to every listener (escalation, FAQ, analytics)."""

    msg: IncomingMessage
    community: Community
    sentiment: Sentiment
    thread_key: str
    is_question: bool
