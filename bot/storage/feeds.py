"""News feeds and the items read from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.storage.db import Database


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


def _feed(row: aiosqlite.Row) -> Feed:
    return Feed(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        url=str(row["url"]),
        thread_id=row["thread_id"],
        title=str(row["title"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        is_active=bool(row["is_active"]),
        errors=int(row["errors"]),
        last_error=row["last_error"],
        next_poll_at=int(row["next_poll_at"]),
        last_polled_at=row["last_polled_at"],
    )


def _item(row: aiosqlite.Row) -> FeedItem:
    try:
        cards = json.loads(row["cards"] or "[]")
    except ValueError:
        cards = []
    return FeedItem(
        id=int(row["id"]),
        feed_id=int(row["feed_id"]),
        chat_id=int(row["chat_id"]),
        guid=str(row["guid"]),
        link=row["link"],
        title=str(row["title"]),
        summary=str(row["summary"]),
        text=row["text"],
        published_at=row["published_at"],
        score=row["score"],
        status=str(row["status"]),
        reason=row["reason"],
        duplicate_of=row["duplicate_of"],
        post_id=row["post_id"],
        cards=cards if isinstance(cards, list) else [],
        created_at=int(row["created_at"]),
    )


class FeedRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, chat_id: int, url: str, *, thread_id: int | None, added_by: int | None, now: int) -> Feed:
        await self.db.execute(
            "INSERT INTO feeds (chat_id, url, thread_id, added_by, created_at, next_poll_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, url) DO UPDATE SET is_active = 1, thread_id = excluded.thread_id,"
            " errors = 0, next_poll_at = excluded.next_poll_at",
            (chat_id, url, thread_id, added_by, now, now),
        )
        row = await self.db.fetchone("SELECT * FROM feeds WHERE chat_id = ? AND url = ?", (chat_id, url))
        assert row is not None
        return _feed(row)

    async def get(self, feed_id: int) -> Feed | None:
        row = await self.db.fetchone("SELECT * FROM feeds WHERE id = ?", (feed_id,))
        return None if row is None else _feed(row)

    async def list_feeds(self, chat_id: int | None = None) -> list[Feed]:
        if chat_id is None:
            rows = await self.db.fetchall("SELECT * FROM feeds WHERE is_active = 1 ORDER BY id")
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM feeds WHERE is_active = 1 AND chat_id = ? ORDER BY id", (chat_id,)
            )
        return [_feed(row) for row in rows]

    async def count_active(self, chat_id: int) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM feeds WHERE is_active = 1 AND chat_id = ?", (chat_id,)))

    async def deactivate(self, feed_id: int) -> bool:
        return await self.db.execute("UPDATE feeds SET is_active = 0 WHERE id = ? AND is_active = 1", (feed_id,)) > 0

    async def due(self, now: int) -> list[Feed]:
        rows = await self.db.fetchall(
            "SELECT * FROM feeds WHERE is_active = 1 AND next_poll_at <= ? ORDER BY next_poll_at", (now,)
        )
        return [_feed(row) for row in rows]

    async def polled_ok(
        self,
        feed_id: int,
        *,
        title: str | None,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: int,
        now: int,
    ) -> None:
        await self.db.execute(
            "UPDATE feeds SET title = COALESCE(?, title), etag = ?, last_modified = ?, errors = 0, last_error = NULL,"
            " next_poll_at = ?, last_polled_at = ? WHERE id = ?",
            (title, etag, last_modified, next_poll_at, now, feed_id),
        )

    async def polled_error(self, feed_id: int, *, error: str, next_poll_at: int, now: int) -> int:
        await self.db.execute(
            "UPDATE feeds SET errors = errors + 1, last_error = ?, next_poll_at = ?, last_polled_at = ? WHERE id = ?",
            (error, next_poll_at, now, feed_id),
        )
        return int(await self.db.fetchval("SELECT errors FROM feeds WHERE id = ?", (feed_id,)) or 0)

    async def item_count(self, feed_id: int) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM feed_items WHERE feed_id = ?", (feed_id,)) or 0)

    # --- items ---------------------------------------------------------------------------

    async def known(self, chat_id: int, guid: str, link: str | None) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM feed_items WHERE chat_id = ? AND (guid = ? OR (? IS NOT NULL AND link = ?)) LIMIT 1",
            (chat_id, guid, link, link),
        )
        return row is not None

    async def recent_titles(self, chat_id: int, since: int) -> list[tuple[int, str]]:
        rows = await self.db.fetchall(
            "SELECT id, title FROM feed_items WHERE chat_id = ? AND created_at >= ? AND status != 'duplicate'"
            " ORDER BY id DESC LIMIT 500",
            (chat_id, since),
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    async def add_item(
        self,
        feed: Feed,
        *,
        guid: str,
        link: str | None,
        title: str,
        summary: str,
        published_at: int | None,
        score: float | None,
        status: str,
        reason: str | None,
        duplicate_of: int | None,
        now: int,
    ) -> FeedItem | None:
        """Insert once per (chat, guid); None when it is already there (another poll got it first)."""
        item_id = await self.db.insert(
            "INSERT OR IGNORE INTO feed_items (feed_id, chat_id, guid, link, title, summary, published_at, score,"
            " status, reason, duplicate_of, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (feed.id, feed.chat_id, guid, link, title, summary, published_at, score, status, reason, duplicate_of, now),
        )
        if not item_id:
            return None
        return await self.get_item(item_id)

    async def get_item(self, item_id: int) -> FeedItem | None:
        row = await self.db.fetchone("SELECT * FROM feed_items WHERE id = ?", (item_id,))
        return None if row is None else _item(row)

    async def items(self, chat_id: int | None = None, status: str | None = None) -> list[FeedItem]:
        sql = "SELECT * FROM feed_items WHERE 1 = 1"
        params: list[Any] = []
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params.append(chat_id)
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        rows = await self.db.fetchall(sql + " ORDER BY id", params)
        return [_item(row) for row in rows]

    async def decide(
        self, item_id: int, status: str, *, by: int | None, now: int, expect: str = "draft", post_id: int | None = None
    ) -> bool:
        return (
            await self.db.execute(
                "UPDATE feed_items SET status = ?, decided_by = ?, decided_at = ?, post_id = COALESCE(?, post_id)"
                " WHERE id = ? AND status = ?",
                (status, by, now, post_id, item_id, expect),
            )
            > 0
        )

    async def set_text(self, item_id: int, text: str) -> bool:
        return (
            await self.db.execute("UPDATE feed_items SET text = ? WHERE id = ? AND status = 'draft'", (text, item_id))
            > 0
        )

    async def set_cards(self, item_id: int, cards: list[list[int | None]]) -> None:
        await self.db.execute("UPDATE feed_items SET cards = ? WHERE id = ?", (json.dumps(cards), item_id))
