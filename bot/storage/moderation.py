"""Moderation storage: case subjects, member reports, the audit log, warnings, spam marks, notices.

All SQL of the moderation feature lives here, always parameterised.
"""

from __future__ import annotations

from bot.domain.moderation import ModAction, SpamMark, Subject
from bot.storage.db import Repository
from bot.storage.rows import mapper, marks

__all__ = ["ModAction", "ModerationRepository", "SpamMark", "Subject"]

_subject = mapper(Subject)
_action = mapper(ModAction)
_mark = mapper(SpamMark)


class ModerationRepository(Repository):
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
        created = await self.db.fetchcount("SELECT changes()") > 0
        subject = await self.db.fetchone(
            "SELECT * FROM mod_subjects WHERE chat_id = ? AND message_id = ? AND kind = ?",
            (chat_id, message_id, kind),
            into=_subject,
        )
        assert subject is not None
        return subject, created

    async def subject(self, subject_id: int) -> Subject | None:
        return await self.db.fetchone("SELECT * FROM mod_subjects WHERE id = ?", (subject_id,), into=_subject)

    async def attach(self, subject_id: int, case_id: int) -> None:
        await self.db.execute("UPDATE mod_subjects SET case_id = ? WHERE id = ?", (case_id, subject_id))

    async def subjects_of_case(self, case_id: int) -> list[Subject]:
        return await self.db.fetchall(
            "SELECT * FROM mod_subjects WHERE case_id = ? ORDER BY id", (case_id,), into=_subject
        )

    async def set_deleted(self, subject_id: int, deleted: bool) -> None:
        await self.db.execute("UPDATE mod_subjects SET deleted = ? WHERE id = ?", (int(deleted), subject_id))

    async def mark_deleted_messages(self, chat_id: int, message_ids: list[int]) -> None:
        await self.db.executemany(
            "UPDATE mod_subjects SET deleted = 1 WHERE chat_id = ? AND message_id = ?",
            [(chat_id, mid) for mid in message_ids],
        )

    async def set_verdict(self, subject_id: int, verdict: str) -> bool:
        """Record the managers' verdict once; False when another press got there first."""
        return await self.db.changed(
            "UPDATE mod_subjects SET verdict = ? WHERE id = ? AND verdict IS NULL", (verdict, subject_id)
        )

    async def set_restored(self, subject_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE mod_subjects SET restored_message_id = ?, deleted = 0 WHERE id = ?", (message_id, subject_id)
        )

    # ------------------------------------------------------------------ reports

    async def add_report(self, chat_id: int, message_id: int, reporter_id: int, subject_id: int, at: int) -> bool:
        """One report per member and message; False for a repeat."""
        return await self.db.changed(
            "INSERT OR IGNORE INTO mod_reports (chat_id, message_id, reporter_id, subject_id, at)"
            " VALUES (?, ?, ?, ?, ?)",
            (chat_id, message_id, reporter_id, subject_id, at),
        )

    async def reports_by(self, chat_id: int, reporter_id: int, *, since: int) -> int:
        return await self.db.fetchcount(
            "SELECT COUNT(*) FROM mod_reports WHERE chat_id = ? AND reporter_id = ? AND at >= ?",
            (chat_id, reporter_id, since),
        )

    async def reporters(self, subject_id: int) -> int:
        return await self.db.fetchcount("SELECT COUNT(*) FROM mod_reports WHERE subject_id = ?", (subject_id,))

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
        latest = await self.db.fetchall(
            "SELECT * FROM mod_actions WHERE case_id = ? ORDER BY at DESC, id DESC LIMIT ?",
            (case_id, limit),
            into=_action,
        )
        return latest[::-1]

    async def actions(self, chat_ids: list[int] | None, limit: int = 30) -> list[ModAction]:
        """The latest actions, newest first: of the given chats, or of every chat (None)."""
        if chat_ids is None:
            return await self.db.fetchall(
                "SELECT * FROM mod_actions ORDER BY at DESC, id DESC LIMIT ?", (limit,), into=_action
            )
        return await self.db.fetchall(
            f"SELECT * FROM mod_actions WHERE chat_id IN ({marks(chat_ids)}) ORDER BY at DESC, id DESC LIMIT ?",  # noqa: S608
            (*chat_ids, limit),
            into=_action,
        )

    async def last_action(self, subject_id: int, actions: tuple[str, ...]) -> ModAction | None:
        return await self.db.fetchone(
            f"SELECT * FROM mod_actions WHERE subject_id = ? AND ok = 1 AND action IN ({marks(actions)})"  # noqa: S608
            " ORDER BY at DESC, id DESC LIMIT 1",
            (subject_id, *actions),
            into=_action,
        )

    # ------------------------------------------------------------------ warnings

    async def warn(self, chat_id: int, user_id: int, actor_id: int | None, reason: str, at: int) -> int:
        """Add a warning; return the member's active warnings."""
        await self.db.execute(
            "INSERT INTO mod_warnings (chat_id, user_id, actor_id, reason, at) VALUES (?, ?, ?, ?, ?)",
            (chat_id, user_id, actor_id, reason[:500], at),
        )
        return await self.warnings(chat_id, user_id)

    async def warnings(self, chat_id: int, user_id: int) -> int:
        return await self.db.fetchcount(
            "SELECT COUNT(*) FROM mod_warnings WHERE chat_id = ? AND user_id = ? AND cleared = 0", (chat_id, user_id)
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
        return await self.db.fetchcount(
            "SELECT COUNT(*) FROM messages WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )

    async def sender_chat_of(self, chat_id: int, message_id: int) -> int | None:
        return await self.db.fetchint(
            "SELECT sender_chat_id FROM messages WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )

    async def joined_at(self, chat_id: int, user_id: int) -> int | None:
        return await self.db.fetchint(
            "SELECT joined_at FROM members WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )

    async def names_of(self, chat_id: int, user_ids: set[int]) -> list[str]:
        if not user_ids:
            return []
        ids = sorted(user_ids)
        rows = await self.db.fetchall(
            f"SELECT first_name FROM members WHERE chat_id = ? AND user_id IN ({marks(ids)})",  # noqa: S608
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
        latest = await self.db.fetchall("SELECT * FROM spam_marks ORDER BY id DESC LIMIT ?", (limit,), into=_mark)
        return latest[::-1]

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
        return await self.db.changed(
            "UPDATE mod_join_requests SET state = ?, decided_at = ?"
            " WHERE chat_id = ? AND user_id = ? AND state = 'pending' AND (? = 0 OR expires_at > ?)",
            (state, at, chat_id, user_id, int(require_unexpired), at),
        )

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
