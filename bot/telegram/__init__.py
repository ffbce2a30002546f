"""Everything that talks to Telegram on the services' behalf: the outbox, links, splitting."""

from bot.telegram.links import message_link, message_link_or_none
from bot.telegram.outbox import Delivery, ErrorKind, Outbox, OutboxError, OutboxMetrics, Priority
from bot.telegram.split import split_html, split_text

__all__ = [
    "Delivery",
    "ErrorKind",
    "Outbox",
    "OutboxError",
    "OutboxMetrics",
    "Priority",
    "message_link",
    "message_link_or_none",
    "split_html",
    "split_text",
]
