"""News feeds and the items read from them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feed:
    id: int
    chat_id: int
    url: str
    thread_id: int | None
    title: str
    etag: str | None
    last_modified: str | None
    is_active: bool
    errors: int
    last_error: str | None
    next_poll_at: int
    last_polled_at: int | None


@dataclass(frozen=True)
class Entry:
    """One entry as read from a feed, before it is stored as a :class:`FeedItem`."""

    guid: str
    link: str | None
    title: str
    summary: str
    published_at: int | None


@dataclass(frozen=True)
class FeedItem:
    id: int
    feed_id: int
    chat_id: int
    guid: str
    link: str | None
    title: str
    summary: str
    text: str | None
    published_at: int | None
    score: float | None
    status: str  # draft | approved | posted | skipped | duplicate | denied | irrelevant | old
    reason: str | None
    duplicate_of: int | None
    post_id: int | None
    cards: list[list[int | None]]
    created_at: int
