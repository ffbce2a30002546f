"""/posts, /post N and the post card's buttons (preview, edit text or time, pause, resume, send now,
cancel), the receipts' buttons, and /receipts. Managers only, checked on every call."""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services.posts import PostError, PostService
from bot.services.schedule import ScheduleError
from bot.telegram.outbox import Outbox
from handlers import posts_ui as ui
from handlers import rights
from handlers.callbacks import PostButton, PostCardButton


def register_cards(router: Router) -> None:
    @router.message(Command("receipts"), ui.PRIVATE, flags=rights.POSTS)
    async def receipts(message: Message, outbox: Outbox, command: CommandObject, posts: PostService) -> None:
        choice = (command.args or "").strip().lower()
        if choice in ("all", "failures"):
            await posts.set_receipts_mode(choice)
        elif choice:
            await ui.reply_in(outbox, message, _("Usage: /receipts all  or  /receipts failures"))
            return
        mode = await posts.receipts_mode()
        text = (
            _("Managers get a receipt for every post.")
            if mode == "all"
            else _("Managers get receipts only for posts that failed, were missed or are uncertain.")
        )
        await ui.reply_in(outbox, message, text + "\n" + _("Change with /receipts all or /receipts failures."))

    @router.message(Command("posts"), ui.PRIVATE, flags=rights.POSTS)
    async def list_posts(message: Message, outbox: Outbox, posts: PostService) -> None:
        items = await posts.open_posts(limit=50)
        if not items:
            await ui.reply_in(outbox, message, _("No scheduled posts. Create one with /newpost."))
            return
        lines = [_("Scheduled posts (open one with /post N):")]
        for item in items:
            post = item.post
            preview = ui.TAG.sub("", post.text).replace("\n", " ")[:50]
            lines.append(
                f"#{post.id} · {html.escape(item.title)} · "
                f"{html.escape(ui.when_text(post))} · {post.status} · {html.escape(preview)}"
            )
        await ui.reply_in(outbox, message, "\n".join(lines))

    @router.message(Command("post"), ui.PRIVATE, flags=rights.POSTS)
    async def show_post(
        message: Message,
        outbox: Outbox,
        command: CommandObject,
        posts: PostService,
    ) -> None:
        arg = (command.args or "").strip().lstrip("#")
        if not (arg.isascii() and arg.isdigit() and len(arg) <= 18):  # "²".isdigit(); SQLite's 64-bit ints
            await ui.reply_in(outbox, message, _("Usage: /post N (the number from /posts)."))
            return
        card = await posts.card(int(arg))
        if card is None:
            await ui.reply_in(outbox, message, _("There is no post #{id}.").format(id=arg))
            return
        await ui.reply_in(
            outbox, message, ui.describe_post(card.post, card.title, card.runs), markup=ui.card_markup(card.post)
        )

    @router.callback_query(PostButton.filter(), flags=rights.MANAGERS_BUTTON)
    @router.callback_query(PostCardButton.filter(), flags=rights.MANAGERS_BUTTON)
    async def post_action(
        query: CallbackQuery,
        outbox: Outbox,
        callback_data: PostButton | PostCardButton,
        state: FSMContext,
        posts: PostService,
    ) -> None:
        post = await posts.get(callback_data.id)
        if post is None:
            await query.answer(_("That post no longer exists."), show_alert=True)
            return
        action = callback_data.action
        done: str | None = None
        if action == "preview":
            await query.answer()
            await ui.preview_to_presser(outbox, query, posts, post)
            return
        if action in ("text", "time"):
            if query.message is None or query.message.chat.type != "private":
                await query.answer(
                    _("Edit posts in a private chat with me: /post {id}").format(id=post.id), show_alert=True
                )
                return
            await state.set_state(ui.PostDialog.edit_text if action == "text" else ui.PostDialog.edit_when)
            await state.update_data(edit_id=post.id)
            await query.answer()
            prompt = ui.content_prompt() if action == "text" else ui.when_prompt(post.timezone)
            await ui.say_in(outbox, query, prompt)
            return
        if action == "pause":
            done = _("Paused.") if await posts.pause(post.id) else _("It is not waiting, so it cannot be paused.")
        elif action == "resume":
            done = _("Resumed.") if await posts.resume(post.id) else _("It is not paused.")
        elif action == "cancel":
            done = _("Cancelled.") if await posts.cancel(post.id) else _("It can no longer be cancelled.")
        elif action in ("posted", "ok"):
            done = _("Noted: it was posted.") if await posts.confirm_posted(post.id) else _("Already resolved.")
        elif action == "now":
            await query.answer(_("Sending…"))
            run = await posts.send_now(post.id)
            if run is None:
                done = _("It cannot be sent now (it is being sent, was sent or was cancelled).")
            else:
                done = _("Sent.") if run.status == "sent" else _("Failed: {reason}").format(reason=run.error)
            await ui.say_in(outbox, query, html.escape(done))
            return
        else:
            await query.answer(_("Unknown action."), show_alert=True)
            return
        await query.answer(done)
        fresh = await posts.card(post.id, with_runs=False)
        is_card = isinstance(callback_data, PostCardButton)
        if fresh is not None and isinstance(query.message, Message) and is_card:
            await outbox.edit_text(
                query.message.chat.id,
                query.message.message_id,
                ui.describe_post(fresh.post, fresh.title),
                keyboard=ui.plain_keyboard(ui.card_markup(fresh.post)),
            )
        elif isinstance(query.message, Message):
            await outbox.edit_keyboard(query.message.chat.id, query.message.message_id, None)
            await ui.say_in(outbox, query, html.escape(done))

    @router.message(ui.PostDialog.edit_text, ui.PRIVATE, ui.ANSWER, flags=rights.POSTS)
    async def got_edit_text(message: Message, outbox: Outbox, state: FSMContext, posts: PostService) -> None:
        content = ui.content_of(message)
        if content is None:
            await ui.reply_in(
                outbox, message, _("I can schedule text, a photo or a document. Please send one of those.")
            )
            return
        post_id = int((await state.get_data()).get("edit_id", 0))
        await state.clear()
        try:
            stored = await posts.edit_content(post_id, content["text"], content.get("media_kind"), content.get("media"))
        except PostError as exc:
            await ui.cannot_use(outbox, message, exc)
            return
        if stored is None:
            await ui.reply_in(outbox, message, _("That post no longer exists."))
            return
        await ui.preview_in(outbox, message, posts, stored)
        await ui.reply_in(
            outbox,
            message,
            _("Updated post #{id}. {summary}").format(id=stored.id, summary=ui.when_text(stored)),
            markup=ui.card_markup(stored),
        )

    @router.message(ui.PostDialog.edit_when, ui.PRIVATE, ui.ANSWER, flags=rights.POSTS)
    async def got_edit_when(message: Message, outbox: Outbox, state: FSMContext, posts: PostService) -> None:
        try:
            stored = await posts.reschedule(
                int((await state.get_data()).get("edit_id", 0)), (message.text or "").strip()
            )
        except (PostError, ScheduleError) as exc:
            await ui.cannot_use(outbox, message, exc)
            return
        await state.clear()
        if stored is None:
            await ui.reply_in(outbox, message, _("That post no longer exists."))
            return
        await ui.reply_in(
            outbox,
            message,
            _("Rescheduled post #{id}. {summary}").format(id=stored.id, summary=ui.when_text(stored)),
            markup=ui.card_markup(stored),
        )
