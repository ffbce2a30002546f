"""What the scheduled-post handlers share: the dialog's states, the managers-only guards, the parsing of
a manager's message into post content, and the texts and buttons of a post card."""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain import Button, Keyboard, Priority
from bot.services.posts import PAUSED, PENDING, Post, PostRun, PostService
from bot.services.schedule import zone
from bot.telegram.outbox import Outbox
from bot.textsafety import compile_pattern
from handlers.callbacks import DialogButton, PostCardButton

log = logging.getLogger("handlers.posts")

UNPIN_CHOICES = (None, 60, 240, 1440, 10080)
# "text | url": the lazy text and the spaces before "|" overlap, quadratic under Python's engine.
BUTTON_LINE = compile_pattern(r"^\s*(?P<text>[^|]+?)\s*\|\s*(?P<url>\S+)\s*$", name="posts.button_line")
MEDIA_LINE = compile_pattern(r"^(photo|document):\s*(https?://\S+)\s*$", name="posts.media_line", ignorecase=True)
TAG = compile_pattern(r"<[^>]+>", name="posts.tag")

PRIVATE = F.chat.type == "private"
# Commands (other than /skip) are not answers to a dialog step: they reach their own handlers.
ANSWER = ~F.text.regexp(r"^/(?!skip\b)")


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


# ---------------------------------------------------------------------- guards


# ---------------------------------------------------------------------- helpers


def plain_keyboard(markup: InlineKeyboardMarkup | None) -> Keyboard | None:
    """aiogram markup → the outbox's plain buttons."""
    if markup is None:
        return None
    return [[Button(b.text, url=b.url, callback_data=b.callback_data) for b in row] for row in markup.inline_keyboard]


async def reply_in(outbox: Outbox, message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the same chat (and forum topic) through the outbox."""
    thread = message.message_thread_id if message.is_topic_message else None
    delivery = await outbox.send_message(
        message.chat.id, text, keyboard=plain_keyboard(markup), thread_id=thread, priority=Priority.REPLY
    )
    if not delivery.ok:
        log.warning("could not answer in chat %s: %s", message.chat.id, delivery.error)


async def cannot_use(outbox: Outbox, message: Message, exc: Exception) -> None:
    """The manager's answer to a step was refused (PostError, ScheduleError): say why."""
    await reply_in(outbox, message, _("I cannot use that: {reason}").format(reason=html.escape(str(exc))))


async def say_in(outbox: Outbox, query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """A new message in the chat of the pressed button."""
    if isinstance(query.message, Message):
        await reply_in(outbox, query.message, text, markup)


def content_prompt() -> str:
    return _(
        "Send the post: a text (formatting is kept), or a photo or document with a caption. "
        "For a picture on the web, send <code>photo: https://…</code> on the first line and the caption below."
    )


def when_prompt(tz: str) -> str:
    return _(
        "When should it go out? Send one of:\n"
        "• <code>now</code>\n"
        "• a date and time in {tz}: <code>2026-12-01 10:00</code>\n"
        "• a weekly rubric: <code>mon,thu 10:00</code>, <code>daily 09:30</code>, <code>weekdays 18:00</code>\n"
        "• a cron expression: <code>0 10 * * mon</code>"
    ).format(tz=html.escape(tz))


def content_of(message: Message) -> dict[str, Any] | None:
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


def options_markup(data: dict[str, Any]) -> InlineKeyboardMarkup:
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


async def post_from_data(posts: PostService, data: dict[str, Any], when: str, user: Any) -> Post:
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


async def preview_in(outbox: Outbox, message: Message, posts: PostService, post: Post) -> None:
    delivery = await posts.preview(post, message.chat.id)
    if not delivery.ok:
        await reply_in(
            outbox,
            message,
            _("The preview failed: {reason}. The post would fail the same way.").format(
                reason=html.escape(delivery.error or "")
            ),
        )


async def preview_to_presser(outbox: Outbox, query: CallbackQuery, posts: PostService, post: Post) -> None:
    if query.message is None:
        return
    delivery = await posts.preview(post, query.from_user.id)
    if not delivery.ok:
        await say_in(outbox, query, _("The preview failed: {reason}.").format(reason=html.escape(delivery.error or "")))


def when_text(post: Post) -> str:
    if post.due_at is None:
        return _("no further runs")
    local = datetime.fromtimestamp(post.due_at, zone(post.timezone))
    stamp = local.strftime("%Y-%m-%d %H:%M")
    if post.cron:
        return _("Repeats ({cron}); next {when} ({tz}).").format(cron=post.cron, when=stamp, tz=post.timezone)
    return _("Goes out {when} ({tz}).").format(when=stamp, tz=post.timezone)


def describe_post(post: Post, title: str, runs: list[PostRun] | None = None) -> str:
    flags = [
        name for name, on in ((_("pinned"), post.pin), (_("silent"), post.silent), (_("protected"), post.protect)) if on
    ]
    if post.unpin_after_min:
        flags.append(_("unpinned after {minutes} min").format(minutes=post.unpin_after_min))
    lines = [
        _("Post #{id} for <b>{title}</b>").format(id=post.id, title=html.escape(title))
        if post.id
        else _("For <b>{title}</b>").format(title=html.escape(title)),
        html.escape(when_text(post)),
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


def card_markup(post: Post) -> InlineKeyboardMarkup:
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
