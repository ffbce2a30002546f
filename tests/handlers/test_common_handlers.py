"""Handler tests: the real dispatcher from bot.app, fed updates directly, with a FIFO MockedBot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.methods import SendMessage

from bot.app import Steward
from bot.config import Settings
from tests.fakes import FakeClassifier
from tests.mocked_bot import MockedBot, message_update

MANAGER = 77
MEMBER = 78
GROUP = -1001999888777


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Steward]:
    settings = Settings(
        telegram={"token": "42:TEST"},
        database={"path": str(tmp_path / "s.db")},
        managers={"ids": [MANAGER]},
        sentiment={"max_wait_ms": 1.0},
    )
    steward = Steward(settings, bot=MockedBot(auto_respond=True), classifier_loader=FakeClassifier)
    await steward.start()
    yield steward
    await steward.stop()


def sent_messages(bot: MockedBot) -> list[SendMessage]:
    return [request for request in bot.session.journal if isinstance(request, SendMessage)]


async def test_start_for_a_member_explains_without_manager_tools(app: Steward) -> None:
    await app.dispatcher.feed_update(app.bot, message_update(MEMBER, MEMBER, "/start"))
    await app.outbox.close()
    [reply] = sent_messages(app.bot)  # type: ignore[arg-type]
    assert reply.chat_id == MEMBER
    assert "Steward" in reply.text and "/queue" not in reply.text


async def test_help_for_a_manager_lists_manager_tools(app: Steward) -> None:
    await app.dispatcher.feed_update(app.bot, message_update(MANAGER, MANAGER, "/help"))
    await app.outbox.close()
    [reply] = sent_messages(app.bot)  # type: ignore[arg-type]
    assert "/queue" in reply.text


async def test_group_message_is_recorded_without_any_reply(app: Steward) -> None:
    await app.dispatcher.feed_update(app.bot, message_update(GROUP, MEMBER, "The app is terrible", message_id=9))
    stored = await app.messages.get(GROUP, 9)
    assert stored is not None and stored.sentiment_label == "negative"
    await app.outbox.close()
    assert sent_messages(app.bot) == []  # type: ignore[arg-type]


async def test_start_in_a_group_is_not_the_private_help(app: Steward) -> None:
    await app.dispatcher.feed_update(app.bot, message_update(GROUP, MEMBER, "/start", message_id=10))
    await app.outbox.close()
    assert sent_messages(app.bot) == []  # type: ignore[arg-type]
    assert await app.messages.get(GROUP, 10) is not None


async def test_a_group_command_in_private_gets_a_pointer_not_silence(app: Steward) -> None:
    await app.dispatcher.feed_update(app.bot, message_update(MEMBER, MEMBER, "/welcome Hi {name}"))
    await app.outbox.close()
    [reply] = sent_messages(app.bot)  # type: ignore[arg-type]
    assert reply.text.startswith("/welcome does nothing here") and "/help" in reply.text
