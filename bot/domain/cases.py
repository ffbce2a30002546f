"""Escalation: cases, their history, card copies, pending replies, feedback, tuning, watched threads."""

from __future__ import annotations

from dataclasses import dataclass

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
