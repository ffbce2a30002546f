"""Every group message, text or caption, goes to CommunityService (one handler: aiogram stops at the first match)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.types import Message

from bot.domain import ChatInfo
from bot.services.community import CommunityService
from handlers.convert import GROUP_TYPES, chat_info, incoming

log = logging.getLogger(__name__)


def build_router() -> Router:
    router = Router(name="community")
    router.message.filter(F.chat.type.in_(GROUP_TYPES))
    router.edited_message.filter(F.chat.type.in_(GROUP_TYPES))

    @router.message(F.migrate_to_chat_id)
    async def migrated(message: Message, community_service: CommunityService) -> None:
        # The old group announces its new supergroup id; history and settings move along.
        new_id = message.migrate_to_chat_id
        assert new_id is not None
        old = chat_info(message.chat)
        new = ChatInfo(new_id, old.title, "supergroup", old.is_forum, old.username)
        await community_service.migrate(message.chat.id, new)

    @router.message(F.migrate_from_chat_id)
    async def migrated_from(message: Message) -> None:
        # Already handled through migrate_to_chat_id in the old chat.
        return None

    @router.message()
    async def on_message(message: Message, bot: Bot, community_service: CommunityService) -> None:
        if message.from_user is not None and message.from_user.id == bot.id:
            return
        me = await bot.me()
        await community_service.on_message(
            chat_info(message.chat), incoming(message, bot_id=bot.id, bot_username=me.username)
        )

    @router.edited_message()
    async def on_edit(message: Message, bot: Bot, community_service: CommunityService) -> None:
        me = await bot.me()
        await community_service.on_message(
            chat_info(message.chat), incoming(message, bot_id=bot.id, bot_username=me.username, is_edit=True)
        )

    return router
