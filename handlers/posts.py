"""Scheduled posts in a private chat with the bot: the guided dialog, list/edit/pause/resume/cancel/
send-now, the managers' receipt buttons, and reaction counts on our posts.

Only managers (by user id, from the config) may use any of it; every message step and every button
press checks again (each handler's rights flag, handlers/rights.py).
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageReactionCountUpdated,
    ReactionTypeEmoji,
)
from aiogram.utils.i18n import gettext as _

from bot.config import Settings, validate_timezone
from bot.domain import Button, Keyboard, Priority
from bot.services.community import CommunityService
from bot.services.posts import PostError, PostService
from bot.services.roles import RoleService
from bot.services.schedule import ScheduleError, zone
from bot.storage.communities import CommunityRepository
from bot.storage.posts import PAUSED, PENDING, Post, PostRun
from bot.telegram.outbox import Outbox
from bot.textsafety import compile_pattern
from handlers import rights
from handlers.callbacks import DialogButton, PostButton, PostCardButton

log = logging.getLogger(__name__)

UNPIN_CHOICES = (None, 60, 240, 1440, 10080)
# "text | url": the lazy text and the spaces before "|" overlap, quadratic under Python's engine.
BUTTON_LINE = compile_pattern(r"^\s*(?P<text>[^|]+?)\s*\|\s*(?P<url>\S+)\s*$", name="posts.button_line")
MEDIA_LINE = compile_pattern(r"^(photo|document):\s*(https?://\S+)\s*$", name="posts.media_line", ignorecase=True)
_TAG = compile_pattern(r"<[^>]+>", name="posts.tag")


class PostDialog(StatesGroup):
    chat = State()
    topic = State()
    content = State()
    buttons = State()
    options = State()
    when = State()
    confirm = State()
    edit_text = State()
    edit_when = State()


def build_router() -> Router:
    router = Router(name="posts")

    private = F.chat.type == "private"
    # Commands (other than /skip) are not answers to a dialog step: they reach their own handlers.
    answer = ~F.text.regexp(r"^/(?!skip\b)")

    # ------------------------------------------------------------------ the dialog

    @router.message(Command("cancel"), private, StateFilter(PostDialog), flags=rights.POSTS)
    async def cancel_dialog(message: Message, outbox: Outbox, state: FSMContext, roles: RoleService) -> None:
        await state.clear()
        await _reply(outbox, message, _("Stopped. Nothing was changed."))

    @router.message(Command("newpost"), private, flags=rights.POSTS)
    async def new_post(
        message: Message,
        outbox: Outbox,
        state: FSMContext,
        roles: RoleService,
        communities: CommunityRepository,
        settings: Settings,
    ) -> None:
        await state.clear()
        groups = [c for c in await communities.list() if c.chat_id < 0 and c.chat_id != settings.managers.chat_id]
        if not groups:
            await _reply(outbox, message, _("I am not in any community yet. Add me to a group first."))
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
        await state.set_state(PostDialog.chat)
        await _reply(
            outbox,
            message,
            _("New post. Which community is it for?"),
            markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )

    @router.callback_query(DialogButton.filter(F.action == "chat"), flags=rights.MANAGERS_BUTTON)
    async def chose_chat(
        query: CallbackQuery,
        outbox: Outbox,
        callback_data: DialogButton,
        state: FSMContext,
        roles: RoleService,
        communities: CommunityRepository,
    ) -> None:
        if await state.get_state() != PostDialog.chat.state:
            await query.answer(_("This dialog has ended; start again with /newpost."), show_alert=True)
            return
        community = await communities.get(callback_data.value)
        if community is None:
            await query.answer(_("I do not know that community any more."), show_alert=True)
            return
        await state.update_data(chat_id=community.chat_id, title=community.title, tz=community.timezone)
        await query.answer()
        if community.is_forum:
            await state.set_state(PostDialog.topic)
            await _say(
                outbox,
                query,
                _(
                    "{title} is a forum. Send the topic number to post in (the number in the "
                    "topic's link, t.me/c/…/<b>123</b>), or /skip for the General topic."
                ).format(title=html.escape(community.title)),
            )
        else:
            await state.set_state(PostDialog.content)
            await _say(outbox, query, _content_prompt())

    @router.message(PostDialog.topic, private, answer, flags=rights.POSTS)
    async def got_topic(message: Message, outbox: Outbox, state: FSMContext, roles: RoleService) -> None:
        text = (message.text or "").strip()
        if text == "/skip":
            await state.update_data(thread_id=None)
        elif text.isascii() and text.isdigit() and 0 < int(text) < 2**31:
            await state.update_data(thread_id=int(text))
        else:
            await _reply(outbox, message, _("Please send the topic number (digits only), or /skip."))
            return
        await state.set_state(PostDialog.content)
        await _reply(outbox, message, _content_prompt())

    @router.message(PostDialog.content, private, answer, flags=rights.POSTS)
    async def got_content(message: Message, outbox: Outbox, state: FSMContext, roles: RoleService) -> None:
        content = _content_of(message)
        if content is None:
            await _reply(outbox, message, _("I can schedule text, a photo or a document. Please send one of those."))
            return
        await state.update_data(**content)
        await state.set_state(PostDialog.buttons)
        await _reply(
            outbox,
            message,
            _(
                "Buttons under the post? Send one per line as <code>Text | https://link</code> "
                "(put several on one row with <code>;;</code> between them), or /skip."
            ),
        )

    @router.message(PostDialog.buttons, private, answer, flags=rights.POSTS)
    async def got_buttons(message: Message, outbox: Outbox, state: FSMContext, roles: RoleService) -> None:
        text = (message.text or "").strip()
        if text == "/skip":
            buttons: list[list[dict[str, str]]] = []
        else:
            parsed = parse_buttons(text)
            if isinstance(parsed, str):
                await _reply(outbox, message, parsed)
                return
            buttons = parsed
        await state.update_data(buttons=buttons, pin=False, silent=False, protect=False, unpin=0)
        await state.set_state(PostDialog.options)
        await _reply(
            outbox,
            message,
            _("Options (tap to switch), then Continue:"),
            markup=_options_markup(await state.get_data()),
        )

    @router.callback_query(
        DialogButton.filter(F.action.in_({"pin", "silent", "protect", "unpin", "next"})), flags=rights.MANAGERS_BUTTON
    )
    async def toggled(
        query: CallbackQuery, outbox: Outbox, callback_data: DialogButton, state: FSMContext, roles: RoleService
    ) -> None:
        if await state.get_state() != PostDialog.options.state:
            await query.answer(_("This dialog has ended; start again with /newpost."), show_alert=True)
            return
        data = await state.get_data()
        if callback_data.action == "next":
            await query.answer()
            await state.set_state(PostDialog.when)
            await _say(outbox, query, _when_prompt(data.get("tz", "UTC")))
            return
        if callback_data.action == "unpin":
            index = int(data.get("unpin", 0))
            data["unpin"] = (index + 1) % len(UNPIN_CHOICES)
            if UNPIN_CHOICES[data["unpin"]] is not None:
                data["pin"] = True
        else:
            data[callback_data.action] = not data.get(callback_data.action, False)
            if callback_data.action == "pin" and not data["pin"]:
                data["unpin"] = 0
        await state.update_data(**data)
        await query.answer()
        if isinstance(query.message, Message):
            await outbox.edit_keyboard(
                query.message.chat.id, query.message.message_id, _keyboard(_options_markup(data))
            )

    @router.message(PostDialog.when, private, answer, flags=rights.POSTS)
    async def got_when(
        message: Message, outbox: Outbox, state: FSMContext, roles: RoleService, posts: PostService
    ) -> None:
        data = await state.get_data()
        try:
            post = await _post_from_data(posts, data, (message.text or "").strip(), message.from_user)
        except (PostError, ScheduleError) as exc:
            await _reply(outbox, message, _("I cannot use that: {reason}").format(reason=html.escape(str(exc))))
            return
        await state.update_data(when=(message.text or "").strip())
        await state.set_state(PostDialog.confirm)
        await _preview(outbox, message, posts, post)
        await _reply(
            outbox,
            message,
            _("☝️ This is exactly how the post will look.") + "\n" + _describe(post, data.get("title", "")),
            markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(text=_("✅ Schedule"), callback_data=DialogButton(action="save").pack()),
                        InlineKeyboardButton(text=_("✖ Discard"), callback_data=DialogButton(action="drop").pack()),
                    ]
                ]
            ),
        )

    @router.callback_query(DialogButton.filter(F.action.in_({"save", "drop"})), flags=rights.MANAGERS_BUTTON)
    async def confirmed(
        query: CallbackQuery,
        outbox: Outbox,
        callback_data: DialogButton,
        state: FSMContext,
        roles: RoleService,
        posts: PostService,
    ) -> None:
        if await state.get_state() != PostDialog.confirm.state:
            await query.answer(_("This dialog has ended; start again with /newpost."), show_alert=True)
            return
        data = await state.get_data()
        await state.clear()
        if callback_data.action == "drop":
            await query.answer(_("Discarded."))
            await _say(outbox, query, _("Discarded. Nothing was scheduled."))
            return
        try:
            post = await _post_from_data(posts, data, str(data.get("when", "")), query.from_user)
            stored = await posts.create(post)
        except (PostError, ScheduleError) as exc:
            await query.answer()
            await _say(outbox, query, _("I cannot schedule it: {reason}").format(reason=html.escape(str(exc))))
            return
        await query.answer(_("Scheduled."))
        await _say(
            outbox,
            query,
            _("Scheduled as post #{id}. {summary}\nSee all with /posts.").format(
                id=stored.id, summary=_when_text(stored)
            ),
            markup=_card_markup(stored),
        )

    # ------------------------------------------------------------------ list and cards

    @router.message(Command("receipts"), private, flags=rights.POSTS)
    async def receipts(
        message: Message, outbox: Outbox, command: CommandObject, roles: RoleService, posts: PostService
    ) -> None:
        choice = (command.args or "").strip().lower()
        if choice in ("all", "failures"):
            await posts.set_receipts_mode(choice)
        elif choice:
            await _reply(outbox, message, _("Usage: /receipts all  or  /receipts failures"))
            return
        mode = await posts.receipts_mode()
        text = (
            _("Managers get a receipt for every post.")
            if mode == "all"
            else _("Managers get receipts only for posts that failed, were missed or are uncertain.")
        )
        await _reply(outbox, message, text + "\n" + _("Change with /receipts all or /receipts failures."))

    @router.message(Command("posts"), private, flags=rights.POSTS)
    async def list_posts(
        message: Message, outbox: Outbox, roles: RoleService, posts: PostService, communities: CommunityRepository
    ) -> None:
        items = await posts.repo.list_posts(statuses=("pending", "paused", "uncertain", "failed", "missed"), limit=50)
        if not items:
            await _reply(outbox, message, _("No scheduled posts. Create one with /newpost."))
            return
        titles = {c.chat_id: c.title for c in await communities.list(active_only=False)}
        lines = [_("Scheduled posts (open one with /post N):")]
        for post in items:
            preview = _TAG.sub("", post.text).replace("\n", " ")[:50]
            lines.append(
                f"#{post.id} · {html.escape(titles.get(post.chat_id, str(post.chat_id)))} · "
                f"{html.escape(_when_text(post))} · {post.status} · {html.escape(preview)}"
            )
        await _reply(outbox, message, "\n".join(lines))

    @router.message(Command("post"), private, flags=rights.POSTS)
    async def show_post(
        message: Message,
        outbox: Outbox,
        command: CommandObject,
        roles: RoleService,
        posts: PostService,
        communities: CommunityRepository,
    ) -> None:
        arg = (command.args or "").strip().lstrip("#")
        if not (arg.isascii() and arg.isdigit() and len(arg) <= 18):  # "²".isdigit(); SQLite's 64-bit ints
            await _reply(outbox, message, _("Usage: /post N (the number from /posts)."))
            return
        post = await posts.repo.get(int(arg))
        if post is None:
            await _reply(outbox, message, _("There is no post #{id}.").format(id=arg))
            return
        community = await communities.get(post.chat_id)
        runs = await posts.repo.runs(post.id)
        await _reply(
            outbox,
            message,
            _describe(post, community.title if community else str(post.chat_id), runs),
            markup=_card_markup(post),
        )

    @router.callback_query(PostButton.filter(), flags=rights.MANAGERS_BUTTON)
    @router.callback_query(PostCardButton.filter(), flags=rights.MANAGERS_BUTTON)
    async def post_action(
        query: CallbackQuery,
        outbox: Outbox,
        callback_data: PostButton | PostCardButton,
        state: FSMContext,
        roles: RoleService,
        posts: PostService,
        communities: CommunityRepository,
    ) -> None:
        post = await posts.repo.get(callback_data.id)
        if post is None:
            await query.answer(_("That post no longer exists."), show_alert=True)
            return
        action = callback_data.action
        done: str | None = None
        if action == "preview":
            await query.answer()
            await _preview_to(outbox, query, posts, post)
            return
        if action in ("text", "time"):
            if query.message is None or query.message.chat.type != "private":
                await query.answer(
                    _("Edit posts in a private chat with me: /post {id}").format(id=post.id), show_alert=True
                )
                return
            await state.set_state(PostDialog.edit_text if action == "text" else PostDialog.edit_when)
            await state.update_data(edit_id=post.id)
            await query.answer()
            prompt = _content_prompt() if action == "text" else _when_prompt(post.timezone)
            await _say(outbox, query, prompt)
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
            await _say(outbox, query, html.escape(done))
            return
        else:
            await query.answer(_("Unknown action."), show_alert=True)
            return
        await query.answer(done)
        fresh = await posts.repo.get(post.id)
        is_card = isinstance(callback_data, PostCardButton)
        if fresh is not None and isinstance(query.message, Message) and is_card:
            community = await communities.get(fresh.chat_id)
            await outbox.edit_text(
                query.message.chat.id,
                query.message.message_id,
                _describe(fresh, community.title if community else str(fresh.chat_id)),
                keyboard=_keyboard(_card_markup(fresh)),
            )
        elif isinstance(query.message, Message):
            await outbox.edit_keyboard(query.message.chat.id, query.message.message_id, None)
            await _say(outbox, query, html.escape(done))

    @router.message(PostDialog.edit_text, private, answer, flags=rights.POSTS)
    async def got_edit_text(
        message: Message, outbox: Outbox, state: FSMContext, roles: RoleService, posts: PostService
    ) -> None:
        content = _content_of(message)
        if content is None:
            await _reply(outbox, message, _("I can schedule text, a photo or a document. Please send one of those."))
            return
        post = await posts.repo.get(int((await state.get_data()).get("edit_id", 0)))
        await state.clear()
        if post is None:
            await _reply(outbox, message, _("That post no longer exists."))
            return
        changes: dict[str, Any] = {"text": content["text"]}
        if content.get("media_kind"):
            changes.update(media_kind=content["media_kind"], media=content["media"])
        try:
            stored = await posts.update(post.with_(**changes))
        except PostError as exc:
            await _reply(outbox, message, _("I cannot use that: {reason}").format(reason=html.escape(str(exc))))
            return
        await _preview(outbox, message, posts, stored)
        await _reply(
            outbox,
            message,
            _("Updated post #{id}. {summary}").format(id=stored.id, summary=_when_text(stored)),
            markup=_card_markup(stored),
        )

    @router.message(PostDialog.edit_when, private, answer, flags=rights.POSTS)
    async def got_edit_when(
        message: Message, outbox: Outbox, state: FSMContext, roles: RoleService, posts: PostService
    ) -> None:
        post = await posts.repo.get(int((await state.get_data()).get("edit_id", 0)))
        if post is None:
            await state.clear()
            await _reply(outbox, message, _("That post no longer exists."))
            return
        try:
            stored = await posts.update(post, when=(message.text or "").strip())
        except (PostError, ScheduleError) as exc:
            await _reply(outbox, message, _("I cannot use that: {reason}").format(reason=html.escape(str(exc))))
            return
        await state.clear()
        await _reply(
            outbox,
            message,
            _("Rescheduled post #{id}. {summary}").format(id=stored.id, summary=_when_text(stored)),
            markup=_card_markup(stored),
        )

    # ------------------------------------------------------------------ the community's timezone

    @router.message(Command("timezone"), F.chat.type.in_({"group", "supergroup"}), flags=rights.TIMEZONE)
    async def timezone(
        message: Message,
        outbox: Outbox,
        command: CommandObject,
        roles: RoleService,
        communities: CommunityRepository,
        community_service: CommunityService,
    ) -> None:
        community = await communities.get(message.chat.id)
        current = community.timezone if community is not None else "UTC"
        name = (command.args or "").strip()
        if not name:
            await _reply(
                outbox,
                message,
                _(
                    "This group's timezone is {tz}. Change it with /timezone "
                    "Area/City, for example /timezone Europe/Berlin."
                ).format(tz=html.escape(current)),
            )
            return
        try:
            name = validate_timezone(name)
        except ValueError as exc:
            await _reply(outbox, message, html.escape(str(exc)))
            return
        if community is None:
            await _reply(outbox, message, _("I do not know this group yet; write a message here first."))
            return
        await communities.set_timezone(message.chat.id, name)
        community_service.invalidate(message.chat.id)
        await _reply(
            outbox,
            message,
            _(
                "This group's timezone is now {tz}. New posts and rubrics use it; "
                "posts already scheduled keep their time until you edit it."
            ).format(tz=html.escape(name)),
        )

    # ------------------------------------------------------------------ engagement

    @router.message_reaction_count()
    async def reactions(update: MessageReactionCountUpdated, posts: PostService) -> None:
        counts: dict[str, int] = {}
        for reaction in update.reactions:
            kind = reaction.type
            key = kind.emoji if isinstance(kind, ReactionTypeEmoji) else getattr(kind, "custom_emoji_id", None)
            counts[str(key or kind.type)] = counts.get(str(key or kind.type), 0) + reaction.total_count
        await posts.on_reaction_count(update.chat.id, update.message_id, counts)

    return router


# ---------------------------------------------------------------------- helpers


def _keyboard(markup: InlineKeyboardMarkup | None) -> Keyboard | None:
    """aiogram markup → the outbox's plain buttons."""
    if markup is None:
        return None
    return [[Button(b.text, url=b.url, callback_data=b.callback_data) for b in row] for row in markup.inline_keyboard]


