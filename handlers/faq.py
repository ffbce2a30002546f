"""FAQ in Telegram: /faq_add (guided dialog), /faq_list, /faq_edit, /faq_del, /faq_mode, /unanswered,
and the buttons: "Did you mean" picks, 👍/👎 votes, "save as FAQ", edit and delete.

Thin: the logic is in bot.services.faq. Management commands and dialog steps carry a rights flag
(handlers/rights.py); buttons check ``RoleService.can_manage`` against their entry's community on every
press; votes and picks are open to members.
"""

from __future__ import annotations

import html
import logging
from dataclasses import replace
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain import Keyboard, Priority
from bot.services.community_settings import CommunitySettingsService
from bot.services.faq import GLOBAL, MODES, FaqService, StoredEntry
from bot.services.quotas import QuotaReached
from bot.services.roles import RoleService
from bot.telegram.outbox import Outbox
from handlers import rights
from handlers.callbacks import FaqEdit, FaqGroup, FaqPick, FaqSave, FaqVote
from handlers.convert import GROUP_ANONYMOUS_BOT_ID, GROUP_TYPES
from handlers.faq_ui import (
    cut,
    delete_keyboard,
    edit_keyboard,
    entries_text,
    entry_card,
    pick_text,
    quota_text,
    try_again_text,
    unanswered_view,
)
from handlers.replies import toast
from handlers.settings_reply import refusal_text

log = logging.getLogger(__name__)


class FaqDialog(StatesGroup):
    questions = State()
    answer = State()
    add_questions = State()
    new_answer = State()


async def _dialog_of(query: CallbackQuery, state: FSMContext, bot: Bot) -> FSMContext:
    """Where a dialog begun by a button press lives. A button press names the real admin, but an anonymous
    admin's next message comes from "GroupAnonymousBot" as the group: their dialog must be under that key
    (this chat's, so the anonymous admins of another group never see it), or their answer would be lost."""
    msg = query.message
    if msg is None or msg.chat.type not in GROUP_TYPES:
        return state
    try:
        member = await bot.get_chat_member(msg.chat.id, query.from_user.id)
    except Exception as exc:  # the API may refuse; the dialog stays the presser's own
        log.info("faq: could not tell whether %s posts anonymously in %s: %s", query.from_user.id, msg.chat.id, exc)
        return state
    if getattr(member, "is_anonymous", False) is True:
        return FSMContext(storage=state.storage, key=replace(state.key, user_id=GROUP_ANONYMOUS_BOT_ID))
    return state


def _topic(message: Message | None) -> int | None:
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


async def _reply(outbox: Outbox, message: Message, text: str, *, keyboard: Keyboard | None = None) -> None:
    delivery = await outbox.send_message(
        message.chat.id,
        text,
        thread_id=_topic(message),
        reply_to=message.message_id,
        keyboard=keyboard,
        priority=Priority.REPLY,
    )
    if not delivery.ok:
        log.warning("faq: could not reply in %s: %s", message.chat.id, delivery.error)


async def _prompt(outbox: Outbox, msg: Message, text: str) -> None:
    """The next step of a dialog begun by a button, in the button's chat and topic."""
    await outbox.send_message(msg.chat.id, text, thread_id=_topic(msg), priority=Priority.REPLY)


async def _begin(state: FSMContext, step: State, **data: Any) -> None:
    await state.set_state(step)
    await state.update_data(**data)


def _entry_id(command: CommandObject) -> int | None:
    arg = (command.args or "").strip().lstrip("#")
    # ASCII digits only ("²".isdigit() is True, int("²") fails) and within SQLite's 64-bit integers.
    return int(arg) if arg.isascii() and arg.isdigit() and len(arg) <= 18 else None


async def _own_entry(
    faq: FaqService, chat_id: int, entry_id: int, roles: RoleService, user_id: int
) -> StoredEntry | None:
    """An entry this chat may change: its own, or a global one for the configured managers."""
    return await faq.entry_of(chat_id, entry_id, global_too=await roles.can_manage(None, user_id))


