"""Moderation storage: case subjects, member reports, the audit log, warnings, spam marks, notices.

All SQL of the moderation feature lives here, always parameterised.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bot.storage.db import Database


@dataclass(frozen=True, slots=True)
class Subject:
    """A message (and its author) that a case is about."""

    id: int
    case_id: int | None
    chat_id: int
    message_id: int
    thread_id: int | None
    user_id: int
    sender_chat_id: int | None
    author_name: str
    text: str
    kind: str  # report | spam
    protected: str | None
    spam_score: float | None
    spam_detail: str | None
    verdict: str | None
    deleted: bool
    restored_message_id: int | None
    created_at: int

    @property
    def is_channel(self) -> bool:
        """Sent on behalf of a channel (not the group itself): banned with banChatSenderChat."""
        return self.sender_chat_id is not None and self.sender_chat_id != self.chat_id


@dataclass(frozen=True, slots=True)
class ModAction:
    id: int
    chat_id: int
    case_id: int | None
    subject_id: int | None
    target_id: int | None
    target_name: str
    action: str
    actor_id: int | None
    actor_name: str
    reason: str
    until_at: int | None
    ok: bool
    error: str | None
    at: int


@dataclass(frozen=True, slots=True)
class SpamMark:
    id: int
    chat_id: int
    text: str
    label: str
    at: int


def _subject(row: aiosqlite.Row) -> Subject:
    return Subject(
        id=int(row["id"]),
        case_id=row["case_id"],
        chat_id=int(row["chat_id"]),
        message_id=int(row["message_id"]),
        thread_id=row["thread_id"],
        user_id=int(row["user_id"]),
        sender_chat_id=row["sender_chat_id"],
        author_name=str(row["author_name"]),
        text=str(row["text"]),
        kind=str(row["kind"]),
        protected=row["protected"],
        spam_score=row["spam_score"],
        spam_detail=row["spam_detail"],
        verdict=row["verdict"],
        deleted=bool(row["deleted"]),
        restored_message_id=row["restored_message_id"],
        created_at=int(row["created_at"]),
    )


def _action(row: aiosqlite.Row) -> ModAction:
    return ModAction(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        case_id=row["case_id"],
        subject_id=row["subject_id"],
        target_id=row["target_id"],
        target_name=str(row["target_name"]),
        action=str(row["action"]),
        actor_id=row["actor_id"],
        actor_name=str(row["actor_name"]),
        reason=str(row["reason"]),
        until_at=row["until_at"],
        ok=bool(row["ok"]),
        error=row["error"],
        at=int(row["at"]),
    )


class ModerationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ subjects

    async def add_subject(
        self,
        *,
        chat_id: int,
        message_id: int,
        thread_id: int | None,
        user_id: int,
        sender_chat_id: int | None,
        author_name: str,
        text: str,
        kind: str,
        protected: str | None,
        at: int,
        spam_score: float | None = None,
        spam_detail: str | None = None,
    ) -> tuple[Subject, bool]:
        """Insert the subject, or return the existing one for this message and kind. ``(subject, created)``."""
        await self.db.execute(
            """
            INSERT OR IGNORE INTO mod_subjects (chat_id, message_id, thread_id, user_id, sender_chat_id,
                                               author_name, text, kind, protected, spam_score, spam_detail,
                                               created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                chat_id,
                message_id,
                thread_id,
                user_id,
                sender_chat_id,
                author_name[:200],
                text[:4000],
                kind,
                protected,
                spam_score,
                spam_detail,
                at,
            ),
        )
        created = int(await self.db.fetchval("SELECT changes()")) > 0
        row = await self.db.fetchone(
            "SELECT * FROM mod_subjects WHERE chat_id = ? AND message_id = ? AND kind = ?", (chat_id, message_id, kind)
        )
        assert row is not None
        return _subject(row), created

    async def subject(self, subject_id: int) -> Subject | None:
        row = await self.db.fetchone("SELECT * FROM mod_subjects WHERE id = ?", (subject_id,))
        return None if row is None else _subject(row)

    async def attach(self, subject_id: int, case_id: int) -> None:
        await self.db.execute("UPDATE mod_subjects SET case_id = ? WHERE id = ?", (case_id, subject_id))

    async def subjects_of_case(self, case_id: int) -> list[Subject]:
        rows = await self.db.fetchall("SELECT * FROM mod_subjects WHERE case_id = ? ORDER BY id", (case_id,))
        return [_subject(r) for r in rows]

    async def set_deleted(self, subject_id: int, deleted: bool) -> None:
        await self.db.execute("UPDATE mod_subjects SET deleted = ? WHERE id = ?", (int(deleted), subject_id))

    async def mark_deleted_messages(self, chat_id: int, message_ids: list[int]) -> None:
        await self.db.executemany(
            "UPDATE mod_subjects SET deleted = 1 WHERE chat_id = ? AND message_id = ?",
            [(chat_id, mid) for mid in message_ids],
        )

    async def set_verdict(self, subject_id: int, verdict: str) -> bool:
        """Record the managers' verdict once; False when another press got there first."""
        changed = await self.db.execute(
            "UPDATE mod_subjects SET verdict = ? WHERE id = ? AND verdict IS NULL", (verdict, subject_id)
        )
        return changed > 0

    async def set_restored(self, subject_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE mod_subjects SET restored_message_id = ?, deleted = 0 WHERE id = ?", (message_id, subject_id)
        )

    # ------------------------------------------------------------------ reports

    async def add_report(self, chat_id: int, message_id: int, reporter_id: int, subject_id: int, at: int) -> bool:
        """One report per member and message; False for a repeat."""
        changed = await self.db.execute(
            "INSERT OR IGNORE INTO mod_reports (chat_id, message_id, reporter_id, subject_id, at)"
            " VALUES (?, ?, ?, ?, ?)",
            (chat_id, message_id, reporter_id, subject_id, at),
        )
        return changed > 0

    async def reports_by(self, chat_id: int, reporter_id: int, *, since: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM mod_reports WHERE chat_id = ? AND reporter_id = ? AND at >= ?",
                (chat_id, reporter_id, since),
            )
        )

    async def reporters(self, subject_id: int) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM mod_reports WHERE subject_id = ?", (subject_id,)))

    # ------------------------------------------------------------------ the audit log

    async def log(
        self,
        *,
        chat_id: int,
        case_id: int | None,
        subject_id: int | None,
        target_id: int | None,
        target_name: str,
        action: str,
        actor_id: int | None,
        actor_name: str,
        reason: str,
        until_at: int | None,
        ok: bool,
        error: str | None,
        at: int,
    ) -> int:
        return await self.db.insert(
            """
            INSERT INTO mod_actions (chat_id, case_id, subject_id, target_id, target_name, action, actor_id,
                                     actor_name, reason, until_at, ok, error, at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                chat_id,
                case_id,
                subject_id,
                target_id,
                target_name[:200],
                action,
                actor_id,
                actor_name[:200],
                reason[:500],
                until_at,
                int(ok),
                (error or None) and str(error)[:500],
                at,
            ),
        )

    async def actions_of_case(self, case_id: int, limit: int = 8) -> list[ModAction]:
        rows = await self.db.fetchall(
            "SELECT * FROM mod_actions WHERE case_id = ? ORDER BY at DESC, id DESC LIMIT ?", (case_id, limit)
        )
        return [_action(r) for r in reversed(rows)]

    async def actions(self, chat_ids: list[int] | None, limit: int = 30) -> list[ModAction]:
        """The latest actions, newest first: of the given chats, or of every chat (None)."""
        if chat_ids is None:
            rows = await self.db.fetchall("SELECT * FROM mod_actions ORDER BY at DESC, id DESC LIMIT ?", (limit,))
        else:
            marks = ", ".join("?" for _ in chat_ids) or "NULL"
            rows = await self.db.fetchall(
                f"SELECT * FROM mod_actions WHERE chat_id IN ({marks}) ORDER BY at DESC, id DESC LIMIT ?",  # noqa: S608
                (*chat_ids, limit),
            )
        return [_action(r) for r in rows]

    async def last_action(self, subject_id: int, actions: tuple[str, ...]) -> ModAction | None:
        marks = ", ".join("?" for _ in actions)
        row = await self.db.fetchone(
            f"SELECT * FROM mod_actions WHERE subject_id = ? AND ok = 1 AND action IN ({marks})"  # noqa: S608
            " ORDER BY at DESC, id DESC LIMIT 1",
            (subject_id, *actions),
        )
        return None if row is None else _action(row)

    # ------------------------------------------------------------------ warnings

    async def warn(self, chat_id: int, user_id: int, actor_id: int | None, reason: str, at: int) -> int:
        """Add a warning; return the member's active warnings."""
        await self.db.execute(
            "INSERT INTO mod_warnings (chat_id, user_id, actor_id, reason, at) VALUES (?, ?, ?, ?, ?)",
            (chat_id, user_id, actor_id, reason[:500], at),
        )
        return await self.warnings(chat_id, user_id)

    async def warnings(self, chat_id: int, user_id: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM mod_warnings WHERE chat_id = ? AND user_id = ? AND cleared = 0",
                (chat_id, user_id),
            )
        )

    async def clear_warnings(self, chat_id: int, user_id: int) -> None:
        await self.db.execute(
            "UPDATE mod_warnings SET cleared = 1 WHERE chat_id = ? AND user_id = ? AND cleared = 0",
            (chat_id, user_id),
        )

    # ------------------------------------------------------------------ the author's messages

    async def last_messages_of(self, chat_id: int, user_id: int, limit: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT message_id FROM messages WHERE chat_id = ? AND user_id = ? ORDER BY date DESC, message_id DESC"
            " LIMIT ?",
            (chat_id, user_id, limit),
        )
        return [int(r[0]) for r in rows]

    async def message_count(self, chat_id: int, user_id: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM messages WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
            )
        )

    async def sender_chat_of(self, chat_id: int, message_id: int) -> int | None:
        value = await self.db.fetchval(
            "SELECT sender_chat_id FROM messages WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )
        return None if value is None else int(value)

    async def joined_at(self, chat_id: int, user_id: int) -> int | None:
        value = await self.db.fetchval(
            "SELECT joined_at FROM members WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )
        return None if value is None else int(value)

    async def names_of(self, chat_id: int, user_ids: set[int]) -> list[str]:
        if not user_ids:
            return []
        ids = sorted(user_ids)
        marks = ", ".join("?" for _ in ids)
        rows = await self.db.fetchall(
            f"SELECT first_name FROM members WHERE chat_id = ? AND user_id IN ({marks})",  # noqa: S608
            (chat_id, *ids),
        )
        return [str(r[0]) for r in rows if r[0]]

    # ------------------------------------------------------------------ spam marks

    async def add_mark(
        self, chat_id: int, text: str, label: str, actor_id: int | None, subject_id: int | None, at: int
    ) -> None:
        await self.db.execute(
            "INSERT INTO spam_marks (chat_id, text, label, actor_id, subject_id, at) VALUES (?, ?, ?, ?, ?, ?)",
            (chat_id, text[:4000], label, actor_id, subject_id, at),
        )

    async def marks(self, limit: int = 5000) -> list[SpamMark]:
        rows = await self.db.fetchall("SELECT * FROM spam_marks ORDER BY id DESC LIMIT ?", (limit,))
        return [
            SpamMark(int(r["id"]), int(r["chat_id"]), str(r["text"]), str(r["label"]), int(r["at"]))
            for r in reversed(rows)
        ]

    # ------------------------------------------------------------------ notices

    async def add_notice(self, chat_id: int, message_id: int, delete_at: int) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO mod_notices (chat_id, message_id, delete_at) VALUES (?, ?, ?)",
            (chat_id, message_id, delete_at),
        )

    async def due_notices(self, now: int, limit: int = 100) -> list[tuple[int, int]]:
        rows = await self.db.fetchall(
            "SELECT chat_id, message_id FROM mod_notices WHERE delete_at <= ? ORDER BY delete_at LIMIT ?",
            (now, limit),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def drop_notice(self, chat_id: int, message_id: int) -> None:
        await self.db.execute("DELETE FROM mod_notices WHERE chat_id = ? AND message_id = ?", (chat_id, message_id))

    # ------------------------------------------------------------------ the join gate

    async def add_join_request(self, chat_id: int, user_id: int, name: str, at: int, expires_at: int) -> None:
        """A new (or repeated) request replaces an older one of the same person."""
        await self.db.execute(
            """
            INSERT INTO mod_join_requests (chat_id, user_id, user_name, requested_at, expires_at, state)
            VALUES (?, ?, ?, ?, ?, 'pending')
            ON CONFLICT (chat_id, user_id) DO UPDATE SET user_name = excluded.user_name,
                requested_at = excluded.requested_at, expires_at = excluded.expires_at, state = 'pending',
                decided_at = NULL
            """,
            (chat_id, user_id, name[:200], at, expires_at),
        )

    async def decide_join_request(
        self, chat_id: int, user_id: int, state: str, at: int, *, require_unexpired: bool
    ) -> bool:
        """pending → ``state`` once (False: not pending, or expired when ``require_unexpired``)."""
        changed = await self.db.execute(
            "UPDATE mod_join_requests SET state = ?, decided_at = ?"
            " WHERE chat_id = ? AND user_id = ? AND state = 'pending' AND (? = 0 OR expires_at > ?)",
            (state, at, chat_id, user_id, int(require_unexpired), at),
        )
        return changed > 0

    async def expired_join_requests(self, now: int, limit: int = 100) -> list[tuple[int, int]]:
        rows = await self.db.fetchall(
            "SELECT chat_id, user_id FROM mod_join_requests WHERE state = 'pending' AND expires_at <= ?"
            " ORDER BY expires_at LIMIT ?",
            (now, limit),
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def join_request_state(self, chat_id: int, user_id: int) -> str | None:
        value = await self.db.fetchval(
            "SELECT state FROM mod_join_requests WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )
        return None if value is None else str(value)
