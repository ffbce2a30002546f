"""Communities: the groups Steward serves."""

from __future__ import annotations

import builtins
import json
from typing import Any

from bot.domain import Community
from bot.storage.db import Repository
from bot.storage.rows import Row, mapper
from bot.timeutil import epoch_now


def _settings(row: Row) -> dict[str, object]:
    try:
        settings = json.loads(row["settings"])
    except (TypeError, ValueError):
        settings = {}
    return settings if isinstance(settings, dict) else {}


def _approved_at(row: Row) -> int | None:
    return row["approved_at"] if "approved_at" in row.keys() else None  # noqa: SIM118 - a Row


_community = mapper(Community, settings=_settings, approved_at=_approved_at)


class CommunityRepository(Repository):
    async def get(self, chat_id: int) -> Community | None:
        return await self.db.fetchone("SELECT * FROM communities WHERE chat_id = ?", (chat_id,), into=_community)

    async def list(self, *, active_only: bool = True) -> list[Community]:
        sql = "SELECT * FROM communities"
        if active_only:
            sql += " WHERE is_active = 1"
        return await self.db.fetchall(sql + " ORDER BY chat_id", into=_community)

    async def upsert(
        self,
        *,
        chat_id: int,
        title: str,
        type: str,
        is_forum: bool,
        username: str | None,
        timezone: str,
        language: str,
        bot_status: str = "member",
        added_by: int | None = None,
    ) -> Community:
        """Register a community or refresh its Telegram-side facts; local choices are kept."""
        now = epoch_now()
        await self.db.execute(
            """
            INSERT INTO communities (chat_id, title, type, is_forum, username, timezone, language,
                                     bot_status, added_by, is_active, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
            ON CONFLICT (chat_id) DO UPDATE SET
                title = excluded.title, type = excluded.type, is_forum = excluded.is_forum,
                username = excluded.username, bot_status = excluded.bot_status,
                added_by = COALESCE(excluded.added_by, communities.added_by),
                is_active = 1, updated_at = excluded.updated_at
            """,
            (chat_id, title, type, int(is_forum), username, timezone, language, bot_status, added_by, now, now),
        )
        community = await self.get(chat_id)
        assert community is not None
        return community

    async def set_active(self, chat_id: int, active: bool, *, bot_status: str | None = None) -> None:
        await self.db.execute(
            "UPDATE communities SET is_active = ?, bot_status = COALESCE(?, bot_status), updated_at = ?"
            " WHERE chat_id = ?",
            (int(active), bot_status, epoch_now(), chat_id),
        )

    async def mark_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        await self.db.execute(
            "UPDATE communities SET is_active = 0, migrated_to = ?, updated_at = ? WHERE chat_id = ?",
            (new_chat_id, epoch_now(), old_chat_id),
        )

    async def update_settings(self, chat_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        async with self.db.transaction():
            row = await self.db.fetchone("SELECT settings FROM communities WHERE chat_id = ?", (chat_id,))
            if row is None:
                raise KeyError(chat_id)
            current = json.loads(row["settings"] or "{}")
            current.update(changes)
            await self.db.execute(
                "UPDATE communities SET settings = ?, updated_at = ? WHERE chat_id = ?",
                (json.dumps(current, ensure_ascii=False), epoch_now(), chat_id),
            )
        return dict(current)

    async def set_language(self, chat_id: int, language: str) -> None:
        await self.db.execute(
            "UPDATE communities SET language = ?, updated_at = ? WHERE chat_id = ?",
            (language, epoch_now(), chat_id),
        )

    async def set_timezone(self, chat_id: int, timezone: str) -> None:
        await self.db.execute(
            "UPDATE communities SET timezone = ?, updated_at = ? WHERE chat_id = ?",
            (timezone, epoch_now(), chat_id),
        )

    # --- access ([access] communities = "approved") ------------------------------------------

    async def approve(self, chat_id: int, by: int | None) -> bool:
        """Serve this community; False when it is unknown."""
        now = epoch_now()
        return await self.db.changed(
            "UPDATE communities SET approved_at = COALESCE(approved_at, ?), approved_by = COALESCE(approved_by, ?),"
            " updated_at = ? WHERE chat_id = ?",
            (now, by, now, chat_id),
        )

    async def revoke(self, chat_id: int) -> bool:
        return await self.db.changed(
            "UPDATE communities SET approved_at = NULL, approved_by = NULL, access_notice_at = NULL, updated_at = ?"
            " WHERE chat_id = ?",
            (epoch_now(), chat_id),
        )

    async def is_approved(self, chat_id: int) -> bool | None:
        """True or False for a known community, None for one never registered."""
        row = await self.db.fetchone("SELECT approved_at FROM communities WHERE chat_id = ?", (chat_id,))
        return None if row is None else row["approved_at"] is not None

    async def claim_access_notice(self, chat_id: int) -> bool:
        """True once per community (until it is revoked): the one "not approved" line may go out."""
        return await self.db.changed(
            "UPDATE communities SET access_notice_at = ? WHERE chat_id = ? AND access_notice_at IS NULL",
            (epoch_now(), chat_id),
        )

    async def awaiting_approval(self) -> builtins.list[Community]:
        return await self.db.fetchall(
            "SELECT * FROM communities WHERE is_active = 1 AND approved_at IS NULL AND chat_id < 0"
            " ORDER BY created_at DESC LIMIT 100",
            into=_community,
        )
