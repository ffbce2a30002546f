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


def forbidden_reason(description: str) -> str:
    text = description.lower()
    if "blocked by the user" in text:
        return "the user blocked the bot"
    if "kicked" in text:
        return "the bot was removed from this chat"
    if "not a member" in text:
        return "the bot is not a member of this chat"
    if "deactivated" in text:
        return "the user's account was deleted"
    if "can't initiate conversation" in text or "can't send messages to bots" in text:
        return "the user has not started a conversation with the bot"
    return "the bot lost the right to post in this chat"


def bad_request_reason(text: str, description: str) -> tuple[str, str]:
    if "message thread not found" in text or "topic_deleted" in text:
        return ErrorKind.NOT_FOUND, "the forum topic no longer exists"
    if "topic_closed" in text:
        return ErrorKind.BAD_REQUEST, "the forum topic is closed"
    if "message to edit not found" in text:
        return ErrorKind.NOT_FOUND, "the message to edit was deleted"
    if "message to delete not found" in text:
        return ErrorKind.NOT_FOUND, "the message was already deleted"
    if "message to pin not found" in text or "message to unpin not found" in text:
        return ErrorKind.NOT_FOUND, "the message to pin was deleted"
    if "chat not found" in text:
        return ErrorKind.NOT_FOUND, "the chat does not exist or the bot is not in it"
    if any(p in text for p in NO_RIGHTS):
        return ErrorKind.NO_RIGHTS, "the bot lacks the admin rights for this in the chat"
    if "too long" in text:
        return ErrorKind.TOO_LONG, "the message is too long for Telegram"
    if "can't parse entities" in text:
        return ErrorKind.BAD_REQUEST, f"the message formatting is invalid ({description})"
    if "message can't be deleted" in text:
        return ErrorKind.BAD_REQUEST, "the message can no longer be deleted"
    if "message can't be edited" in text:
        return ErrorKind.BAD_REQUEST, "the message can no longer be edited"
    if "text is empty" in text:
        return ErrorKind.INVALID, "the message is empty"
    return ErrorKind.BAD_REQUEST, description
