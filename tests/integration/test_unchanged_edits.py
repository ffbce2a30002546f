"""An edit whose text and buttons have not changed is not sent (issue #13, point 8).

Telegram answers such an edit with 400 "message is not modified"; the sandbox does the same. The
outbox remembers what each message shows and skips the no-op edit at the moment it would be sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.domain import Button
from bot.sandbox import SandboxBotAPI
from bot.telegram.outbox import Outbox

TOKEN = "123456:UNCHANGED-token"
GROUP = -1001400000001


@pytest.fixture
async def outbox() -> AsyncIterator[tuple[Outbox, SandboxBotAPI]]:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        sandbox.add_user(1, "Owner")
        sandbox.add_group(GROUP, "Cards", owner_id=1)
        sandbox.add_bot_to_group(GROUP, 1)
        session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox.base_url))
        bot = Bot(TOKEN, session=session)
        box = Outbox(bot)
        try:
            yield box, sandbox
        finally:
            await box.close()
            await session.close()


def _after(sandbox: SandboxBotAPI, since: int) -> list[Any]:
    return list(sandbox.calls()[since:])


def _edits(sandbox: SandboxBotAPI, since: int) -> list[Any]:
    return [c for c in _after(sandbox, since) if c.method in ("editMessageText", "editMessageReplyMarkup")]


async def test_an_unchanged_card_edit_is_not_sent(outbox: tuple[Outbox, SandboxBotAPI]) -> None:
    box, sandbox = outbox
    take = [[Button("Take", callback_data="c:1")]]
    sent = await box.send_message(GROUP, "Case #1: <b>open</b>", keyboard=take)
    assert sent.ok and sent.message_id is not None
    since = sandbox.mark()
    same = await box.edit_text(GROUP, sent.message_id, "Case #1: <b>open</b>", keyboard=take)
    assert same.ok and same.message_ids == [sent.message_id]
    assert _edits(sandbox, since) == [] and box.metrics.unchanged == 1
    # A real change is sent, and then repeating it is not.
    taken = [[Button("Close", callback_data="c:2")]]
    assert (await box.edit_text(GROUP, sent.message_id, "Case #1: <b>taken</b>", keyboard=taken)).ok
    assert (await box.edit_text(GROUP, sent.message_id, "Case #1: <b>taken</b>", keyboard=taken)).ok
    assert (await box.edit_keyboard(GROUP, sent.message_id, taken)).ok
    assert len(_edits(sandbox, since)) == 1 and box.metrics.unchanged == 3
    # Same text, new buttons: sent. Text without buttons removes them: sent too.
    assert (await box.edit_text(GROUP, sent.message_id, "Case #1: <b>taken</b>", keyboard=take)).ok
    assert (await box.edit_text(GROUP, sent.message_id, "Case #1: <b>taken</b>")).ok
    assert len(_edits(sandbox, since)) == 3
    refused = [c for c in _after(sandbox, since) if not c.ok]
    assert refused == []  # no "message is not modified"


async def test_queued_edits_are_compared_when_they_go_out(outbox: tuple[Outbox, SandboxBotAPI]) -> None:
    """A → B queued, then B → A: the second is compared with B (what will be on screen), so it is sent."""
    import asyncio

    box, sandbox = outbox
    sent = await box.send_message(GROUP, "A")
    assert sent.message_id is not None
    since = sandbox.mark()
    first, second = await asyncio.gather(
        box.edit_text(GROUP, sent.message_id, "B"), box.edit_text(GROUP, sent.message_id, "A")
    )
    assert first.ok and second.ok
    assert [c.params["text"] for c in _edits(sandbox, since)] == ["B", "A"]
