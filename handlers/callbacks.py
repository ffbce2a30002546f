"""Every button's callback data, in one place: typed aiogram ``CallbackData`` with ``StrEnum`` actions.

Each packs as ``<prefix>:<version>:<fields…>``, at most 64 bytes (Telegram's limit, checked on packing).
When the format of any button changes, bump :data:`VERSION`: buttons on old messages then match no
handler, and :mod:`handlers.fallback` tells the presser politely that the card is from an older version.
Services never see this module; they get :data:`BUTTONS` through :class:`bot.domain.buttons.ButtonPort`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

from aiogram.filters.callback_data import CallbackData

from bot.domain.buttons import CaseAct, FeedAct, ModAct, PostAct

VERSION: Final = "2"  # "1" was the first wave's unversioned "<prefix>:<fields>"
MAX_BYTES: Final = 64


class Versioned(CallbackData, prefix="v"):
    """The base of every button: the version travels first, so an old button fails to parse."""

    v: Literal["2"] = VERSION

    def pack(self) -> str:
        packed = super().pack()
        if len(packed.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {packed!r}")
        return packed


class FaqEditAct(StrEnum):
    ADD = "add"
    ANSWER = "answer"
    TOGGLE = "toggle"
    DELETE = "delete"
    REALLY_DELETE = "really_delete"
    KEEP = "keep"


class DialogAct(StrEnum):
    CHAT = "chat"
    PIN = "pin"
    SILENT = "silent"
    PROTECT = "protect"
    UNPIN = "unpin"
    NEXT = "next"
    SAVE = "save"
    DROP = "drop"


class CaseButton(Versioned, prefix="case"):
    """A case card's buttons."""

    action: CaseAct
    case_id: int


class ModButton(Versioned, prefix="mod"):
    """A moderation card's buttons."""

    action: ModAct
    subject_id: int


class GateButton(Versioned, prefix="gate"):
    """The join check's button; only the requester can pass it."""

    chat_id: int


class FeedButton(Versioned, prefix="fd"):
    """A feed draft card's buttons."""

    action: FeedAct
    id: int


class PostButton(Versioned, prefix="post"):
    """Buttons on receipts: they leave the receipt as it was and answer below it."""

    action: PostAct
    id: int


class PostCardButton(Versioned, prefix="pc"):
    """The same actions on a post's own card (/post N): the card is edited in place."""

    action: PostAct
    id: int


class DialogButton(Versioned, prefix="np"):
    """Buttons inside the new-post dialog: chat choice, option toggles, confirm."""

    action: DialogAct
    value: int = 0


class FaqPick(Versioned, prefix="fqp"):
    entry_id: int
    question: int  # the member's question message


class FaqVote(Versioned, prefix="fqv"):
    answer_id: int
    up: bool


class FaqSave(Versioned, prefix="fqs"):
    chat_id: int
    question: int
    answer: int


class FaqEdit(Versioned, prefix="fqe"):
    action: FaqEditAct
    entry_id: int


class FaqGroup(Versioned, prefix="fqg"):
    unanswered_id: int


class TelegramButtons:
    """The services' :class:`~bot.domain.buttons.ButtonPort`, as the typed callback data above."""

    def case(self, action: CaseAct, case_id: int) -> str:
        return CaseButton(action=action, case_id=case_id).pack()

    def moderation(self, action: ModAct, subject_id: int) -> str:
        return ModButton(action=action, subject_id=subject_id).pack()

    def gate(self, chat_id: int) -> str:
        return GateButton(chat_id=chat_id).pack()

    def feed(self, action: FeedAct, item_id: int) -> str:
        return FeedButton(action=action, id=item_id).pack()

    def post(self, action: PostAct, post_id: int) -> str:
        return PostButton(action=action, id=post_id).pack()

    def faq_pick(self, entry_id: int, question_message_id: int) -> str:
        return FaqPick(entry_id=entry_id, question=question_message_id).pack()

    def faq_vote(self, answer_id: int, up: bool) -> str:
        return FaqVote(answer_id=answer_id, up=up).pack()

    def faq_save(self, chat_id: int, question_message_id: int, answer_message_id: int) -> str:
        return FaqSave(chat_id=chat_id, question=question_message_id, answer=answer_message_id).pack()


BUTTONS: Final = TelegramButtons()


def is_current(data: str) -> bool:
    """Whether a button's data has this version's shape (``<prefix>:<VERSION>:…``)."""
    parts = data.split(":", 2)
    return len(parts) >= 2 and parts[1] == VERSION


__all__ = [
    "BUTTONS",
    "VERSION",
    "CaseButton",
    "DialogAct",
    "DialogButton",
    "FaqEdit",
    "FaqEditAct",
    "FaqGroup",
    "FaqPick",
    "FaqSave",
    "FaqVote",
    "FeedButton",
    "GateButton",
    "ModButton",
    "PostButton",
    "PostCardButton",
    "TelegramButtons",
    "is_current",
]
