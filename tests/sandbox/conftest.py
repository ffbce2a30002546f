from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.sandbox import SandboxBotAPI

TOKEN = "424242:SANDBOX-test-token"
OWNER = 10
MEMBER = 11
GROUP = -1001000000001
FORUM = -1001000000002


@pytest.fixture
async def api() -> AsyncIterator[SandboxBotAPI]:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
async def bot(api: SandboxBotAPI) -> AsyncIterator[Bot]:
    the_bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        yield the_bot
    finally:
        await the_bot.session.close()


@pytest.fixture
def community(api: SandboxBotAPI) -> SandboxBotAPI:
    """An owner and a member in a supergroup and a forum, the bot added to both as admin."""
    api.add_user(OWNER, "Olga", "olga_owner")
    api.add_user(MEMBER, "Max", "max_member", language_code="ru")
    api.add_group(GROUP, "Club", owner_id=OWNER, members=[MEMBER])
    api.add_group(FORUM, "Forum", is_forum=True, owner_id=OWNER, members=[MEMBER])
    api.add_bot_to_group(GROUP, OWNER)
    api.add_bot_to_group(FORUM, OWNER)
    return api
