"""Scheduled posts in a private chat with the bot: the guided dialog (handlers/posts_dialog.py),
list/edit/pause/resume/cancel/send-now and the managers' receipt buttons (handlers/posts_cards.py),
a group's /timezone, and reaction counts on our posts.

Only managers (by user id, from the config) may use any of it; every message step and every button
press checks again (each handler's rights flag, handlers/rights.py).
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, MessageReactionCountUpdated, ReactionTypeEmoji
from aiogram.utils.i18n import gettext as _

from bot.services.community_settings import TIMEZONE, CommunitySettingsService
from bot.services.posts import PostService
from bot.telegram.outbox import Outbox
from handlers import rights
from handlers.posts_cards import register_cards
from handlers.posts_dialog import register_dialog
from handlers.posts_ui import PostDialog as PostDialog
from handlers.posts_ui import parse_buttons as parse_buttons
from handlers.posts_ui import reply_in
from handlers.settings_reply import refusal_text


def build_router() -> Router:
    router = Router(name="posts")
    register_dialog(router)
    register_cards(router)

    # ------------------------------------------------------------------ the community's timezone

    @router.message(Command("timezone"), F.chat.type.in_({"group", "supergroup"}), flags=rights.TIMEZONE)
    async def timezone(
        message: Message,
        outbox: Outbox,
        command: CommandObject,
        community_settings: CommunitySettingsService,
    ) -> None:
        community = await community_settings.get(message.chat.id)
        current = community.timezone if community is not None else "UTC"
        name = (command.args or "").strip()
        if not name:
            await reply_in(
                outbox,
                message,
                _(
                    "This group's timezone is {tz}. Change it with /timezone "
                    "Area/City, for example /timezone Europe/Berlin."
                ).format(tz=html.escape(current)),
            )
            return
        changed = await community_settings.set(message.chat.id, TIMEZONE, name)
        if not changed.ok:
            await reply_in(outbox, message, refusal_text(changed))
            return
        await reply_in(
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
