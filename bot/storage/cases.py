"""Escalation cases: the case rows, their history, card copies, pending replies and feedback.

Every state change is one conditional UPDATE (``… WHERE state IN (…)``) plus its event row, in one
transaction: two managers pressing Take at once cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.cases import (
    ACTIVE_STATES,
    CLOSED_STATES,
    CardCopy,
    Case,
    CaseEvent,
    Feedback,
    PendingReply,
    ThreadLine,
    TuningChange,
)
from bot.storage.db import Repository
from bot.storage.rows import mapper, marks

__all__ = [
    "ACTIVE_STATES",
    "CLOSED_STATES",
    "CardCopy",
    "Case",
    "CaseEvent",
    "CaseRepository",
    "Feedback",
    "PendingReply",
    "ThreadLine",
    "TuningChange",
]

_case = mapper(Case, reasons=lambda row: tuple(r for r in str(row["reasons"]).split(",") if r))
_event = mapper(CaseEvent)
_card = mapper(CardCopy)
_pending = mapper(PendingReply)
_line = mapper(ThreadLine)
_feedback = mapper(Feedback)
_tuning = mapper(TuningChange)

# What each transition sets besides the state (the values are bound).
_TAKE = ", taken_by = ?, taken_by_name = ?, taken_at = ?, snoozed_until = NULL"
_ANSWER = (
    ", answered_by = COALESCE(answered_by, ?), answered_by_name = COALESCE(answered_by_name, ?),"
    " first_response_at = COALESCE(first_response_at, ?),"
    " response_seconds = COALESCE(response_seconds, ? - opened_at), snoozed_until = NULL"
)
_CLOSE = ", closed_by = ?, closed_by_name = ?, closed_at = ?, snoozed_until = NULL"
_SNOOZE = ", snoozed_until = ?, last_reminded_at = NULL"


class CaseRepository(Repository):
    # ------------------------------------------------------------------ cases

    async def get(self, case_id: int) -> Case | None:
        return await self.db.fetchone("SELECT * FROM cases WHERE id = ?", (case_id,), into=_case)

    async def latest(self, chat_id: int) -> Case | None:
        """The chat's most recently opened case."""
        return await self.db.fetchone(
            "SELECT * FROM cases WHERE chat_id = ? ORDER BY id DESC LIMIT 1", (chat_id,), into=_case
        )

    async def active_for_thread(self, chat_id: int, thread_key: str) -> Case | None:
        return await self.db.fetchone(
            "SELECT * FROM cases WHERE chat_id = ? AND thread_key = ? AND closed_at IS NULL",
            (chat_id, thread_key),
            into=_case,
        )

    async def opened_by_member(self, chat_id: int, user_id: int, *, since: int) -> int:
        """Cases in a chat opened since ``since`` whose trigger message was this member's."""
        return await self.db.fetchcount(
            "SELECT COUNT(*) FROM cases c JOIN messages m"
            " ON m.chat_id = c.chat_id AND m.message_id = c.first_message_id"
            " WHERE c.chat_id = ? AND m.user_id = ? AND c.opened_at >= ?",
            (chat_id, user_id, since),
        )

    async def last_closed_message(self, chat_id: int, thread_key: str) -> int | None:
        """The last message id of the thread's latest closed case: older messages were dealt with."""
        return await self.db.fetchint(
            "SELECT MAX(last_message_id) FROM cases WHERE chat_id = ? AND thread_key = ? AND closed_at IS NOT NULL",
            (chat_id, thread_key),
        )

    async def open(
        self,
        *,
        chat_id: int,
        thread_key: str,
        topic_id: int | None,
        shadow: bool,
        reasons: Iterable[str],
        detail: str,
        keyword: str | None,
        severity: float,
        negative_members: int,
        first_message_id: int,
        last_message_id: int,
        message_count: int,
        at: int,
        signals: str = "",
    ) -> tuple[Case, bool]:
        """Open a case, or return the thread's active one. ``(case, created)``."""
        async with self.db.transaction():
            case_id = await self.db.insert(
                """
                INSERT OR IGNORE INTO cases (chat_id, thread_key, topic_id, state, shadow, reasons, detail, keyword,
                                             severity, negative_members, message_count, first_message_id,
                                             last_message_id, opened_at, last_activity_at, signals)
                VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    chat_id,
                    thread_key,
                    topic_id,
                    int(shadow),
                    ",".join(reasons),
                    detail,
                    keyword,
                    severity,
                    negative_members,
                    message_count,
                    first_message_id,
                    last_message_id,
                    at,
                    at,
                    signals,
                ),
            )
            changed = await self.db.fetchcount("SELECT changes()")
            if changed:
                await self._event(case_id, at, None, None, "opened", None, "open", detail)
        if changed:
            case = await self.get(case_id)
        else:
            case = await self.active_for_thread(chat_id, thread_key)
        assert case is not None
        return case, bool(changed)

    async def note_activity(
        self,
        case_id: int,
        *,
        last_message_id: int,
        at: int,
        severity: float,
        negative_members: int,
        reasons: Iterable[str],
        keyword: str | None,
    ) -> None:
        """A new message in the thread: it becomes the reply target; the figures only grow."""
        await self.db.execute(
            """
            UPDATE cases SET
                last_message_id = MAX(last_message_id, ?), last_activity_at = MAX(last_activity_at, ?),
                message_count = message_count + 1, severity = MAX(severity, ?),
                negative_members = MAX(negative_members, ?), reasons = ?, keyword = COALESCE(keyword, ?)
            WHERE id = ?
            """,
            (last_message_id, at, severity, negative_members, ",".join(reasons), keyword, case_id),
        )

    async def join(
        self,
        case_id: int,
        *,
        reasons: Iterable[str],
        detail: str,
        at: int,
        severity: float = 0.0,
        last_message_id: int = 0,
    ) -> None:
        """Another reason for the thread's active case (a second matter, a member's report): noted, one card.
        The case keeps the higher severity and the later message."""
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE cases SET reasons = ?, last_activity_at = MAX(last_activity_at, ?),"
                " severity = MAX(severity, ?), last_message_id = MAX(last_message_id, ?) WHERE id = ?",
                (",".join(reasons), at, severity, last_message_id, case_id),
            )
            state = await self.db.fetchval("SELECT state FROM cases WHERE id = ?", (case_id,))
            await self._event(case_id, at, None, None, "joined", state, state, detail)

    async def _transition(
        self,
        case_id: int,
        to_state: str,
        from_states: Iterable[str],
        actor: tuple[int | None, str | None],
        at: int,
        sets: str = "",
        params: tuple[object, ...] = (),
        *,
        action: str | None = None,
        note: str | None = None,
    ) -> bool:
        """``from_states`` → ``to_state`` (and the extra ``sets``), with its event; ``action`` defaults
        to the new state's name."""
        states = tuple(from_states)
        async with self.db.transaction():
            before = await self.db.fetchval("SELECT state FROM cases WHERE id = ?", (case_id,))
            changed = await self.db.execute(
                f"UPDATE cases SET state = ?{sets} WHERE id = ? AND state IN ({marks(states)})",  # noqa: S608 - placeholders only
                (to_state, *params, case_id, *states),
            )
            if changed:
                await self._event(case_id, at, *actor, action or to_state, before, to_state, note)
        return bool(changed)

    async def take(self, case_id: int, actor_id: int, actor_name: str, at: int) -> bool:
        """First wins: only an open (or snoozed) case can be taken."""
        actor = (actor_id, actor_name)
        return await self._transition(case_id, "taken", ("open", "snoozed"), actor, at, _TAKE, (*actor, at))

    async def answer(self, case_id: int, actor_id: int, actor_name: str, at: int, *, note: str | None) -> bool:
        """An answer reached the community; the first one sets the response time."""
        actor = (actor_id, actor_name)
        return await self._transition(
            case_id, "answered", ACTIVE_STATES, actor, at, _ANSWER, (*actor, at, at), note=note
        )

    async def close(self, case_id: int, state: str, actor_id: int | None, actor_name: str | None, at: int) -> bool:
        """resolved | dismissed | expired."""
        assert state in CLOSED_STATES
        actor = (actor_id, actor_name)
        return await self._transition(case_id, state, ACTIVE_STATES, actor, at, _CLOSE, (*actor, at))

    async def snooze(self, case_id: int, actor_id: int, actor_name: str, at: int, until: int) -> bool:
        actor = (actor_id, actor_name)
        return await self._transition(case_id, "snoozed", ACTIVE_STATES, actor, at, _SNOOZE, (until,))

    async def wake(self, case: Case, at: int) -> bool:
        """A snooze ran out: back to where it was (taken if someone had it, answered if answered)."""
        to_state = "answered" if case.first_response_at is not None else "taken" if case.taken_by else "open"
        sets = ", snoozed_until = NULL"
        return await self._transition(case.id, to_state, ("snoozed",), (None, None), at, sets, action="woke")

    async def reminded(self, case_id: int, at: int) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE cases SET last_reminded_at = ?, reminders = reminders + 1 WHERE id = ?", (at, case_id)
            )
            state = await self.db.fetchval("SELECT state FROM cases WHERE id = ?", (case_id,))
            await self._event(case_id, at, None, None, "reminded", state, state, None)

    async def active(self, *, shadow: bool = False, chat_id: int | None = None) -> list[Case]:
        return await self._cases("closed_at IS NULL AND shadow = ?", int(shadow), chat_id)

    async def shadow_since(self, since: int, chat_id: int | None = None) -> list[Case]:
        return await self._cases("shadow = 1 AND opened_at >= ?", since, chat_id)

    async def _cases(self, where: str, value: object, chat_id: int | None) -> list[Case]:
        """Cases matching ``where`` (one bound ``value``), of one chat or all, oldest first."""
        sql = f"SELECT * FROM cases WHERE {where}"  # noqa: S608 - ``where`` is one of the literals above
        params: list[object] = [value]
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params.append(chat_id)
        return await self.db.fetchall(sql + " ORDER BY opened_at", params, into=_case)

    async def opened_since(self, since: int, *, include_closed: bool) -> list[Case]:
        """Cases opened since ``since`` (only the active ones unless ``include_closed``), newest first."""
        return await self.db.fetchall(
            "SELECT * FROM cases WHERE opened_at >= ? AND (? OR closed_at IS NULL) ORDER BY opened_at DESC, id DESC",
            (since, int(include_closed)),
            into=_case,
        )

    async def count(self, *, state: str | None = None) -> int:
        if state is None:
            return await self.db.fetchcount("SELECT COUNT(*) FROM cases")
        return await self.db.fetchcount("SELECT COUNT(*) FROM cases WHERE state = ?", (state,))

    # ------------------------------------------------------------------ events

    async def _event(
        self,
        case_id: int,
        at: int,
        actor_id: int | None,
        actor_name: str | None,
        action: str,
        from_state: str | None,
        to_state: str | None,
        note: str | None,
    ) -> None:
        await self.db.execute(
            "INSERT INTO case_events (case_id, at, actor_id, actor_name, action, from_state, to_state, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (case_id, at, actor_id, actor_name, action, from_state, to_state, note),
        )

    async def events(self, case_id: int) -> list[CaseEvent]:
        return await self.db.fetchall(
            "SELECT * FROM case_events WHERE case_id = ? ORDER BY at, id", (case_id,), into=_event
        )

    # ------------------------------------------------------------------ cards

    async def add_card(self, case_id: int, copy: CardCopy) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO case_cards (case_id, chat_id, message_id, thread_id) VALUES (?, ?, ?, ?)",
            (case_id, copy.chat_id, copy.message_id, copy.thread_id),
        )

    async def cards(self, case_id: int) -> list[CardCopy]:
        return await self.db.fetchall(
            "SELECT chat_id, message_id, thread_id FROM case_cards WHERE case_id = ? ORDER BY rowid",
            (case_id,),
            into=_card,
        )

    async def case_for_card(self, chat_id: int, message_id: int) -> int | None:
        return await self.db.fetchint(
            "SELECT case_id FROM case_cards WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )

    # ------------------------------------------------------------------ pending replies

    async def set_pending(self, user_id: int, chat_id: int, case_id: int, at: int, expires_at: int) -> None:
        await self.db.execute(
            """
            INSERT INTO case_pending_replies (user_id, chat_id, case_id, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (user_id, chat_id) DO UPDATE SET
                case_id = excluded.case_id, created_at = excluded.created_at, expires_at = excluded.expires_at
            """,
            (user_id, chat_id, case_id, at, expires_at),
        )

    async def pending(self, user_id: int, chat_id: int) -> PendingReply | None:
        return await self.db.fetchone(
            "SELECT * FROM case_pending_replies WHERE user_id = ? AND chat_id = ?", (user_id, chat_id), into=_pending
        )

    async def clear_pending(self, user_id: int, chat_id: int) -> bool:
        return await self.db.changed(
            "DELETE FROM case_pending_replies WHERE user_id = ? AND chat_id = ?", (user_id, chat_id)
        )

    async def take_expired_pending(self, now: int) -> list[PendingReply]:
        async with self.db.transaction():
            expired = await self.db.fetchall(
                "SELECT * FROM case_pending_replies WHERE expires_at <= ? ORDER BY created_at", (now,), into=_pending
            )
            await self.db.execute("DELETE FROM case_pending_replies WHERE expires_at <= ?", (now,))
        return expired

    # ------------------------------------------------------------------ the thread, for cards

    async def thread_lines(self, chat_id: int, thread_key: str, *, limit: int) -> list[ThreadLine]:
        rows = await self.db.fetchall(
            """
            SELECT m.message_id, m.user_id, m.text, m.date, m.sentiment_label AS label, m.sentiment_score AS score,
                   COALESCE(NULLIF(mb.first_name, ''), mb.username, CAST(m.user_id AS TEXT)) AS name
            FROM messages AS m
            LEFT JOIN members AS mb ON mb.chat_id = m.chat_id AND mb.user_id = m.user_id
            WHERE m.chat_id = ? AND m.thread_key = ? AND m.text != ''
            ORDER BY m.date DESC, m.message_id DESC
            LIMIT ?
            """,
            (chat_id, thread_key, limit),
            into=_line,
        )
        return rows[::-1]

    # ------------------------------------------------------------------ feedback and tuning

    async def count_feedback(self, chat_id: int, outcome: str, at: int) -> Feedback:
        assert outcome in ("resolved", "dismissed")
        column = "resolved" if outcome == "resolved" else "dismissed"
        await self.db.execute(
            f"""
            INSERT INTO escalation_feedback (chat_id, {column}, updated_at) VALUES (?, 1, ?)
            ON CONFLICT (chat_id) DO UPDATE SET {column} = {column} + 1, updated_at = excluded.updated_at
            """,  # noqa: S608 - the column is one of two literals
            (chat_id, at),
        )
        return await self.feedback(chat_id)

    async def feedback(self, chat_id: int) -> Feedback:
        found = await self.db.fetchone(
            "SELECT chat_id, resolved, dismissed FROM escalation_feedback WHERE chat_id = ?", (chat_id,), into=_feedback
        )
        return Feedback(chat_id, 0, 0) if found is None else found

    async def all_feedback(self) -> list[Feedback]:
        return await self.db.fetchall(
            "SELECT chat_id, resolved, dismissed FROM escalation_feedback ORDER BY chat_id", into=_feedback
        )

    async def log_tuning(self, change: TuningChange) -> None:
        await self.db.execute(
            "INSERT INTO escalation_tuning (chat_id, at, actor_id, case_id, setting, old_value, new_value, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                change.chat_id,
                change.at,
                change.actor_id,
                change.case_id,
                change.setting,
                change.old_value,
                change.new_value,
                change.reason,
            ),
        )

    async def tuning_log(self, chat_id: int | None = None) -> list[TuningChange]:
        sql = "SELECT * FROM escalation_tuning"
        params: tuple[object, ...] = ()
        if chat_id is not None:
            sql += " WHERE chat_id = ?"
            params = (chat_id,)
        return await self.db.fetchall(sql + " ORDER BY at, id", params, into=_tuning)
