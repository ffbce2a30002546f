"""What a button on a bot message does, in plain types, and the one port through which services get its
callback data.

Services decide which buttons a card carries; only the front-end knows how a press travels back (typed
aiogram ``CallbackData`` in :mod:`handlers.callbacks`). Actions are ``StrEnum``s so a handler can never
see an action its service does not know.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class CaseAct(StrEnum):
    """A case card's buttons."""

    TAKE = "take"
    REPLY = "reply"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    SNOOZE = "snooze"


class ModAct(StrEnum):
    """A moderation card's buttons (short: they travel in callback data)."""

    DELETE = "del"
    DELETE_LAST = "dall"
    WARN = "warn"
    MUTE_HOUR = "m1h"
    MUTE_DAY = "m1d"
    MUTE_WEEK = "m1w"
    BAN = "ban"
    UNMUTE = "unmute"
    UNBAN = "unban"
    SPAM = "spam"
    NOT_SPAM = "ham"


class FeedAct(StrEnum):
    """A feed draft card's buttons."""

    APPROVE = "approve"
    EDIT = "edit"
    SKIP = "skip"


class PostAct(StrEnum):
    """Buttons on a post's card and on its receipts."""

    SHOW = "show"
    PREVIEW = "preview"
    TEXT = "text"
    TIME = "time"
    PAUSE = "pause"
    RESUME = "resume"
    NOW = "now"
    CANCEL = "cancel"
    POSTED = "posted"
    OK = "ok"


class ButtonPort(Protocol):
    """Packs the callback data of every button a service puts on a message (at most 64 bytes each)."""

    def case(self, action: CaseAct, case_id: int) -> str: ...

    def moderation(self, action: ModAct, subject_id: int) -> str: ...

    def gate(self, chat_id: int) -> str: ...

    def feed(self, action: FeedAct, item_id: int) -> str: ...

    def post(self, action: PostAct, post_id: int) -> str: ...

    def faq_pick(self, entry_id: int, question_message_id: int) -> str: ...

    def faq_vote(self, answer_id: int, up: bool) -> str: ...

    def faq_save(self, chat_id: int, question_message_id: int, answer_message_id: int) -> str: ...


__all__ = ["ButtonPort", "CaseAct", "FeedAct", "ModAct", "PostAct"]