async def _entry_for_command(
    message: Message, command: CommandObject, faq: FaqService, roles: RoleService, outbox: Outbox, usage: str
) -> StoredEntry | None:
    """The entry `/faq_edit ID` or `/faq_del ID` names; None once the user is told why."""
    entry_id = _entry_id(command)
    if entry_id is None:
        await _reply(outbox, message, usage)
        return None
    assert message.from_user is not None
    entry = await _own_entry(faq, message.chat.id, entry_id, roles, message.from_user.id)
    if entry is None:
        await _reply(outbox, message, _("There is no FAQ #{id} in this chat.").format(id=entry_id))
    return entry


def build_router() -> Router:
    router = Router(name="faq")
    group = F.chat.type.in_(GROUP_TYPES)

    # --- /faq_add: questions → /next → answer ----------------------------------------------

    @router.message(Command("faq_add"), group, flags=rights.FAQ)
    async def faq_add(message: Message, state: FSMContext, faq: FaqService, outbox: Outbox) -> None:
        await state.clear()
        if await faq.entries_left(message.chat.id) == 0:
            await _reply(outbox, message, quota_text(faq))
            return
        first: list[str] = []
        replied = message.reply_to_message
        if (
            replied is not None
            and (replied.text or replied.caption)
            and replied.message_id != message.message_thread_id
        ):
            first = [" ".join((replied.text or replied.caption or "").split())]
        await state.set_state(FaqDialog.questions)
        await state.update_data(questions=first)
        if first:
            text = _(
                "New FAQ entry for: «{q}».\nSend other phrasings of the question (one per line), "
                "or /next to write the answer. /cancel stops."
            ).format(q=html.escape(first[0]))
        else:
            text = _(
                "New FAQ entry. Send the question; several phrasings go one per line. "
                "Then /next to write the answer. /cancel stops."
            )
        await _reply(outbox, message, text)

    @router.message(Command("cancel"), group, StateFilter(FaqDialog))
    async def cancel(message: Message, state: FSMContext, outbox: Outbox) -> None:
        await state.clear()
        await _reply(outbox, message, _("Cancelled; nothing was changed."))

    @router.message(Command("next"), group, FaqDialog.questions, flags=rights.FAQ_STEP)
    async def to_answer(message: Message, state: FSMContext, outbox: Outbox) -> None:
        questions = (await state.get_data()).get("questions") or []
        if not questions:
            await _reply(outbox, message, _("Send at least one question first."))
            return
        await state.set_state(FaqDialog.answer)
        await _reply(
            outbox,
            message,
            _("Now send the answer ({n} phrasings so far). Formatting and links are kept.").format(n=len(questions)),
        )

    @router.message(group, FaqDialog.questions, F.text, flags=rights.FAQ_STEP)
    async def got_questions(message: Message, state: FSMContext, outbox: Outbox) -> None:
        data = await state.get_data()
        questions: list[str] = list(data.get("questions") or [])
        for line in (message.text or "").splitlines():
            line = " ".join(line.split())
            if line and line not in questions and not line.startswith("/"):
                questions.append(line[:500])
        await state.update_data(questions=questions[:50])
        await _reply(
            outbox,
            message,
            _("Got {n} phrasings. Send more, or /next to write the answer.").format(n=len(questions[:50])),
        )

    @router.message(group, FaqDialog.answer, F.text, flags=rights.FAQ_STEP)
    async def got_answer(message: Message, state: FSMContext, faq: FaqService, outbox: Outbox) -> None:
        data = await state.get_data()
        questions: list[str] = list(data.get("questions") or [])
        answer = message.html_text
        try:
            if data.get("unanswered"):
                entry = await faq.entry_from_unanswered(
                    message.chat.id,
                    list(data["unanswered"]),
                    answer,
                    created_by=message.from_user.id if message.from_user else None,
                )
            else:
                entry = await faq.add_entry(
                    message.chat.id, questions, answer, created_by=message.from_user.id if message.from_user else None
                )
        except QuotaReached:
            await state.clear()
            await _reply(outbox, message, quota_text(faq))
            return
        except (ValueError, KeyError) as exc:
            await _reply(outbox, message, try_again_text(exc))
            return
        except Exception:
            log.exception("faq: saving an entry failed")
            await _reply(
                outbox, message, _("Saving failed (see the log); your text is kept, send it again or /cancel.")
            )
            return
        await state.clear()
        await _reply(
            outbox,
            message,
            _(
                "Saved FAQ #{id} <code>{key}</code> with {n} phrasings. /faq_edit {id} adds phrasings or changes it."
            ).format(id=entry.id, key=html.escape(entry.key), n=len(entry.questions)),
        )

    @router.message(group, FaqDialog.add_questions, F.text, flags=rights.FAQ_STEP)
    async def got_more_questions(message: Message, state: FSMContext, faq: FaqService, outbox: Outbox) -> None:
        entry_id = int((await state.get_data()).get("entry_id", 0))
        lines = [ln for ln in (message.text or "").splitlines() if ln.strip()]
        try:
            added = await faq.add_questions(entry_id, lines)
        except KeyError:
            await state.clear()
            await _reply(outbox, message, _("That entry no longer exists."))
            return
        await state.clear()
        await _reply(outbox, message, _("Added {n} phrasings to FAQ #{id}.").format(n=added, id=entry_id))

    @router.message(group, FaqDialog.new_answer, F.text, flags=rights.FAQ_STEP)
    async def got_new_answer(message: Message, state: FSMContext, faq: FaqService, outbox: Outbox) -> None:
        entry_id = int((await state.get_data()).get("entry_id", 0))
        try:
            await faq.set_answer(entry_id, message.html_text)
        except KeyError:
            await state.clear()
            await _reply(outbox, message, _("That entry no longer exists."))
            return
        except ValueError as exc:
            await _reply(outbox, message, try_again_text(exc))
            return
        await state.clear()
        await _reply(outbox, message, _("FAQ #{id} has a new answer.").format(id=entry_id))

    # --- /faq_list, /faq_edit, /faq_del, /faq_mode ----------------------------------------

    @router.message(Command("faq_list"), group, flags=rights.FAQ)
    async def faq_list(message: Message, faq: FaqService, outbox: Outbox) -> None:
        entries = await faq.entries_with_votes(message.chat.id)
        if not entries:
            await _reply(
                outbox,
                message,
                _(
                    "No FAQ entries yet. Add one with /faq_add, or import a file "
                    "(steward faq import FILE --chat {chat})."
                ).format(chat=message.chat.id),
            )
            return
        await _reply(outbox, message, entries_text(entries))

    @router.message(Command("faq_edit"), group, flags=rights.FAQ)
    async def faq_edit(
        message: Message, command: CommandObject, faq: FaqService, roles: RoleService, outbox: Outbox
    ) -> None:
        usage = _("Usage: /faq_edit ID (the number from /faq_list).")
        entry = await _entry_for_command(message, command, faq, roles, outbox, usage)
        if entry is not None:
            await _reply(outbox, message, entry_card(entry), keyboard=edit_keyboard(entry))

    @router.message(Command("faq_del"), group, flags=rights.FAQ)
    async def faq_del(
        message: Message, command: CommandObject, faq: FaqService, roles: RoleService, outbox: Outbox
    ) -> None:
        usage = _("Usage: /faq_del ID (the number from /faq_list).")
        entry = await _entry_for_command(message, command, faq, roles, outbox, usage)
        if entry is None:
            return
        await _reply(
            outbox, message, _("Delete this entry?") + "\n\n" + entry_card(entry), keyboard=delete_keyboard(entry)
        )

    @router.message(Command("faq_mode"), group, flags=rights.FAQ)
    async def faq_mode(
        message: Message,
        command: CommandObject,
        faq: FaqService,
        community_settings: CommunitySettingsService,
        outbox: Outbox,
    ) -> None:
        mode = (command.args or "").strip().lower()
        if mode not in MODES:
            community = await community_settings.get(message.chat.id)
            current = community.settings.get("faq.mode", faq.settings.mode) if community else faq.settings.mode
            await _reply(
                outbox,
                message,
                _(
                    "FAQ mode here: <b>{mode}</b>. Change it with /faq_mode off, "
                    "/faq_mode mention (only when I am mentioned or replied to) or "
                    "/faq_mode auto (every question)."
                ).format(mode=html.escape(str(current))),
            )
            return
        changed = await community_settings.set(message.chat.id, "faq.mode", mode)
        if not changed.ok:
            await _reply(outbox, message, refusal_text(changed))
            return
        await _reply(outbox, message, _("FAQ mode is now <b>{mode}</b>.").format(mode=mode))

    @router.message(Command("faq_thresholds"), group, flags=rights.FAQ)
    async def faq_thresholds(
        message: Message,
        command: CommandObject,
        faq: FaqService,
        community_settings: CommunitySettingsService,
        outbox: Outbox,
    ) -> None:
        args = (command.args or "").split()
        keys = ("faq.answer_threshold", "faq.suggest_threshold", "faq.margin")
        changes: dict[str, object] = {}
        if args == ["reset"]:
            changes = dict.fromkeys(keys)
        elif args:
            try:
                values = [float(a.replace(",", ".")) for a in args[:3]]
            except ValueError:
                values = []
            changes = dict(zip(keys, values, strict=False))
            if len(values) < 2 or not community_settings.check(changes).ok:
                await _reply(
                    outbox,
                    message,
                    _(
                        "Usage: /faq_thresholds ANSWER SUGGEST [MARGIN], numbers from 0 to 1 "
                        "with SUGGEST ≤ ANSWER (for example /faq_thresholds 0.9 0.87 0.01), "
                        "or /faq_thresholds reset."
                    ),
                )
                return
        community = (
            (await community_settings.change(message.chat.id, changes)).community
            if changes
            else await community_settings.get(message.chat.id)
        )
        s = faq.settings
        own = community.settings if community else {}
        current = [
            own[k] if own.get(k) is not None else d
            for k, d in zip(keys, (s.answer_threshold, s.suggest_threshold, s.margin), strict=True)
        ]
        await _reply(
            outbox,
            message,
            _("FAQ thresholds here: answer ≥ {a}, suggest ≥ {s}, margin ≥ {m}.").format(
                a=current[0], s=current[1], m=current[2]
            ),
        )

    # --- /unanswered ----------------------------------------------------------------------

    @router.message(Command("unanswered"), group, flags=rights.FAQ)
    async def unanswered(message: Message, faq: FaqService, outbox: Outbox) -> None:
        groups = await faq.unanswered_groups(message.chat.id)
        if not groups:
            await _reply(outbox, message, _("No unanswered questions recorded."))
            return
        text, keyboard = unanswered_view(groups)
        await _reply(outbox, message, text, keyboard=keyboard)

    @router.message(
        Command("faq_add", "faq_list", "faq_edit", "faq_del", "faq_mode", "faq_thresholds", "unanswered"),
        F.chat.type == "private",
    )
    async def in_private(message: Message, outbox: Outbox) -> None:
        await outbox.send_message(
            message.chat.id,
            _(
                "FAQ commands work in the group whose FAQ you manage: send them there. "
                "To load many entries at once, use: steward faq import FILE --chat ID"
            ),
            priority=Priority.REPLY,
        )

    # --- buttons --------------------------------------------------------------------------

    @router.callback_query(FaqPick.filter())
    async def on_pick(query: CallbackQuery, callback_data: FaqPick, faq: FaqService, outbox: Outbox) -> None:
        msg = query.message
        if not isinstance(msg, Message):
            await toast(outbox, query, _("This button has expired."))
            return
        status = await faq.pick(
            chat_id=msg.chat.id,
            entry_id=callback_data.entry_id,
            question_message_id=callback_data.question,
            suggestion_message_id=msg.message_id,
            thread_id=_topic(msg),
            user_id=query.from_user.id,
            language_code=query.from_user.language_code,
        )
        await toast(outbox, query, pick_text(status))

    @router.callback_query(FaqVote.filter())
    async def on_vote(query: CallbackQuery, callback_data: FaqVote, faq: FaqService, outbox: Outbox) -> None:
        chat_id = query.message.chat.id if query.message is not None else None
        counts = await faq.vote(callback_data.answer_id, query.from_user.id, callback_data.up, chat_id=chat_id)
        if counts is None:
            await toast(outbox, query, _("This answer is no longer on record."))
            return
        await toast(
            outbox, query, _("Thanks for the feedback! 👍 {up} · 👎 {down}").format(up=counts[0], down=counts[1])
        )

    @router.callback_query(FaqSave.filter())
    async def on_save(
        query: CallbackQuery, callback_data: FaqSave, faq: FaqService, roles: RoleService, outbox: Outbox
    ) -> None:
        if not await roles.can_manage(callback_data.chat_id, query.from_user.id):
            await toast(
                outbox, query, _("Only the managers and the admins of that chat can change its FAQ."), alert=True
            )
            return
        try:
            entry = await faq.save_from_reply(
                callback_data.chat_id, callback_data.question, callback_data.answer, user_id=query.from_user.id
            )
        except QuotaReached:
            await toast(outbox, query, quota_text(faq), alert=True)
            return
        except (KeyError, ValueError) as exc:
            await toast(outbox, query, _("Could not save it: {why}").format(why=str(exc).strip("'\"")), alert=True)
            return
        await toast(outbox, query, _("Saved as FAQ #{id}.").format(id=entry.id))
        if isinstance(query.message, Message):
            await outbox.edit_keyboard(query.message.chat.id, query.message.message_id, None)

    @router.callback_query(FaqEdit.filter())
    async def on_edit(
        query: CallbackQuery,
        callback_data: FaqEdit,
        state: FSMContext,
        faq: FaqService,
        roles: RoleService,
        outbox: Outbox,
        bot: Bot,
    ) -> None:
        msg = await _managed_button_chat(query, roles, outbox)
        if msg is None:
            return
        entry = await _own_entry(faq, msg.chat.id, callback_data.entry_id, roles, query.from_user.id)
        if entry is None:
            await toast(outbox, query, _("That entry no longer exists."))
            return
        action = callback_data.action
        if action in ("add", "answer"):
            state = await _dialog_of(query, state, bot)
        if action == "add":
            await _begin(state, FaqDialog.add_questions, entry_id=entry.id)
            await toast(outbox, query, "")
            text = _("Send the new phrasings for FAQ #{id}, one per line (/cancel stops).").format(id=entry.id)
            await _prompt(outbox, msg, text)
        elif action == "answer":
            await _begin(state, FaqDialog.new_answer, entry_id=entry.id)
            await toast(outbox, query, "")
            await _prompt(outbox, msg, _("Send the new answer for FAQ #{id} (/cancel stops).").format(id=entry.id))
        elif action == "toggle":
            updated = await faq.set_enabled(entry.id, not entry.enabled)
            await toast(outbox, query, _("Turned on.") if not entry.enabled else _("Turned off."))
            if updated is not None:
                await outbox.edit_text(
                    msg.chat.id, msg.message_id, entry_card(updated), keyboard=edit_keyboard(updated)
                )
        elif action == "delete":
            await toast(outbox, query, "")
            await outbox.edit_keyboard(msg.chat.id, msg.message_id, delete_keyboard(entry))
        elif action == "really_delete":
            await faq.delete(entry.id)
            await toast(outbox, query, _("Deleted."))
            await outbox.edit_text(
                msg.chat.id,
                msg.message_id,
                _("FAQ #{id} <code>{key}</code> was deleted.").format(id=entry.id, key=html.escape(entry.key)),
            )
        elif action == "keep":
            await toast(outbox, query, _("Kept."))
            await outbox.edit_keyboard(msg.chat.id, msg.message_id, None)
        else:
            await toast(outbox, query, _("This button has expired."))

    @router.callback_query(FaqGroup.filter())
    async def on_group(
        query: CallbackQuery,
        callback_data: FaqGroup,
        state: FSMContext,
        faq: FaqService,
        roles: RoleService,
        outbox: Outbox,
        bot: Bot,
    ) -> None:
        msg = await _managed_button_chat(query, roles, outbox)
        if msg is None:
            return
        group_items = await faq.unanswered_group(msg.chat.id, callback_data.unanswered_id)
        if group_items is None:
            await toast(outbox, query, _("Those questions are no longer open."))
            return
        state = await _dialog_of(query, state, bot)
        questions, ids = [u.text for u in group_items], [u.id for u in group_items]
        await _begin(state, FaqDialog.answer, questions=questions, unanswered=ids)
        await toast(outbox, query, "")
        sample = "\n".join(f"• {html.escape(cut(u.text, 120))}" for u in group_items[:5])
        text = _("New FAQ entry from {n} unanswered questions:\n{sample}\n\nNow send the answer (/cancel stops).")
        await _prompt(outbox, msg, text.format(n=len(group_items), sample=sample))

    return router


async def _managed_button_chat(query: CallbackQuery, roles: RoleService, outbox: Outbox) -> Message | None:
    """The message under an entry button, when its presser may manage that chat's FAQ; else refused."""
    msg = query.message
    if isinstance(msg, Message) and await roles.can_manage(msg.chat.id, query.from_user.id):
        return msg
    await toast(outbox, query, _("Only the managers and the admins of this chat can change the FAQ."), alert=True)
    return None


__all__ = ["GLOBAL", "build_router"]