async def _reply(outbox: Outbox, message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the same chat (and forum topic) through the outbox."""
    thread = message.message_thread_id if message.is_topic_message else None
    delivery = await outbox.send_message(
        message.chat.id, text, keyboard=_keyboard(markup), thread_id=thread, priority=Priority.REPLY
    )
    if not delivery.ok:
        log.warning("could not answer in chat %s: %s", message.chat.id, delivery.error)


async def _say(outbox: Outbox, query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """A new message in the chat of the pressed button."""
    if isinstance(query.message, Message):
        await _reply(outbox, query.message, text, markup)


def _content_prompt() -> str:
    return _(
        "Send the post: a text (formatting is kept), or a photo or document with a caption. "
        "For a picture on the web, send <code>photo: https://…</code> on the first line and the caption below."
    )


def _when_prompt(tz: str) -> str:
    return _(
        "When should it go out? Send one of:\n"
        "• <code>now</code>\n"
        "• a date and time in {tz}: <code>2026-12-01 10:00</code>\n"
        "• a weekly rubric: <code>mon,thu 10:00</code>, <code>daily 09:30</code>, <code>weekdays 18:00</code>\n"
        "• a cron expression: <code>0 10 * * mon</code>"
    ).format(tz=html.escape(tz))


def _content_of(message: Message) -> dict[str, Any] | None:
    if message.photo:
        return {
            "text": message.html_text if message.caption else "",
            "media_kind": "photo",
            "media": message.photo[-1].file_id,
        }
    if message.document:
        return {
            "text": message.html_text if message.caption else "",
            "media_kind": "document",
            "media": message.document.file_id,
        }
    if message.text:
        first, _sep, rest = message.text.partition("\n")
        media = MEDIA_LINE.match(first)
        if media:
            return {"text": html.escape(rest.strip()), "media_kind": media.group(1).lower(), "media": media.group(2)}
        return {"text": message.html_text, "media_kind": None, "media": None}
    return None


def parse_buttons(text: str) -> list[list[dict[str, str]]] | str:
    """``Text | https://url`` per line, ``;;`` between buttons on one row; a str is an error to show."""
    rows: list[list[dict[str, str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = []
        for item in line.split(";;"):
            match = BUTTON_LINE.match(item)
            if not match or not match.group("url").startswith(("https://", "http://", "tg://")):
                return _("Line {n}: write a button as <code>Text | https://link</code>.").format(n=number)
            row.append({"text": match.group("text")[:64], "url": match.group("url")})
        rows.append(row)
    return rows


def _options_markup(data: dict[str, Any]) -> InlineKeyboardMarkup:
    def mark(flag: bool) -> str:
        return "✅" if flag else "▫️"

    unpin = UNPIN_CHOICES[int(data.get("unpin", 0)) % len(UNPIN_CHOICES)]
    unpin_label = _("never") if unpin is None else _("after {hours} h").format(hours=unpin // 60)
    rows = [
        [
            InlineKeyboardButton(
                text=f"{mark(bool(data.get('pin')))} " + _("Pin"), callback_data=DialogButton(action="pin").pack()
            ),
            InlineKeyboardButton(
                text=f"{mark(bool(data.get('silent')))} " + _("Silent"),
                callback_data=DialogButton(action="silent").pack(),
            ),
            InlineKeyboardButton(
                text=f"{mark(bool(data.get('protect')))} " + _("Protect"),
                callback_data=DialogButton(action="protect").pack(),
            ),
        ],
        [
            InlineKeyboardButton(
                text=_("Unpin: {when}").format(when=unpin_label), callback_data=DialogButton(action="unpin").pack()
            )
        ],
        [InlineKeyboardButton(text=_("Continue ➡️"), callback_data=DialogButton(action="next").pack())],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _post_from_data(posts: PostService, data: dict[str, Any], when: str, user: Any) -> Post:
    unpin = UNPIN_CHOICES[int(data.get("unpin", 0)) % len(UNPIN_CHOICES)]
    return await posts.build(
        chat_id=int(data["chat_id"]),
        thread_id=data.get("thread_id"),
        text=str(data.get("text", "")),
        media_kind=data.get("media_kind"),
        media=data.get("media"),
        buttons=data.get("buttons") or [],
        pin=bool(data.get("pin")),
        unpin_after_min=unpin,
        silent=bool(data.get("silent")),
        protect=bool(data.get("protect")),
        when=when,
        created_by=user.id if user is not None else None,
    )


async def _preview(outbox: Outbox, message: Message, posts: PostService, post: Post) -> None:
    delivery = await posts.preview(post, message.chat.id)
    if not delivery.ok:
        await _reply(
            outbox,
            message,
            _("The preview failed: {reason}. The post would fail the same way.").format(
                reason=html.escape(delivery.error or "")
            ),
        )


async def _preview_to(outbox: Outbox, query: CallbackQuery, posts: PostService, post: Post) -> None:
    if query.message is None:
        return
    delivery = await posts.preview(post, query.from_user.id)
    if not delivery.ok:
        await _say(outbox, query, _("The preview failed: {reason}.").format(reason=html.escape(delivery.error or "")))


def _when_text(post: Post) -> str:
    if post.due_at is None:
        return _("no further runs")
    local = datetime.fromtimestamp(post.due_at, zone(post.timezone))
    stamp = local.strftime("%Y-%m-%d %H:%M")
    if post.cron:
        return _("Repeats ({cron}); next {when} ({tz}).").format(cron=post.cron, when=stamp, tz=post.timezone)
    return _("Goes out {when} ({tz}).").format(when=stamp, tz=post.timezone)


def _describe(post: Post, title: str, runs: list[PostRun] | None = None) -> str:
    flags = [
        name for name, on in ((_("pinned"), post.pin), (_("silent"), post.silent), (_("protected"), post.protect)) if on
    ]
    if post.unpin_after_min:
        flags.append(_("unpinned after {minutes} min").format(minutes=post.unpin_after_min))
    lines = [
        _("Post #{id} for <b>{title}</b>").format(id=post.id, title=html.escape(title))
        if post.id
        else _("For <b>{title}</b>").format(title=html.escape(title)),
        html.escape(_when_text(post)),
        _("Status: {status}").format(status=post.status),
    ]
    if post.thread_id:
        lines.append(_("Topic: {topic}").format(topic=post.thread_id))
    if flags:
        lines.append(_("Options: {flags}").format(flags=", ".join(flags)))
    if post.last_error:
        lines.append(_("Last problem: {error}").format(error=html.escape(post.last_error)))
    sent = [r for r in runs or [] if r.status == "sent"]
    if sent:
        lines.append(
            _(
                "Times posted: {n}; replies {replies}, reactions {reactions} (latest: {last_replies}, "
                "{last_reactions})."
            ).format(
                n=len(sent),
                replies=sum(r.replies for r in sent),
                reactions=sum(r.reactions for r in sent),
                last_replies=sent[-1].replies,
                last_reactions=sent[-1].reactions,
            )
        )
    return "\n".join(lines)


def _card_markup(post: Post) -> InlineKeyboardMarkup:
    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=PostCardButton(action=action, id=post.id).pack())

    rows = [[button(_("👁 Preview"), "preview"), button(_("✏️ Text"), "text"), button(_("🕒 Time"), "time")]]
    second = []
    if post.status == PENDING:
        second.append(button(_("⏸ Pause"), "pause"))
    if post.status == PAUSED:
        second.append(button(_("▶️ Resume"), "resume"))
    second.append(button(_("🚀 Send now"), "now"))
    second.append(button(_("✖ Cancel"), "cancel"))
    rows.append(second)
    return InlineKeyboardMarkup(inline_keyboard=rows)
