"""Scheduled posts, their statuses and their runs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.domain import Button, Keyboard

# Statuses of a post row.
PENDING = "pending"
SENDING = "sending"
PAUSED = "paused"
SENT = "sent"
FAILED = "failed"
MISSED = "missed"
UNCERTAIN = "uncertain"
CANCELLED = "cancelled"
OPEN_STATUSES = (PENDING, SENDING, PAUSED, UNCERTAIN)
ALL_STATUSES = (PENDING, SENDING, PAUSED, SENT, FAILED, MISSED, UNCERTAIN, CANCELLED)


@dataclass(frozen=True)
class Post:
    """One post and its schedule. ``due_at`` is the next fire (unix seconds UTC)."""

    chat_id: int
    text: str = ""
    thread_id: int | None = None
    media_kind: str | None = None  # None | "photo" | "document"
    media: str | None = None  # file_id or URL
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    pin: bool = False
    unpin_after_min: int | None = None
    silent: bool = False
    protect: bool = False
    at_local: str | None = None
    cron: str | None = None
    timezone: str = "UTC"
    lateness_s: int = 3600
    due_at: int | None = None
    status: str = PENDING
    id: int = 0
    claimed_at: int | None = None
    last_error: str | None = None
    source: str = "dialog"
    feed_item_id: int | None = None
    created_by: int | None = None
    created_at: int = 0
    updated_at: int = 0

    @property
    def recurring(self) -> bool:
        return self.cron is not None

    @property
    def keyboard(self) -> Keyboard | None:
        rows = [[Button(b["text"], url=b["url"]) for b in row] for row in self.buttons if row]
        return rows or None

    def with_(self, **changes: Any) -> Post:
        return replace(self, **changes)


@dataclass(frozen=True)
class PostRun:
    id: int
    post_id: int
    due_at: int
    status: str
    chat_id: int
    thread_id: int | None
    message_id: int | None
    error: str | None
    late_s: int
    unpin_at: int | None
    replies: int
    reactions: int
    created_at: int
