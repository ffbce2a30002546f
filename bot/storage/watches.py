"""Threads that wait for a peer before an escalation case opens (``escalation_watch``)."""

from __future__ import annotations

from bot.domain.cases import Watch
from bot.storage.db import Repository
from bot.storage.rows import mapper

__all__ = ["Watch", "WatchRepository"]

_watch = mapper(Watch)


class WatchRepository(Repository):
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
        return await self.db.fetchone(
            "SELECT * FROM escalation_watch WHERE chat_id = ? AND thread_key = ?", (chat_id, thread_key), into=_watch
        )

    async def due(self, now: int, limit: int = 200) -> list[Watch]:
        return await self.db.fetchall(
            "SELECT * FROM escalation_watch WHERE due_at <= ? ORDER BY due_at LIMIT ?", (now, limit), into=_watch
        )

    async def delete(self, chat_id: int, thread_key: str) -> bool:
        return await self.db.changed(
            "DELETE FROM escalation_watch WHERE chat_id = ? AND thread_key = ?", (chat_id, thread_key)
        )

    async def count(self) -> int:
        return await self.db.fetchcount("SELECT COUNT(*) FROM escalation_watch")
