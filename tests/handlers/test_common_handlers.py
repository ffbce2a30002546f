"""Handler tests: the real dispatcher from bot.app (the ``app`` fixture, tests/handlers/conftest.py), fed updates
directly, with a FIFO MockedBot."""

from __future__ import annotations

from aiogram.methods import SendMessage

from bot.app import Steward
from tests.handlers.conftest import MANAGER
from tests.mocked_bot import MockedBot, message_update

MEMBER = 78
GROUP = -1001999888777


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
