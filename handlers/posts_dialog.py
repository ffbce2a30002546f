"""The guided /newpost dialog in a private chat: community, topic, content, buttons, options, time, confirm."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.services.posts import PostError, PostService
from bot.services.schedule import ScheduleError
from bot.telegram.outbox import Outbox
from handlers import posts_ui as ui
from handlers import rights
from handlers.callbacks import DialogButton


def register_dialog(router: Router) -> None:
    @router.message(Command("cancel"), ui.PRIVATE, StateFilter(ui.PostDialog), flags=rights.POSTS)
    async def cancel_dialog(message: Message, outbox: Outbox, state: FSMContext) -> None:
        await state.clear()
        await ui.reply_in(outbox, message, _("Stopped. Nothing was changed."))

    @router.message(Command("newpost"), ui.PRIVATE, flags=rights.POSTS)
    async def new_post(
        message: Message,
        outbox: Outbox,
        state: FSMContext,
        posts: PostService,
        settings: Settings,
    ) -> None:
        await state.clear()
        groups = await posts.destinations(exclude=settings.managers.chat_id)
        if not groups:
            await ui.reply_in(outbox, message, _("I am not in any community yet. Add me to a group first."))
            return
        rows = [
            [
                InlineKeyboardButton(
                    text=c.title[:60] or str(c.chat_id),
                    callback_data=DialogButton(action="chat", value=c.chat_id).pack(),
                )
            ]
            for c in groups[:30]
        ]
        await state.set_state(ui.PostDialog.chat)
        await ui.reply_in(
            outbox,
            message,
            _("New post. Which community is it for?"),
            markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )

    @router.callback_query(
        DialogButton.filter(F.action == "chat"), StateFilter(ui.PostDialog.chat), flags=rights.MANAGERS_BUTTON
    )
    async def chose_chat(
        query: CallbackQuery,
        outbox: Outbox,
        callback_data: DialogButton,
        state: FSMContext,
        posts: PostService,
    ) -> None:
        community = await posts.community(callback_data.value)
        if community is None:
            await query.answer(_("I do not know that community any more."), show_alert=True)
            return
        await state.update_data(chat_id=community.chat_id, title=community.title, tz=community.timezone)
        await query.answer()
        if community.is_forum:
            await state.set_state(ui.PostDialog.topic)
            await ui.say_in(
                outbox,
                query,
                _(
                    "{title} is a forum. Send the topic number to post in (the number in the "
                    "topic's link, t.me/c/…/<b>123</b>), or /skip for the General topic."
                ).format(title=html.escape(community.title)),
            )
        else:
            await state.set_state(ui.PostDialog.content)
            await ui.say_in(outbox, query, ui.content_prompt())

    @router.message(ui.PostDialog.topic, ui.PRIVATE, ui.ANSWER, flags=rights.POSTS)
    async def got_topic(message: Message, outbox: Outbox, state: FSMContext) -> None:
        text = (message.text or "").strip()
        if text == "/skip":
            await state.update_data(thread_id=None)
        elif text.isascii() and text.isdigit() and 0 < int(text) < 2**31:
            await state.update_data(thread_id=int(text))
        else:
            await ui.reply_in(outbox, message, _("Please send the topic number (digits only), or /skip."))
            return
        await state.set_state(ui.PostDialog.content)
        await ui.reply_in(outbox, message, ui.content_prompt())

    @router.message(ui.PostDialog.content, ui.PRIVATE, ui.ANSWER, flags=rights.POSTS)
    async def got_content(message: Message, outbox: Outbox, state: FSMContext) -> None:
        content = ui.content_of(message)
        if content is None:
            await ui.reply_in(
                outbox, message, _("I can schedule text, a photo or a document. Please send one of those.")
            )
            return
        await state.update_data(**content)
        await state.set_state(ui.PostDialog.buttons)
        await ui.reply_in(
            outbox,
            message,
            _(
                "Buttons under the post? Send one per line as <code>Text | https://link</code> "
                "(put several on one row with <code>;;</code> between them), or /skip."
            ),
        )

    @router.message(ui.PostDialog.buttons, ui.PRIVATE, ui.ANSWER, flags=rights.POSTS)
    async def got_buttons(message: Message, outbox: Outbox, state: FSMContext) -> None:
        text = (message.text or "").strip()
        if text == "/skip":
            buttons: list[list[dict[str, str]]] = []
        else:
            parsed = ui.parse_buttons(text)
            if isinstance(parsed, str):
                await ui.reply_in(outbox, message, parsed)
                return
            buttons = parsed
        await state.update_data(buttons=buttons, pin=False, silent=False, protect=False, unpin=0)
        await state.set_state(ui.PostDialog.options)
        await ui.reply_in(
            outbox,
            message,
            _("Options (tap to switch), then Continue:"),
            markup=ui.options_markup(await state.get_data()),
        )

    @router.callback_query(
        DialogButton.filter(F.action.in_({"pin", "silent", "protect", "unpin", "next"})),
        StateFilter(ui.PostDialog.options),
        flags=rights.MANAGERS_BUTTON,
    )
    async def toggled(query: CallbackQuery, outbox: Outbox, callback_data: DialogButton, state: FSMContext) -> None:
        data = await state.get_data()
        if callback_data.action == "next":
            await query.answer()
            await state.set_state(ui.PostDialog.when)
            await ui.say_in(outbox, query, ui.when_prompt(data.get("tz", "UTC")))
            return
        if callback_data.action == "unpin":
            index = int(data.get("unpin", 0))
            data["unpin"] = (index + 1) % len(ui.UNPIN_CHOICES)
            if ui.UNPIN_CHOICES[data["unpin"]] is not None:
                data["pin"] = True
        else:
            data[callback_data.action] = not data.get(callback_data.action, False)
            if callback_data.action == "pin" and not data["pin"]:
                data["unpin"] = 0
        await state.update_data(**data)
        await query.answer()
        if isinstance(query.message, Message):
            await outbox.edit_keyboard(
                query.message.chat.id, query.message.message_id, ui.plain_keyboard(ui.options_markup(data))
            )

    @router.message(ui.PostDialog.when, ui.PRIVATE, ui.ANSWER, flags=rights.POSTS)
    async def got_when(message: Message, outbox: Outbox, state: FSMContext, posts: PostService) -> None:
        data = await state.get_data()
        try:
            post = await ui.post_from_data(posts, data, (message.text or "").strip(), message.from_user)
        except (PostError, ScheduleError) as exc:
            await ui.cannot_use(outbox, message, exc)
            return
        await state.update_data(when=(message.text or "").strip())
        await state.set_state(ui.PostDialog.confirm)
        await ui.preview_in(outbox, message, posts, post)
        await ui.reply_in(
            outbox,
            message,
            _("☝️ This is exactly how the post will look.") + "\n" + ui.describe_post(post, data.get("title", "")),
            markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(text=_("✅ Schedule"), callback_data=DialogButton(action="save").pack()),
                        InlineKeyboardButton(text=_("✖ Discard"), callback_data=DialogButton(action="drop").pack()),
                    ]
                ]
            ),
        )

    @router.callback_query(
        DialogButton.filter(F.action.in_({"save", "drop"})),
        StateFilter(ui.PostDialog.confirm),
        flags=rights.MANAGERS_BUTTON,
    )
    async def confirmed(
        query: CallbackQuery,
        outbox: Outbox,
        callback_data: DialogButton,
        state: FSMContext,
        posts: PostService,
    ) -> None:
        data = await state.get_data()
        await state.clear()
        if callback_data.action == "drop":
            await query.answer(_("Discarded."))
            await ui.say_in(outbox, query, _("Discarded. Nothing was scheduled."))
            return
        try:
            post = await ui.post_from_data(posts, data, str(data.get("when", "")), query.from_user)
            stored = await posts.create(post)
        except (PostError, ScheduleError) as exc:
            await query.answer()
            await ui.say_in(outbox, query, _("I cannot schedule it: {reason}").format(reason=html.escape(str(exc))))
            return
        await query.answer(_("Scheduled."))
        await ui.say_in(
            outbox,
            query,
            _("Scheduled as post #{id}. {summary}\nSee all with /posts.").format(
                id=stored.id, summary=ui.when_text(stored)
            ),
            markup=ui.card_markup(stored),
        )

    @router.callback_query(DialogButton.filter(), flags=rights.MANAGERS_BUTTON)
    async def ended(query: CallbackQuery) -> None:
        """A dialog button pressed when its step is over (or never began for this person)."""
        await query.answer(_("This dialog has ended; start again with /newpost."), show_alert=True)
