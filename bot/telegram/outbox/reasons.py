"""Telegram's error descriptions, read: what went wrong in words a manager understands, and the bot token
scrubbed from anything logged or returned."""

from __future__ import annotations

from bot.domain import ErrorKind
from bot.textsafety import compile_pattern

__all__ = ["NO_RIGHTS", "REPLY_GONE", "TOKEN_RE", "bad_request_reason", "describe", "forbidden_reason", "scrub"]

TOKEN_RE = compile_pattern(r"\d{5,}:[A-Za-z0-9_-]{20,}", name="outbox.token")
REPLY_GONE = (
    "message to be replied not found",
    "replied message not found",
    "message to reply not found",
    "reply message not found",
)
NO_RIGHTS = ("not enough rights", "have no rights", "chat_write_forbidden", "need administrator rights")


def scrub(value: object, token: str | None) -> str:
    """``value`` as text without the bot token (``token``, and anything shaped like one)."""
    text = str(value)
    if token:
        text = text.replace(token, "<token>")
    return TOKEN_RE.sub("<token>", text)


def describe(e: Exception) -> str:
    """Telegram's own description, without aiogram's decorations."""
    message = getattr(e, "message", None)
    return str(message if message is not None else e).split("\n", 1)[0]


# Read in order; the first rule with a phrase in Telegram's (lower-cased) description wins.
_FORBIDDEN: tuple[tuple[tuple[str, ...], str], ...] = (
    (("blocked by the user",), "the user blocked the bot"),
    (("kicked",), "the bot was removed from this chat"),
    (("not a member",), "the bot is not a member of this chat"),
    (("deactivated",), "the user's account was deleted"),
    (
        ("can't initiate conversation", "can't send messages to bots"),
        "the user has not started a conversation with the bot",
    ),
)
_BAD_REQUEST: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("message thread not found", "topic_deleted"), ErrorKind.NOT_FOUND, "the forum topic no longer exists"),
    (("topic_closed",), ErrorKind.BAD_REQUEST, "the forum topic is closed"),
    (("message to edit not found",), ErrorKind.NOT_FOUND, "the message to edit was deleted"),
    (("message to delete not found",), ErrorKind.NOT_FOUND, "the message was already deleted"),
    (("message to pin not found", "message to unpin not found"), ErrorKind.NOT_FOUND, "the message to pin was deleted"),
    (("chat not found",), ErrorKind.NOT_FOUND, "the chat does not exist or the bot is not in it"),
    (NO_RIGHTS, ErrorKind.NO_RIGHTS, "the bot lacks the admin rights for this in the chat"),
    (("too long",), ErrorKind.TOO_LONG, "the message is too long for Telegram"),
    (("can't parse entities",), ErrorKind.BAD_REQUEST, "the message formatting is invalid ({description})"),
    (("message can't be deleted",), ErrorKind.BAD_REQUEST, "the message can no longer be deleted"),
    (("message can't be edited",), ErrorKind.BAD_REQUEST, "the message can no longer be edited"),
    (("text is empty",), ErrorKind.INVALID, "the message is empty"),
)


def forbidden_reason(description: str) -> str:
    text = description.lower()
    reason = next((why for phrases, why in _FORBIDDEN if any(p in text for p in phrases)), None)
    return reason or "the bot lost the right to post in this chat"


def bad_request_reason(text: str, description: str) -> tuple[str, str]:
    """(error kind, reason) for a 400 whose lower-cased description is ``text``."""
    for phrases, kind, reason in _BAD_REQUEST:
        if any(p in text for p in phrases):
            return kind, reason.replace("{description}", description)
    return ErrorKind.BAD_REQUEST, description
