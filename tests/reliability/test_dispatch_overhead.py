"""The dispatcher evaluates F and State filters on the loop: no thread hand-off per update."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiogram import F, Router
from aiogram.fsm.state import State, StatesGroup

from bot.app import Steward, feed_raw_update
from bot.config import Settings
from bot.telegram.inline_filters import inline_magic_filters
from tests.fakes import FakeClassifier, HashingEncoder
from tests.mocked_bot import MockedBot


class _Dialog(StatesGroup):
    step = State()


def count_to_thread(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every function handed to asyncio.to_thread from now on (they still run)."""
    calls: list[Any] = []
    real = asyncio.to_thread

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(fn)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    return calls


def test_inline_magic_filters_changes_f_and_state_filters() -> None:
    from aiogram import Dispatcher

    dp = Dispatcher()
    router = Router()
    router.message.filter(F.chat.type == "supergroup")

    @router.message(_Dialog.step, F.text)
    async def handler(message: Any) -> None:
        return None

    dp.include_router(router)
    assert inline_magic_filters(dp) == 3
    assert inline_magic_filters(dp) == 0  # already inline


async def test_aiogram_internals_the_patch_relies_on_are_still_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """bot/telegram/inline_filters.py reaches into aiogram: this fails when aiogram changes underneath it."""
    import dataclasses

    from aiogram.dispatcher.event.handler import CallableObject, FilterObject
    from aiogram.dispatcher.event.telegram import TelegramEventObserver

    assert {"callback", "awaitable", "magic"} <= {f.name for f in dataclasses.fields(FilterObject)}
    assert FilterObject(F.text).magic is not None and FilterObject(F.text).awaitable is False
    observer = Router().message
    assert isinstance(observer, TelegramEventObserver)
    assert isinstance(observer.handlers, list) and observer._handler.filters == []
    # The reason for the patch: a synchronous filter still goes to a thread. If aiogram stops doing
    # that, this assertion fails and the patch can be deleted.
    threaded = count_to_thread(monkeypatch)
    assert await CallableObject(lambda: True).call() is True
    assert len(threaded) == 1


async def test_group_messages_cause_no_to_thread_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        telegram={"token": "42:TEST"},
        database={"path": str(tmp_path / "s.db")},
        managers={"ids": [500]},
        scheduler={"enabled": False},
    )
    classifier, encoder = FakeClassifier(), HashingEncoder()
    app = Steward(
        settings,
        bot=MockedBot(auto_respond=True),
        classifier_loader=lambda: classifier,
        faq_encoder_loader=lambda: (encoder, f"hash:{encoder.dim}"),
    )
    await app.start()
    calls = count_to_thread(monkeypatch)
    try:
        for i in range(5):
            await feed_raw_update(
                app,
                {
                    "update_id": 100 + i,
                    "message": {
                        "message_id": 10 + i,
                        "date": 1_767_225_600,
                        "text": f"hello number {i}",
                        "chat": {"id": -100123, "type": "supergroup", "title": "G"},
                        "from": {"id": 7, "is_bot": False, "first_name": "Ann"},
                    },
                },
            )
        assert await app.messages.count(-100123) == 5
    finally:
        await app.stop()
    assert calls == []
