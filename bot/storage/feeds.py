"""News feeds and the items read from them."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.feeds import Entry, Feed, FeedItem
from bot.storage.db import Repository
from bot.storage.rows import Row, mapper

__all__ = ["Feed", "FeedItem", "FeedRepository"]


def _cards(row: Row) -> list[list[int | None]]:
    try:
        cards = json.loads(row["cards"] or "[]")
    except ValueError:
        cards = []
    return cards if isinstance(cards, list) else []


_feed = mapper(Feed)
_item = mapper(FeedItem, cards=_cards)


class FeedRepository(Repository):
    async def add(self, chat_id: int, url: str, *, thread_id: int | None, added_by: int | None, now: int) -> Feed:
        await self.db.execute(
            "INSERT INTO feeds (chat_id, url, thread_id, added_by, created_at, next_poll_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, url) DO UPDATE SET is_active = 1, thread_id = excluded.thread_id,"
            " errors = 0, next_poll_at = excluded.next_poll_at",
            (chat_id, url, thread_id, added_by, now, now),
        )
        feed = await self.db.fetchone("SELECT * FROM feeds WHERE chat_id = ? AND url = ?", (chat_id, url), into=_feed)
        assert feed is not None
        return feed

    async def get(self, feed_id: int) -> Feed | None:
        return await self.db.fetchone("SELECT * FROM feeds WHERE id = ?", (feed_id,), into=_feed)

    async def list_feeds(self, chat_id: int | None = None) -> list[Feed]:
        if chat_id is None:
            return await self.db.fetchall("SELECT * FROM feeds WHERE is_active = 1 ORDER BY id", into=_feed)
        return await self.db.fetchall(
            "SELECT * FROM feeds WHERE is_active = 1 AND chat_id = ? ORDER BY id", (chat_id,), into=_feed
        )

    async def count_active(self, chat_id: int) -> int:
        return await self.db.fetchcount("SELECT COUNT(*) FROM feeds WHERE is_active = 1 AND chat_id = ?", (chat_id,))

    async def deactivate(self, feed_id: int) -> bool:
        return await self.db.changed("UPDATE feeds SET is_active = 0 WHERE id = ? AND is_active = 1", (feed_id,))

    async def due(self, now: int) -> list[Feed]:
        return await self.db.fetchall(
            "SELECT * FROM feeds WHERE is_active = 1 AND next_poll_at <= ? ORDER BY next_poll_at", (now,), into=_feed
        )

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
        return await self.db.fetchcount("SELECT errors FROM feeds WHERE id = ?", (feed_id,))

    async def item_count(self, feed_id: int) -> int:
        return await self.db.fetchcount("SELECT COUNT(*) FROM feed_items WHERE feed_id = ?", (feed_id,))

    # --- items ---------------------------------------------------------------------------

    async def known(self, chat_id: int, guid: str, link: str | None) -> bool:
        return await self.db.exists(
            "SELECT 1 FROM feed_items WHERE chat_id = ? AND (guid = ? OR (? IS NOT NULL AND link = ?)) LIMIT 1",
            (chat_id, guid, link, link),
        )

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
        entry: Entry,
        *,
        score: float | None,
        status: str,
        reason: str | None,
        duplicate_of: int | None,
        now: int,
    ) -> FeedItem | None:
        """Insert once per (chat, guid); None when it is already there (another poll got it first)."""
        read = (entry.guid, entry.link, entry.title, entry.summary, entry.published_at)
        item_id = await self.db.insert(
            "INSERT OR IGNORE INTO feed_items (feed_id, chat_id, guid, link, title, summary, published_at, score,"
            " status, reason, duplicate_of, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (feed.id, feed.chat_id, *read, score, status, reason, duplicate_of, now),
        )
        if not item_id:
            return None
        return await self.get_item(item_id)

    async def get_item(self, item_id: int) -> FeedItem | None:
        return await self.db.fetchone("SELECT * FROM feed_items WHERE id = ?", (item_id,), into=_item)

    async def items(self, chat_id: int | None = None, status: str | None = None) -> list[FeedItem]:
        sql = "SELECT * FROM feed_items WHERE 1 = 1"
        params: list[Any] = []
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params.append(chat_id)
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        return await self.db.fetchall(sql + " ORDER BY id", params, into=_item)

    async def decide(
        self, item_id: int, status: str, *, by: int | None, now: int, expect: str = "draft", post_id: int | None = None
    ) -> bool:
        return await self.db.changed(
            "UPDATE feed_items SET status = ?, decided_by = ?, decided_at = ?, post_id = COALESCE(?, post_id)"
            " WHERE id = ? AND status = ?",
            (status, by, now, post_id, item_id, expect),
        )

    async def set_text(self, item_id: int, text: str) -> bool:
        return await self.db.changed(
            "UPDATE feed_items SET text = ? WHERE id = ? AND status = 'draft'", (text, item_id)
        )

    async def set_cards(self, item_id: int, cards: list[list[int | None]]) -> None:
        await self.db.execute("UPDATE feed_items SET cards = ? WHERE id = ?", (json.dumps(cards), item_id))
