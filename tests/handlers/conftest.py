"""The handler tests' app: the real Steward from bot.app with a FIFO MockedBot that answers every call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Steward
from bot.config import Settings
from tests.fakes import FakeClassifier
from tests.mocked_bot import MockedBot

MANAGER = 77
TOKEN = "42:TEST"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Steward]:
    settings = Settings(
        telegram={"token": TOKEN},
        database={"path": str(tmp_path / "s.db")},
        managers={"ids": [MANAGER]},
        sentiment={"max_wait_ms": 1.0},
    )
    steward = Steward(settings, bot=MockedBot(auto_respond=True), classifier_loader=FakeClassifier)
    await steward.start()
    yield steward
    await steward.stop()
