"""Threads that wait for a peer before an escalation case opens (``escalation_watch``)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.storage.db import Database


@dataclass(frozen=True, slots=True)
class Watch:
    chat_id: int
    thread_key: str
    topic_id: int | None
    due_at: int
    first_message_id: int
    last_message_id: int
    detail: str
    created_at: int


def _watch(row: aiosqlite.Row) -> Watch:
    return Watch(
        int(row["chat_id"]),
        str(row["thread_key"]),
        row["topic_id"],
        int(row["due_at"]),
        int(row["first_message_id"]),
        int(row["last_message_id"]),
        str(row["detail"]),
        int(row["created_at"]),
    )


class WatchRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(
        self,
        *,
        chat_id: int,
        thread_key: str,
        topic_id: int | None,
        due_at: int,
        first_message_id: int,
        last_message_id: int,
        detail: str,
        at: int,
    ) -> None:
        """Start watching a thread, or move its due time (the earliest raise wins) and note its last message."""
        await self.db.execute(
            """
            INSERT INTO escalation_watch (chat_id, thread_key, topic_id, due_at, first_message_id, last_message_id,
                                          detail, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (chat_id, thread_key) DO UPDATE SET
                due_at = MIN(due_at, excluded.due_at), detail = excluded.detail,
                last_message_id = MAX(last_message_id, excluded.last_message_id)
            """,
            (chat_id, thread_key, topic_id, due_at, first_message_id, last_message_id, detail, at),
        )

    async def get(self, chat_id: int, thread_key: str) -> Watch | None:
        row = await self.db.fetchone(
            "SELECT * FROM escalation_watch WHERE chat_id = ? AND thread_key = ?", (chat_id, thread_key)
        )
        return None if row is None else _watch(row)

    async def due(self, now: int, limit: int = 200) -> list[Watch]:
        rows = await self.db.fetchall(
            "SELECT * FROM escalation_watch WHERE due_at <= ? ORDER BY due_at LIMIT ?", (now, limit)
        )
        return [_watch(row) for row in rows]

    async def delete(self, chat_id: int, thread_key: str) -> bool:
        changed = await self.db.execute(
            "DELETE FROM escalation_watch WHERE chat_id = ? AND thread_key = ?", (chat_id, thread_key)
        )
        return changed > 0

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM escalation_watch"))
