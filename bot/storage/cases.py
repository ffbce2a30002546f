"""Escalation cases: the case rows, their history, card copies, pending replies and feedback.

Every state change is one conditional UPDATE (``… WHERE state IN (…)``) plus its event row, in one
transaction: two managers pressing Take at once cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from bot.storage.db import Database

ACTIVE_STATES = ("open", "taken", "answered", "snoozed")
CLOSED_STATES = ("resolved", "dismissed", "expired")


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    chat_id: int
    thread_key: str
    topic_id: int | None
    state: str
    shadow: bool
    reasons: tuple[str, ...]
    detail: str
    keyword: str | None
    severity: float
    negative_members: int
    message_count: int
    first_message_id: int
    last_message_id: int
    opened_at: int
    last_activity_at: int
    taken_by: int | None
    taken_by_name: str | None
    taken_at: int | None
    answered_by: int | None
    answered_by_name: str | None
    first_response_at: int | None
    response_seconds: int | None
    snoozed_until: int | None
    closed_by: int | None
    closed_by_name: str | None
    closed_at: int | None
    last_reminded_at: int | None
    reminders: int
    signals: str = ""  # JSON list of the judgment's {signal, value, text} (thread policy)

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True, slots=True)
class CaseEvent:
    case_id: int
    at: int
    actor_id: int | None
    actor_name: str | None
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class CardCopy:
    chat_id: int
    message_id: int
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class PendingReply:
    user_id: int
    chat_id: int
    case_id: int
    created_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class ThreadLine:
    """One message of a thread, for the card."""

    message_id: int
    user_id: int
    name: str
    text: str
    date: int
    label: str | None
    score: float | None


@dataclass(frozen=True, slots=True)
class Feedback:
    chat_id: int
    resolved: int
    dismissed: int

    @property
    def closed(self) -> int:
        return self.resolved + self.dismissed

    @property
    def precision(self) -> float | None:
        """Share of closed cases that were real problems (None before the first one)."""
        return None if self.closed == 0 else self.resolved / self.closed


@dataclass(frozen=True, slots=True)
class TuningChange:
    chat_id: int
    at: int
    actor_id: int | None
    case_id: int | None
    setting: str
    old_value: str
    new_value: str
    reason: str


def _case(row: aiosqlite.Row) -> Case:
    return Case(
        id=int(row["id"]),
        chat_id=int(row["chat_id"]),
        thread_key=str(row["thread_key"]),
        topic_id=row["topic_id"],
        state=str(row["state"]),
        shadow=bool(row["shadow"]),
        reasons=tuple(r for r in str(row["reasons"]).split(",") if r),
        detail=str(row["detail"]),
        keyword=row["keyword"],
        severity=float(row["severity"]),
        negative_members=int(row["negative_members"]),
        message_count=int(row["message_count"]),
        first_message_id=int(row["first_message_id"]),
        last_message_id=int(row["last_message_id"]),
        opened_at=int(row["opened_at"]),
        last_activity_at=int(row["last_activity_at"]),
        taken_by=row["taken_by"],
        taken_by_name=row["taken_by_name"],
        taken_at=row["taken_at"],
        answered_by=row["answered_by"],
        answered_by_name=row["answered_by_name"],
        first_response_at=row["first_response_at"],
        response_seconds=row["response_seconds"],
        snoozed_until=row["snoozed_until"],
        closed_by=row["closed_by"],
        closed_by_name=row["closed_by_name"],
        closed_at=row["closed_at"],
        last_reminded_at=row["last_reminded_at"],
        reminders=int(row["reminders"]),
        signals=str(row["signals"]),
    )


def _in(values: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    items = tuple(values)
    return ", ".join("?" for _ in items), items


class CaseRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ cases

    async def get(self, case_id: int) -> Case | None:
        row = await self.db.fetchone("SELECT * FROM cases WHERE id = ?", (case_id,))
        return None if row is None else _case(row)

    async def active_for_thread(self, chat_id: int, thread_key: str) -> Case | None:
        row = await self.db.fetchone(
            "SELECT * FROM cases WHERE chat_id = ? AND thread_key = ? AND closed_at IS NULL",
            (chat_id, thread_key),
        )
        return None if row is None else _case(row)

    async def opened_by_member(self, chat_id: int, user_id: int, *, since: int) -> int:
        """Cases in a chat opened since ``since`` whose trigger message was this member's."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM cases c JOIN messages m"
                " ON m.chat_id = c.chat_id AND m.message_id = c.first_message_id"
                " WHERE c.chat_id = ? AND m.user_id = ? AND c.opened_at >= ?",
                (chat_id, user_id, since),
            )
        )

    async def last_closed_message(self, chat_id: int, thread_key: str) -> int | None:
        """The last message id of the thread's latest closed case: older messages were dealt with."""
        value = await self.db.fetchval(
            "SELECT MAX(last_message_id) FROM cases WHERE chat_id = ? AND thread_key = ? AND closed_at IS NOT NULL",
            (chat_id, thread_key),
        )
        return None if value is None else int(value)

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
            changed = int(await self.db.fetchval("SELECT changes()"))
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
        *,
        action: str,
        to_state: str,
        from_states: Iterable[str],
        actor_id: int | None,
        actor_name: str | None,
        at: int,
        sets: str = "",
        params: tuple[object, ...] = (),
        note: str | None = None,
    ) -> bool:
        placeholders, states = _in(from_states)
        async with self.db.transaction():
            before = await self.db.fetchval("SELECT state FROM cases WHERE id = ?", (case_id,))
            changed = await self.db.execute(
                f"UPDATE cases SET state = ?{sets} WHERE id = ? AND state IN ({placeholders})",  # noqa: S608 - placeholders only
                (to_state, *params, case_id, *states),
            )
            if changed:
                await self._event(case_id, at, actor_id, actor_name, action, before, to_state, note)
        return bool(changed)

    async def take(self, case_id: int, actor_id: int, actor_name: str, at: int) -> bool:
        """First wins: only an open (or snoozed) case can be taken."""
        return await self._transition(
            case_id,
            action="taken",
            to_state="taken",
            from_states=("open", "snoozed"),
            actor_id=actor_id,
            actor_name=actor_name,
            at=at,
            sets=", taken_by = ?, taken_by_name = ?, taken_at = ?, snoozed_until = NULL",
            params=(actor_id, actor_name, at),
        )

    async def answer(self, case_id: int, actor_id: int, actor_name: str, at: int, *, note: str | None) -> bool:
        """An answer reached the community; the first one sets the response time."""
        return await self._transition(
            case_id,
            action="answered",
            to_state="answered",
            from_states=("open", "taken", "answered", "snoozed"),
            actor_id=actor_id,
            actor_name=actor_name,
            at=at,
            sets=(
                ", answered_by = COALESCE(answered_by, ?), answered_by_name = COALESCE(answered_by_name, ?),"
                " first_response_at = COALESCE(first_response_at, ?),"
                " response_seconds = COALESCE(response_seconds, ? - opened_at), snoozed_until = NULL"
            ),
            params=(actor_id, actor_name, at, at),
            note=note,
        )

    async def close(self, case_id: int, state: str, actor_id: int | None, actor_name: str | None, at: int) -> bool:
        """resolved | dismissed | expired."""
        assert state in CLOSED_STATES
        return await self._transition(
            case_id,
            action=state,
            to_state=state,
            from_states=ACTIVE_STATES,
            actor_id=actor_id,
            actor_name=actor_name,
            at=at,
            sets=", closed_by = ?, closed_by_name = ?, closed_at = ?, snoozed_until = NULL",
            params=(actor_id, actor_name, at),
        )

    async def snooze(self, case_id: int, actor_id: int, actor_name: str, at: int, until: int) -> bool:
        return await self._transition(
            case_id,
            action="snoozed",
            to_state="snoozed",
            from_states=("open", "taken", "answered", "snoozed"),
            actor_id=actor_id,
            actor_name=actor_name,
            at=at,
            sets=", snoozed_until = ?, last_reminded_at = NULL",
            params=(until,),
        )

    async def wake(self, case: Case, at: int) -> bool:
        """A snooze ran out: back to where it was (taken if someone had it, answered if answered)."""
        to_state = "answered" if case.first_response_at is not None else "taken" if case.taken_by else "open"
        return await self._transition(
            case.id,
            action="woke",
            to_state=to_state,
            from_states=("snoozed",),
            actor_id=None,
            actor_name=None,
            at=at,
            sets=", snoozed_until = NULL",
        )

    async def reminded(self, case_id: int, at: int) -> None:
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE cases SET last_reminded_at = ?, reminders = reminders + 1 WHERE id = ?", (at, case_id)
            )
            state = await self.db.fetchval("SELECT state FROM cases WHERE id = ?", (case_id,))
            await self._event(case_id, at, None, None, "reminded", state, state, None)

    async def active(self, *, shadow: bool = False, chat_id: int | None = None) -> list[Case]:
        sql = "SELECT * FROM cases WHERE closed_at IS NULL AND shadow = ?"
        params: list[object] = [int(shadow)]
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params.append(chat_id)
        rows = await self.db.fetchall(sql + " ORDER BY opened_at", params)
        return [_case(row) for row in rows]

    async def shadow_since(self, since: int, chat_id: int | None = None) -> list[Case]:
        sql = "SELECT * FROM cases WHERE shadow = 1 AND opened_at >= ?"
        params: list[object] = [since]
        if chat_id is not None:
            sql += " AND chat_id = ?"
            params.append(chat_id)
        rows = await self.db.fetchall(sql + " ORDER BY opened_at", params)
        return [_case(row) for row in rows]

    async def opened_since(self, since: int, *, include_closed: bool) -> list[Case]:
        """Cases opened at or after ``since`` (only those not closed yet, unless ``include_closed``), newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM cases WHERE opened_at >= ? AND (? OR closed_at IS NULL) ORDER BY opened_at DESC, id DESC",
            (since, int(include_closed)),
        )
        return [_case(row) for row in rows]

    async def count(self, *, state: str | None = None) -> int:
        if state is None:
            return int(await self.db.fetchval("SELECT COUNT(*) FROM cases"))
        return int(await self.db.fetchval("SELECT COUNT(*) FROM cases WHERE state = ?", (state,)))

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
        rows = await self.db.fetchall("SELECT * FROM case_events WHERE case_id = ? ORDER BY at, id", (case_id,))
        return [
            CaseEvent(
                int(r["case_id"]),
                int(r["at"]),
                r["actor_id"],
                r["actor_name"],
                str(r["action"]),
                r["from_state"],
                r["to_state"],
                r["note"],
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ cards

    async def add_card(self, case_id: int, copy: CardCopy) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO case_cards (case_id, chat_id, message_id, thread_id) VALUES (?, ?, ?, ?)",
            (case_id, copy.chat_id, copy.message_id, copy.thread_id),
        )

    async def cards(self, case_id: int) -> list[CardCopy]:
        rows = await self.db.fetchall(
            "SELECT chat_id, message_id, thread_id FROM case_cards WHERE case_id = ? ORDER BY rowid", (case_id,)
        )
        return [CardCopy(int(r["chat_id"]), int(r["message_id"]), r["thread_id"]) for r in rows]

    async def case_for_card(self, chat_id: int, message_id: int) -> int | None:
        value = await self.db.fetchval(
            "SELECT case_id FROM case_cards WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )
        return None if value is None else int(value)

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
        row = await self.db.fetchone(
            "SELECT * FROM case_pending_replies WHERE user_id = ? AND chat_id = ?", (user_id, chat_id)
        )
        if row is None:
            return None
        return PendingReply(
            int(row["user_id"]),
            int(row["chat_id"]),
            int(row["case_id"]),
            int(row["created_at"]),
            int(row["expires_at"]),
        )

    async def clear_pending(self, user_id: int, chat_id: int) -> bool:
        changed = await self.db.execute(
            "DELETE FROM case_pending_replies WHERE user_id = ? AND chat_id = ?", (user_id, chat_id)
        )
        return changed > 0

    async def take_expired_pending(self, now: int) -> list[PendingReply]:
        async with self.db.transaction():
            rows = await self.db.fetchall(
                "SELECT * FROM case_pending_replies WHERE expires_at <= ? ORDER BY created_at", (now,)
            )
            await self.db.execute("DELETE FROM case_pending_replies WHERE expires_at <= ?", (now,))
        return [
            PendingReply(
                int(r["user_id"]), int(r["chat_id"]), int(r["case_id"]), int(r["created_at"]), int(r["expires_at"])
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ the thread, for cards

    async def thread_lines(self, chat_id: int, thread_key: str, *, limit: int) -> list[ThreadLine]:
        rows = await self.db.fetchall(
            """
            SELECT m.message_id, m.user_id, m.text, m.date, m.sentiment_label, m.sentiment_score,
                   COALESCE(NULLIF(mb.first_name, ''), mb.username, CAST(m.user_id AS TEXT)) AS name
            FROM messages AS m
            LEFT JOIN members AS mb ON mb.chat_id = m.chat_id AND mb.user_id = m.user_id
            WHERE m.chat_id = ? AND m.thread_key = ? AND m.text != ''
            ORDER BY m.date DESC, m.message_id DESC
            LIMIT ?
            """,
            (chat_id, thread_key, limit),
        )
        return [
            ThreadLine(
                int(r["message_id"]),
                int(r["user_id"]),
                str(r["name"]),
                str(r["text"]),
                int(r["date"]),
                r["sentiment_label"],
                r["sentiment_score"],
            )
            for r in reversed(rows)
        ]

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
        row = await self.db.fetchone(
            "SELECT resolved, dismissed FROM escalation_feedback WHERE chat_id = ?", (chat_id,)
        )
        if row is None:
            return Feedback(chat_id, 0, 0)
        return Feedback(chat_id, int(row["resolved"]), int(row["dismissed"]))

    async def all_feedback(self) -> list[Feedback]:
        rows = await self.db.fetchall("SELECT chat_id, resolved, dismissed FROM escalation_feedback ORDER BY chat_id")
        return [Feedback(int(r["chat_id"]), int(r["resolved"]), int(r["dismissed"])) for r in rows]

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
        rows = await self.db.fetchall(sql + " ORDER BY at, id", params)
        return [
            TuningChange(
                int(r["chat_id"]),
                int(r["at"]),
                r["actor_id"],
                r["case_id"],
                str(r["setting"]),
                str(r["old_value"]),
                str(r["new_value"]),
                str(r["reason"]),
            )
            for r in rows
        ]
