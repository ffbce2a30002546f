"""The FAQ's buttons (typed callback data, at most 64 bytes) and the texts of its cards and lists."""

from __future__ import annotations

import html

from aiogram.filters.callback_data import CallbackData
from aiogram.utils.i18n import gettext as _

from bot.domain import Button, Keyboard
from bot.services.faq import FaqService
from bot.storage.faq import StoredEntry


class FaqPick(CallbackData, prefix="fqp"):
    entry_id: int
    question: int  # the member's question message


class FaqVote(CallbackData, prefix="fqv"):
    answer_id: int
    up: bool


class FaqSave(CallbackData, prefix="fqs"):
    chat_id: int
    question: int
    answer: int


class FaqEdit(CallbackData, prefix="fqe"):
    action: str  # add | answer | toggle | delete | really_delete | keep
    entry_id: int


class FaqGroup(CallbackData, prefix="fqg"):
    unanswered_id: int


def pack(data: CallbackData) -> str:
    packed = data.pack()
    if len(packed.encode()) > 64:
        raise ValueError(f"callback data over 64 bytes: {packed!r}")
    return packed


class FaqCallbacks:
    """The service's :class:`bot.services.faq.Callbacks`, as typed aiogram CallbackData."""

    def pick(self, entry_id: int, question_message_id: int) -> str:
        return pack(FaqPick(entry_id=entry_id, question=question_message_id))

    def vote(self, answer_id: int, up: bool) -> str:
        return pack(FaqVote(answer_id=answer_id, up=up))

    def save(self, chat_id: int, question_message_id: int, answer_message_id: int) -> str:
        return pack(FaqSave(chat_id=chat_id, question=question_message_id, answer=answer_message_id))


def entry_line(entry: StoredEntry, votes: tuple[int, int] | None = None) -> str:
    first = html.escape(entry.questions[0]) if entry.questions else "—"
    extra = []
    if len(entry.questions) > 1:
        extra.append(_("{n} phrasings").format(n=len(entry.questions)))
    if entry.is_global:
        extra.append(_("global"))
    if not entry.enabled:
        extra.append(_("off"))
    if votes and (votes[0] or votes[1]):
        extra.append(f"👍{votes[0]} 👎{votes[1]}")
    tail = f" <i>({', '.join(extra)})</i>" if extra else ""
    return f"<b>#{entry.id}</b> <code>{html.escape(entry.key)}</code>: {first}{tail}"


def entry_card(entry: StoredEntry) -> str:
    questions = "\n".join(f"• {html.escape(q)}" for q in entry.questions)
    state = _("on") if entry.enabled else _("off")
    return _(
        "FAQ #{id} <code>{key}</code> ({state})\n\n<b>Questions</b>\n{questions}\n\n<b>Answer</b>\n{answer}"
    ).format(id=entry.id, key=html.escape(entry.key), state=state, questions=questions, answer=entry.answer)


def edit_keyboard(entry: StoredEntry) -> Keyboard:
    return [
        [
            Button(_("➕ Phrasing"), callback_data=pack(FaqEdit(action="add", entry_id=entry.id))),
            Button(_("✏️ Answer"), callback_data=pack(FaqEdit(action="answer", entry_id=entry.id))),
        ],
        [
            Button(
                _("Turn off") if entry.enabled else _("Turn on"),
                callback_data=pack(FaqEdit(action="toggle", entry_id=entry.id)),
            ),
            Button(_("🗑 Delete"), callback_data=pack(FaqEdit(action="delete", entry_id=entry.id))),
        ],
    ]


def quota_text(faq: FaqService) -> str:
    return _("This community has reached its limit of {n} FAQ entries; delete some with /faq_del first.").format(
        n=faq.max_entries
    )


def cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
