"""News feeds: /feed_add, /feeds, /feed_remove and the keyword commands; Approve / Edit / Skip on drafts.

Commands in a group: that group's admins and the managers. In a private chat: managers, naming the
community by chat id. Draft buttons: managers only. Checked by user id on every call, through each
handler's rights flag (handlers/rights.py).
"""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain import Priority
from bot.services.community import CommunityService
from bot.services.community_settings import CommunitySettingsService
from bot.services.feeds import FeedError, FeedService
from bot.services.roles import RoleService
from bot.telegram.outbox import Outbox
from handlers import rights
from handlers.callbacks import FeedButton
from handlers.rights import addressed_community
from handlers.settings_reply import refusal_text

log = logging.getLogger(__name__)

GROUPS = {"group", "supergroup"}
LIST_KEYS = {"feed_keywords": "feed_keywords", "feed_allow": "feed_allow", "feed_deny": "feed_deny"}


class FeedEdit(StatesGroup):
    text = State()


def build_router() -> Router:
    router = Router(name="feeds")

    @router.message(Command("feed_add"), flags=rights.FEEDS)
    async def feed_add(
        message: Message,
        outbox: Outbox,
        command: CommandObject,
        roles: RoleService,
        feeds: FeedService,
        community_service: CommunityService,
        settings: Settings,
    ) -> None:
        args = (command.args or "").split()
        if not args:
            await _reply(
                outbox,
                message,
                _("Usage: /feed_add URL [topic]  (in a group), or /feed_add URL CHAT_ID [topic] in a private chat."),
            )
            return
        target = await addressed_community(
            message, " ".join(args[1:]), roles, community_service, outbox, settings.managers.chat_id
        )
        if target is None:
            return
        chat_id = target[0].chat_id
        thread_id: int | None = None
        numbers = [a for a in args[1:] if a.isascii() and a.isdigit() and len(a) <= 9]
        if numbers:
            thread_id = int(numbers[0])
        elif message.chat.type in GROUPS and message.is_topic_message:
            thread_id = message.message_thread_id
        try:
            feed, counts = await feeds.add_feed(
                chat_id, args[0], thread_id=thread_id, added_by=message.from_user.id if message.from_user else None
            )
        except FeedError as exc:
            await _reply(outbox, message, _("I cannot use that feed: {reason}").format(reason=html.escape(str(exc))))
            return
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or _("nothing new")
        await _reply(
            outbox,
            message,
            _(
                "Subscribed to {title} (feed #{id}). First read: {summary}. New relevant items "
                "come to the managers as drafts."
            ).format(title=html.escape(feed.title or feed.url), id=feed.id, summary=html.escape(summary)),
        )

    @router.message(Command("feeds"), flags=rights.FEEDS)
    async def feed_list(message: Message, outbox: Outbox, feeds: FeedService) -> None:
        chat_id = message.chat.id if message.chat.type in GROUPS else None
        items = await feeds.list_feeds(chat_id)
        if not items:
            await _reply(outbox, message, _("No feeds yet. Add one with /feed_add URL."))
            return
        lines = [_("Feeds:")]
        for feed in items:
            state = _("failing: {error}").format(error=feed.last_error) if feed.errors else _("ok")
            lines.append(
                f"#{feed.id} · {html.escape(feed.title or feed.url)} · {feed.chat_id}"
                f"{' · topic ' + str(feed.thread_id) if feed.thread_id else ''} · {html.escape(state)}"
            )
        await _reply(outbox, message, "\n".join(lines))

    @router.message(Command("feed_remove"), flags=rights.FEEDS)
    async def feed_remove(message: Message, outbox: Outbox, command: CommandObject, feeds: FeedService) -> None:
        arg = (command.args or "").strip().lstrip("#")
        # ASCII digits within SQLite's 64-bit integers ("²".isdigit() is True; 10**20 overflows SQLite).
        feed = await feeds.get_feed(int(arg)) if arg.isascii() and arg.isdigit() and len(arg) <= 18 else None
        if feed is None or (message.chat.type in GROUPS and feed.chat_id != message.chat.id):
            await _reply(outbox, message, _("Usage: /feed_remove N (the number from /feeds)."))
            return
        await feeds.remove_feed(feed.id)
        await _reply(outbox, message, _("Removed feed #{id}.").format(id=feed.id))

    @router.message(Command(*LIST_KEYS, "feed_autopost"), flags=rights.FEEDS)
    async def feed_setting(
        message: Message,
        outbox: Outbox,
        command: CommandObject,
        community_settings: CommunitySettingsService,
    ) -> None:
        if message.chat.type not in GROUPS:
            await _reply(outbox, message, _("Send this command in the group it is for."))
            return
        name = command.command.lower()
        raw = (command.args or "").strip()
        if name == "feed_autopost":
            if raw not in ("on", "off"):
                await _reply(outbox, message, _("Usage: /feed_autopost on|off"))
                return
            changed = await community_settings.set(message.chat.id, "scheduler.feed_auto_post", raw == "on")
            done = _("Auto-post is {state}.").format(state=raw)
        else:
            key = f"scheduler.{LIST_KEYS[name]}"
            words = [w.strip() for w in raw.replace("\n", ",").split(",") if w.strip()]
            if raw == "-":
                words = []
            elif not words:
                community = await community_settings.get(message.chat.id)
                current = community.settings.get(key) if community else None
                shown = ", ".join(str(w) for w in current) if isinstance(current, list) else ""
                await _reply(
                    outbox,
                    message,
                    _("Current: {words}\nSet with /{cmd} word, another phrase  (or /{cmd} - to clear)").format(
                        words=html.escape(shown or "—"), cmd=name
                    ),
                )
                return
            changed = await community_settings.set(message.chat.id, key, words)
            done = _("Saved: {words}").format(words=html.escape(", ".join(words) or "—"))
        await _reply(outbox, message, done if changed.ok else refusal_text(changed))

    # ------------------------------------------------------------------ draft buttons

    @router.callback_query(FeedButton.filter(), flags=rights.MANAGERS_BUTTON)
    async def draft_action(
        query: CallbackQuery,
        outbox: Outbox,
        callback_data: FeedButton,
        feeds: FeedService,
        state: FSMContext,
    ) -> None:
        name = query.from_user.full_name
        if callback_data.action == "approve":
            await query.answer(await feeds.approve(callback_data.id, by=query.from_user.id, by_name=name))
        elif callback_data.action == "skip":
            await query.answer(await feeds.skip(callback_data.id, by=query.from_user.id, by_name=name))
        elif callback_data.action == "edit":
            item = await feeds.draft(callback_data.id)
            if item is None:
                await query.answer(_("Already decided."), show_alert=True)
                return
            await state.set_state(FeedEdit.text)
            await state.update_data(item_id=item.id)
            await query.answer()
            if isinstance(query.message, Message):
                await _reply(
                    outbox,
                    query.message,
                    _("{name}, send the new text for draft #{id} (formatting is kept), or /cancel.").format(
                        name=html.escape(name), id=item.id
                    ),
                )
        else:
            await query.answer(_("Unknown action."), show_alert=True)

    @router.message(FeedEdit.text, Command("cancel"))
    async def edit_cancel(message: Message, outbox: Outbox, state: FSMContext) -> None:
        await state.clear()
        await _reply(outbox, message, _("Stopped. The draft is unchanged."))

    @router.message(FeedEdit.text, F.text, flags=rights.DESK_QUIET)
    async def edit_text(message: Message, outbox: Outbox, state: FSMContext, feeds: FeedService) -> None:
        item_id = int((await state.get_data()).get("item_id", 0))
        await state.clear()
        item = await feeds.edit(item_id, message.html_text)
        if item is None:
            await _reply(outbox, message, _("That draft was already decided; nothing changed."))
            return
        await _reply(outbox, message, _("Draft #{id} updated. Press Approve on it to schedule it.").format(id=item.id))

    return router


async def _reply(outbox: Outbox, message: Message, text: str) -> None:
    """Answer in the same chat (and forum topic) through the outbox."""
    thread = message.message_thread_id if message.is_topic_message else None
    delivery = await outbox.send_message(message.chat.id, text, thread_id=thread, priority=Priority.REPLY)
    if not delivery.ok:
        log.warning("could not answer in chat %s: %s", message.chat.id, delivery.error)
