"""Members of communities, and the managers who started the bot in private."""

from __future__ import annotations

from bot.domain import Author
from bot.storage.db import Repository
from bot.timeutil import epoch_now


class MemberRepository(Repository):
    async def seen(self, chat_id: int, author: Author, at: int) -> None:
        await self.db.execute(
            """
            INSERT INTO members (chat_id, user_id, first_name, username, language_code, first_seen_at, last_seen_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (chat_id, user_id) DO UPDATE SET
                first_name = excluded.first_name, username = excluded.username,
                language_code = COALESCE(excluded.language_code, members.language_code),
                last_seen_at = MAX(members.last_seen_at, excluded.last_seen_at)
            """,
            (chat_id, author.user_id, author.first_name, author.username, author.language_code, at, at),
        )

    async def set_status(
        self, chat_id: int, author: Author, status: str, at: int, *, invite_link: str | None = None
    ) -> None:
        joined = status in {"member", "administrator", "creator", "restricted"}
        await self.db.execute(
            """
            INSERT INTO members (chat_id, user_id, first_name, username, language_code, status,
                                 joined_at, left_at, invite_link, first_seen_at, last_seen_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (chat_id, user_id) DO UPDATE SET
                first_name = excluded.first_name, username = excluded.username, status = excluded.status,
                joined_at = COALESCE(excluded.joined_at, members.joined_at),
                left_at = excluded.left_at,
                invite_link = COALESCE(excluded.invite_link, members.invite_link),
                last_seen_at = MAX(members.last_seen_at, excluded.last_seen_at)
            """,
            (
                chat_id,
                author.user_id,
                author.first_name,
                author.username,
                author.language_code,
                status,
                at if joined else None,
                None if joined else at,
                invite_link,
                at,
                at,
            ),
        )


class ManagerRepository(Repository):
    async def started_private_chat(self, author: Author) -> None:
        await self.db.execute(
            """
            INSERT INTO managers (user_id, first_name, username, language_code, has_private_chat, updated_at)
            VALUES (?, ?, ?, ?, 1, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                first_name = excluded.first_name, username = excluded.username,
                language_code = excluded.language_code, has_private_chat = 1, updated_at = excluded.updated_at
            """,
            (author.user_id, author.first_name, author.username, author.language_code, epoch_now()),
        )

    async def reachable_in_private(self, user_ids: frozenset[int]) -> list[int]:
        """Managers from the config who started the bot, so a DM can reach them."""
        rows = await self.db.fetchall("SELECT user_id FROM managers WHERE has_private_chat = 1 ORDER BY user_id")
        return [int(row[0]) for row in rows if int(row[0]) in user_ids]

    async def language_of(self, user_id: int) -> str | None:
        value = await self.db.fetchval("SELECT language_code FROM managers WHERE user_id = ?", (user_id,))
        return None if value is None else str(value)


class StateRepository(Repository):
    """Small key/value facts that must survive a restart."""

    async def get(self, key: str) -> str | None:
        value = await self.db.fetchval("SELECT value FROM state WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def set_if_absent(self, key: str, value: str) -> bool:
        """Return True when this call stored the key (used for once-only notices)."""
        return await self.db.changed("INSERT OR IGNORE INTO state (key, value) VALUES (?, ?)", (key, value))
