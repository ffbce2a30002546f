"""The FAQ's buttons (typed callback data, at most 64 bytes) and the texts of its cards and lists."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _

from bot.domain import Button, Keyboard
from bot.services.faq import FaqService, StoredEntry, Unanswered
from handlers.callbacks import FaqEdit, FaqEditAct, FaqGroup

MAX_LIST = 60  # entries /faq_list shows
MAX_GROUPS = 10  # groups of unanswered questions /unanswered shows


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


def entries_text(entries: list[tuple[StoredEntry, tuple[int, int] | None]]) -> str:
    """/faq_list: the first MAX_LIST entries, each with its votes."""
    lines = [entry_line(e, votes) for e, votes in entries[:MAX_LIST]]
    if len(entries) > MAX_LIST:
        lines.append(_("… and {n} more (steward faq export shows them all).").format(n=len(entries) - MAX_LIST))
    return _("FAQ entries ({n}):").format(n=len(entries)) + "\n" + "\n".join(lines)


def entry_card(entry: StoredEntry) -> str:
    questions = "\n".join(f"• {html.escape(q)}" for q in entry.questions)
    state = _("on") if entry.enabled else _("off")
    return _(
        "FAQ #{id} <code>{key}</code> ({state})\n\n<b>Questions</b>\n{questions}\n\n<b>Answer</b>\n{answer}"
    ).format(id=entry.id, key=html.escape(entry.key), state=state, questions=questions, answer=entry.answer)


def edit_keyboard(entry: StoredEntry) -> Keyboard:
    return [
        [
            Button(_("➕ Phrasing"), callback_data=FaqEdit(action=FaqEditAct.ADD, entry_id=entry.id).pack()),
            Button(_("✏️ Answer"), callback_data=FaqEdit(action=FaqEditAct.ANSWER, entry_id=entry.id).pack()),
        ],
        [
            Button(
                _("Turn off") if entry.enabled else _("Turn on"),
                callback_data=FaqEdit(action=FaqEditAct.TOGGLE, entry_id=entry.id).pack(),
            ),
            Button(_("🗑 Delete"), callback_data=FaqEdit(action=FaqEditAct.DELETE, entry_id=entry.id).pack()),
        ],
    ]


def delete_keyboard(entry: StoredEntry) -> Keyboard:
    """Asks once more before an entry is deleted."""
    return [
        [
            Button(_("🗑 Delete"), callback_data=FaqEdit(action=FaqEditAct.REALLY_DELETE, entry_id=entry.id).pack()),
            Button(_("Keep it"), callback_data=FaqEdit(action=FaqEditAct.KEEP, entry_id=entry.id).pack()),
        ]
    ]


def unanswered_view(groups: list[list[Unanswered]]) -> tuple[str, Keyboard]:
    """/unanswered: the most asked groups, a few questions of each, and a button to answer each group."""
    lines, keyboard = [], []
    for n, g in enumerate(groups[:MAX_GROUPS], start=1):
        sample = "\n".join(f"   • {html.escape(cut(u.text, 120))}" for u in g[:3])
        more = _(" (+{n} similar)").format(n=len(g) - 3) if len(g) > 3 else ""
        lines.append(f"<b>{n}.</b> " + _("asked {n} times").format(n=len(g)) + more + "\n" + sample)
        keyboard.append(
            [Button(_("➕ FAQ from group {n}").format(n=n), callback_data=FaqGroup(unanswered_id=g[0].id).pack())]
        )
    return _("Unanswered questions, most asked first:") + "\n\n" + "\n\n".join(lines), keyboard


def pick_text(status: str) -> str:
    """The toast after a "Did you mean" press (FaqService.pick's status)."""
    texts = {
        "posted": "",
        "already": _("That question has been answered already."),
        "gone": _("That entry is no longer available."),
        "failed": _("I could not post the answer; please try again."),
    }
    return texts.get(status, "")


def try_again_text(exc: Exception) -> str:
    return _("That did not work: {why}. Send the answer again, or /cancel.").format(
        why=html.escape(str(exc).strip("'\""))
    )


def quota_text(faq: FaqService) -> str:
    return _("This community has reached its limit of {n} FAQ entries; delete some with /faq_del first.").format(
        n=faq.max_entries
    )


def cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
