"""Moderation: case subjects, the audit log, spam marks."""

from __future__ import annotations

from dataclasses import dataclass


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
