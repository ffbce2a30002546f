"""Webhook mode: aiogram's handler checks secret_token; /healthz reports the database."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.app import Steward
from bot.config import Settings
from bot.webhook import build_web_app
from tests.fakes import FakeClassifier
from tests.mocked_bot import MockedBot

SECRET = "s3cret-token_1"
GROUP = -1001222333444


def update(update_id: int, message_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": 1_790_000_000,
            "chat": {"id": GROUP, "type": "supergroup", "title": "Hooked"},
            "from": {"id": 5, "is_bot": False, "first_name": "Eve"},
            "text": text,
        },
    }


async def test_webhook_requires_the_secret_and_records_messages(tmp_path: Path) -> None:
    settings = Settings(
        telegram={
            "token": "42:TEST",
            "mode": "webhook",
            "webhook_url": "https://bot.example.org",
            "webhook_secret": SECRET,
        },
        database={"path": str(tmp_path / "s.db")},
        sentiment={"max_wait_ms": 1.0},
    )
    app = Steward(settings, bot=MockedBot(auto_respond=True), classifier_loader=FakeClassifier)
    await app.start()
    client = TestClient(TestServer(build_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json())["ok"] is True

        forged = await client.post(settings.telegram.webhook_path, json=update(1, 1, "forged"))
        assert forged.status == 401
        wrong = await client.post(
            settings.telegram.webhook_path,
            json=update(2, 2, "wrong"),
            headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
        )
        assert wrong.status == 401

        good = await client.post(
            settings.telegram.webhook_path,
            json=update(3, 3, "genuine"),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert good.status == 200
        await app.in_flight.wait_idle(5)
        assert await app.messages.get(GROUP, 3) is not None
        assert await app.messages.get(GROUP, 1) is None and await app.messages.get(GROUP, 2) is None
    finally:
        await client.close()
        await app.stop()
