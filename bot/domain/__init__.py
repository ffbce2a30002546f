"""Plain types shared by services, storage and handlers.

Nothing here imports aiogram or our other modules: services speak these types,
handlers translate Telegram objects into them. Each feature's types have a module
beside this one (``bot.domain.cases``, ``faq``, ``feeds``, ``growth``, ``messages``,
``moderation``, ``posts``, ``analytics``): storage builds them, services and handlers
speak them, and none of them holds SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum


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
    # What the spam check and reports look at (handlers/convert.py fills them from the entities).
    links: tuple[str, ...] = ()  # URLs (url and text_link entities)
    mentions: tuple[str, ...] = ()  # @usernames mentioned, lower case, without the @
    forward_chat_id: int | None = None  # forwarded from this channel or chat
    is_automatic_forward: bool = False  # the linked channel's post, forwarded by Telegram
    has_media: bool = False


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: exactly one of url, callback_data or web_app (a Mini App's URL, private chats only) is set."""

    text: str
    url: str | None = None
    callback_data: str | None = None
    web_app: str | None = None


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
    approved_at: int | None = None  # [access] communities = "approved": served once approved
    added_by: int | None = None


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


class Priority(IntEnum):
    REPLY = 0  # replies to members, callback-driven edits
    NORMAL = 1  # manager notifications, case cards
    BULK = 2  # scheduled posts, feeds, welcomes


class ErrorKind:
    """Values of :attr:`Delivery.error_kind`."""

    FORBIDDEN = "forbidden"  # 403: kicked, blocked, not a member
    BAD_REQUEST = "bad_request"  # other 400s
    NOT_FOUND = "not_found"  # chat, topic or message gone
    NO_RIGHTS = "no_rights"  # 400 "not enough rights ..."
    RATE_LIMITED = "rate_limited"  # gave up after too many 429s
    NETWORK = "network"  # could not reach Telegram
    SERVER = "server"  # Telegram answered 5xx / garbage
    TOO_LONG = "too_long"  # text cannot be split (edits) or Telegram said so
    TOO_LARGE = "too_large"  # file too large
    UNAUTHORIZED = "unauthorized"  # the token was rejected
    INVALID = "invalid"  # we refused before calling (empty text, bad keyboard)
    SHUTDOWN = "shutdown"  # the outbox was closing
    INTERNAL = "internal"  # a bug: see the log
    API = "api"  # any other Telegram error


@dataclass(frozen=True)
class Delivery:
    """What happened to one outbox call. ``chat_id`` is final (after a migration)."""

    ok: bool
    chat_id: int
    message_ids: list[int] = field(default_factory=list)
    error: str | None = None  # plain words for a human
    error_kind: str | None = None  # see ErrorKind

    @property
    def message_id(self) -> int | None:
        """The first message id (the one to link to), if any."""
        return self.message_ids[0] if self.message_ids else None
