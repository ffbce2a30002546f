"""Scheduled posts and their runs: the schedule lives here, APScheduler is only the timer."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.posts import (
    ALL_STATUSES,
    CANCELLED,
    FAILED,
    MISSED,
    OPEN_STATUSES,
    PAUSED,
    PENDING,
    SENDING,
    SENT,
    UNCERTAIN,
    Post,
    PostRun,
)
from bot.storage.db import Repository
from bot.storage.rows import Row, mapper, marks

__all__ = [
    "ALL_STATUSES",
    "CANCELLED",
    "FAILED",
    "MISSED",
    "OPEN_STATUSES",
    "PAUSED",
    "PENDING",
    "SENDING",
    "SENT",
    "UNCERTAIN",
    "Post",
    "PostRepository",
    "PostRun",
]

_POST_COLUMNS = (
    "chat_id",
    "thread_id",
    "text",
    "media_kind",
    "media",
    "buttons",
    "pin",
    "unpin_after_min",
    "silent",
    "protect",
    "at_local",
    "cron",
    "timezone",
    "lateness_s",
    "due_at",
    "status",
    "source",
    "feed_item_id",
    "created_by",
    "created_at",
    "updated_at",
)


def _buttons(row: Row) -> list[list[dict[str, str]]]:
    try:
        buttons = json.loads(row["buttons"] or "[]")
    except ValueError:
        buttons = []
    return buttons if isinstance(buttons, list) else []


_post = mapper(Post, buttons=_buttons)
_run = mapper(PostRun)


class PostRepository(Repository):
    def _values(self, post: Post) -> tuple[Any, ...]:
        return (
            post.chat_id,
            post.thread_id,
            post.text,
            post.media_kind,
            post.media,
            json.dumps(post.buttons, ensure_ascii=False),
            int(post.pin),
            post.unpin_after_min,
            int(post.silent),
            int(post.protect),
            post.at_local,
            post.cron,
            post.timezone,
            post.lateness_s,
            post.due_at,
            post.status,
            post.source,
            post.feed_item_id,
            post.created_by,
            post.created_at,
            post.updated_at,
        )

    async def add(self, post: Post) -> Post:
        new_id = await self.db.insert(
            f"INSERT INTO posts ({', '.join(_POST_COLUMNS)}) VALUES ({marks(_POST_COLUMNS)})",  # noqa: S608 - fixed names
            self._values(post),
        )
        return post.with_(id=new_id)

    async def count_scheduled(self, chat_id: int) -> int:
        """Posts of a community still to go out (pending, being sent, paused or uncertain)."""
        return await self.db.fetchcount(
            f"SELECT COUNT(*) FROM posts WHERE chat_id = ? AND status IN ({marks(OPEN_STATUSES)})",  # noqa: S608 - placeholders
            (chat_id, *OPEN_STATUSES),
        )

    async def get(self, post_id: int) -> Post | None:
        return await self.db.fetchone("SELECT * FROM posts WHERE id = ?", (post_id,), into=_post)

    async def list_posts(
        self, *, statuses: tuple[str, ...] | None = None, chat_id: int | None = None, limit: int = 1000
    ) -> list[Post]:
        sql = "SELECT * FROM posts WHERE 1 = 1"
        params: list[Any] = []
        if statuses is not None:
            sql += f" AND status IN ({marks(statuses)})"
            params.extend(statuses)
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params.append(chat_id)
        sql += " ORDER BY COALESCE(due_at, 9223372036854775807), id LIMIT ?"
        params.append(limit)
        return await self.db.fetchall(sql, params, into=_post)

    async def update_content(self, post: Post, now: int, *, expect: Post) -> bool:
        """Rewrite a post's content and schedule, only if its status and due time are still those of
        ``expect`` (and it is not being sent)."""
        sets = ", ".join(f"{c} = ?" for c in _POST_COLUMNS if c not in ("created_at", "created_by", "source"))
        values = [
            v
            for c, v in zip(_POST_COLUMNS, self._values(post), strict=True)
            if c not in ("created_at", "created_by", "source")
        ]
        values[-1] = now  # updated_at
        return await self.db.changed(
            f"UPDATE posts SET {sets} WHERE id = ? AND status != 'sending'"  # noqa: S608 - fixed names
            " AND status = ? AND due_at IS ?",
            (*values, post.id, expect.status, expect.due_at),
        )

    async def set_status(
        self,
        post_id: int,
        status: str,
        now: int,
        *,
        expect: tuple[str, ...] | None = None,
        due_at: int | bool | None = False,
        error: str | bool | None = False,
    ) -> bool:
        """Move a post to ``status`` (only from ``expect`` when given). ``due_at``/``error``: False keeps them."""
        sets = ["status = ?", "updated_at = ?"]
        params: list[Any] = [status, now]
        if due_at is not False:
            sets.append("due_at = ?")
            params.append(due_at)
        if error is not False:
            sets.append("last_error = ?")
            params.append(error)
        if status != SENDING:
            sets.append("claimed_at = NULL")
        sql = f"UPDATE posts SET {', '.join(sets)} WHERE id = ?"  # noqa: S608 - fixed column names
        params.append(post_id)
        if expect is not None:
            sql += f" AND status IN ({marks(expect)})"
            params.extend(expect)
        return await self.db.changed(sql, params)

    async def claim(self, post_id: int, due_at: int, now: int) -> bool:
        """pending → sending for exactly this fire; False if someone else changed the row."""
        return await self.db.changed(
            "UPDATE posts SET status = 'sending', claimed_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'pending' AND due_at = ?",
            (now, now, post_id, due_at),
        )

    async def finish_fire(
        self, post_id: int, *, status: str, next_due: int | None, error: str | None, now: int
    ) -> None:
        await self.db.execute(
            "UPDATE posts SET status = ?, due_at = ?, last_error = ?, claimed_at = NULL, updated_at = ? WHERE id = ?",
            (status, next_due, error, now, post_id),
        )

    async def due(self, now: int) -> list[Post]:
        return await self.db.fetchall(
            "SELECT * FROM posts WHERE status = 'pending' AND due_at IS NOT NULL AND due_at <= ? ORDER BY due_at, id",
            (now,),
            into=_post,
        )

    async def pending(self) -> list[Post]:
        return await self.db.fetchall(
            "SELECT * FROM posts WHERE status = 'pending' AND due_at IS NOT NULL ORDER BY due_at, id", into=_post
        )

    async def stuck_sending(self) -> list[Post]:
        return await self.db.fetchall("SELECT * FROM posts WHERE status = 'sending' ORDER BY id", into=_post)

    async def busy_slots(self, chat_id: int, start: int, end: int) -> set[int]:
        rows = await self.db.fetchall(
            "SELECT due_at FROM posts WHERE chat_id = ? AND status IN ('pending', 'paused') AND due_at BETWEEN ? AND ?",
            (chat_id, start, end),
        )
        return {int(row[0]) for row in rows}

    # --- runs ----------------------------------------------------------------------------

    async def add_run(
        self,
        post_id: int,
        *,
        due_at: int,
        status: str,
        chat_id: int,
        thread_id: int | None,
        message_ids: list[int],
        error: str | None,
        late_s: int,
        unpin_at: int | None,
        now: int,
    ) -> int:
        return await self.db.insert(
            "INSERT INTO post_runs (post_id, due_at, status, chat_id, thread_id, message_id, message_ids, error,"
            " late_s, unpin_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                post_id,
                due_at,
                status,
                chat_id,
                thread_id,
                message_ids[0] if message_ids else None,
                json.dumps(message_ids),
                error,
                late_s,
                unpin_at,
                now,
            ),
        )

    async def runs(self, post_id: int) -> list[PostRun]:
        return await self.db.fetchall("SELECT * FROM post_runs WHERE post_id = ? ORDER BY id", (post_id,), into=_run)

    async def all_runs(self) -> list[PostRun]:
        return await self.db.fetchall("SELECT * FROM post_runs ORDER BY id", into=_run)

    async def pending_unpins(self) -> list[PostRun]:
        return await self.db.fetchall(
            "SELECT * FROM post_runs WHERE unpin_at IS NOT NULL AND unpinned = 0 AND message_id IS NOT NULL", into=_run
        )

    async def mark_reported(self, run_id: int) -> None:
        await self.db.execute("UPDATE post_runs SET reported = 1 WHERE id = ?", (run_id,))

    async def unreported(self) -> list[PostRun]:
        """Bad news the managers have not received yet (the bot stopped before the receipt went out)."""
        return await self.db.fetchall(
            "SELECT * FROM post_runs WHERE reported = 0 AND status IN ('uncertain', 'missed', 'failed') ORDER BY id",
            into=_run,
        )

    async def resolve_uncertain(self, post_id: int, status: str) -> bool:
        """A manager said what happened to the latest uncertain run of this post."""
        return await self.db.changed(
            "UPDATE post_runs SET status = ?, error = 'confirmed by a manager' WHERE id = ("
            " SELECT id FROM post_runs WHERE post_id = ? AND status = 'uncertain' ORDER BY id DESC LIMIT 1)",
            (status, post_id),
        )

    async def mark_unpinned(self, run_id: int) -> None:
        await self.db.execute("UPDATE post_runs SET unpinned = 1 WHERE id = ?", (run_id,))

    async def resolve_run(self, run_id: int, status: str) -> None:
        await self.db.execute("UPDATE post_runs SET status = ? WHERE id = ?", (status, run_id))

    async def run_for_message(self, chat_id: int, message_id: int) -> PostRun | None:
        return await self.db.fetchone(
            "SELECT * FROM post_runs WHERE chat_id = ? AND message_id = ? ORDER BY id DESC LIMIT 1",
            (chat_id, message_id),
            into=_run,
        )

    async def add_reply(self, run_id: int) -> None:
        await self.db.execute("UPDATE post_runs SET replies = replies + 1 WHERE id = ?", (run_id,))

    async def set_reactions(self, run: PostRun, counts: dict[str, int], now: int) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "DELETE FROM post_reactions WHERE chat_id = ? AND message_id = ?", (run.chat_id, run.message_id)
            )
            await self.db.executemany(
                "INSERT INTO post_reactions (chat_id, message_id, emoji, count, updated_at) VALUES (?, ?, ?, ?, ?)",
                [(run.chat_id, run.message_id, emoji, count, now) for emoji, count in counts.items()],
            )
            await self.db.execute("UPDATE post_runs SET reactions = ? WHERE id = ?", (sum(counts.values()), run.id))

    async def reactions(self, chat_id: int, message_id: int) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT emoji, count FROM post_reactions WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )
        return {str(row[0]): int(row[1]) for row in rows}
