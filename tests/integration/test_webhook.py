"""Webhook mode: aiogram's handler checks secret_token; /healthz reports the database; an update is confirmed
(200) only once its message row is written, a crash before that gets a 500 so Telegram sends it again, and
handling is capped as in polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import Steward
from bot.config import Settings
from bot.webhook import StoredFirstHandler, build_web_app
from tests.fakes import FakeClassifier
from tests.mocked_bot import MockedBot
from tests.waiting import holds_for, stays_pending, wait_until

SECRET = "s3cret-token_1-long-enough"
GROUP = -1001222333444
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


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


def make_settings(tmp_path: Path) -> Settings:
    return Settings(
        telegram={
            "token": "42:TEST",
            "mode": "webhook",
            "webhook_url": "https://bot.example.org",
            "webhook_secret": SECRET,
        },
        database={"path": str(tmp_path / "s.db")},
        sentiment={"max_wait_ms": 1.0},
        faq={"enabled": False},
    )


@asynccontextmanager
async def hooked(tmp_path: Path) -> AsyncIterator[tuple[Steward, TestClient[Any, Any]]]:
    settings = make_settings(tmp_path)
    app = Steward(settings, bot=MockedBot(auto_respond=True), classifier_loader=FakeClassifier)
    await app.start()
    client: TestClient[Any, Any] = TestClient(TestServer(build_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()
        await app.stop()


async def test_webhook_requires_the_secret_and_records_messages(tmp_path: Path) -> None:
    async with hooked(tmp_path) as (app, client):
        path = app.settings.telegram.webhook_path
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json())["ok"] is True

        forged = await client.post(path, json=update(1, 1, "forged"))
        assert forged.status == 401
        wrong = await client.post(path, json=update(2, 2, "wrong"), headers={"X-Telegram-Bot-Api-Secret-Token": "no"})
        assert wrong.status == 401

        good = await client.post(path, json=update(3, 3, "genuine"), headers=HEADERS)
        assert good.status == 200
        await app.in_flight.wait_idle(5)
        assert await app.messages.get(GROUP, 3) is not None
        assert await app.messages.get(GROUP, 1) is None and await app.messages.get(GROUP, 2) is None
        bad = await client.post(path, data=b"{not json", headers=HEADERS)
        assert bad.status == 400


async def test_the_webhook_answers_only_after_the_message_row_is_written(tmp_path: Path) -> None:
    async with hooked(tmp_path) as (app, client):
        release, entered = asyncio.Event(), asyncio.Event()
        record = app.messages.record

        async def slow_record(*args: Any, **kwargs: Any) -> Any:
            entered.set()
            await release.wait()
            return await record(*args, **kwargs)

        app.messages.record = slow_record  # type: ignore[method-assign]
        request = asyncio.create_task(
            client.post(app.settings.telegram.webhook_path, json=update(7, 7, "hold on"), headers=HEADERS)
        )
        await wait_until(entered.is_set, what="the handler to start storing the message")
        await stays_pending(request, window=0.3, what="the webhook request")
        assert not request.done(), "answered 200 before the message was stored: a crash now would lose it"
        assert await app.messages.get(GROUP, 7) is None
        release.set()
        response = await asyncio.wait_for(request, 5)
        assert response.status == 200
        assert await app.messages.get(GROUP, 7) is not None  # the row exists when Telegram hears 200


async def test_the_answer_does_not_wait_for_the_rest_of_the_handling(tmp_path: Path) -> None:
    async with hooked(tmp_path) as (app, client):
        forever = asyncio.Event()

        async def stuck_listener(ctx: Any) -> None:
            await forever.wait()

        class Stuck:
            on_message = staticmethod(stuck_listener)

        app.community_service.listeners.append(Stuck())  # a feature that never finishes
        response = await asyncio.wait_for(
            client.post(app.settings.telegram.webhook_path, json=update(8, 8, "slow feature"), headers=HEADERS), 5
        )
        assert response.status == 200
        assert app.in_flight.count == 1  # still being handled, and already safe
        assert await app.messages.get(GROUP, 8) is not None
        forever.set()


async def test_a_crash_before_the_row_is_written_gets_a_500_and_the_redelivery_is_kept(tmp_path: Path) -> None:
    async with hooked(tmp_path) as (app, client):
        record = app.messages.record
        calls = {"n": 0}

        async def crashing_record(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("disk I/O error")
            return await record(*args, **kwargs)

        app.messages.record = crashing_record  # type: ignore[method-assign]
        path = app.settings.telegram.webhook_path
        first = await client.post(path, json=update(9, 9, "do not lose me"), headers=HEADERS)
        assert first.status == 500  # Telegram keeps the update and sends it again
        assert await app.messages.get(GROUP, 9) is None
        again = await client.post(path, json=update(9, 9, "do not lose me"), headers=HEADERS)
        assert again.status == 200
        stored = await app.messages.get(GROUP, 9)
        assert stored is not None and stored.text == "do not lose me"


async def test_webhook_handling_is_capped(tmp_path: Path) -> None:
    async with hooked(tmp_path) as (app, _client):
        from aiohttp import web

        handler = StoredFirstHandler(
            app.dispatcher, app.bot, app.in_flight, secret_token=SECRET, concurrency=2, store_timeout=10
        )
        web_app = web.Application()
        handler.register(web_app, path="/capped")
        capped: TestClient[Any, Any] = TestClient(TestServer(web_app, host="127.0.0.1"))
        await capped.start_server()
        release, started = asyncio.Event(), []
        record = app.messages.record

        async def slow_record(msg: Any, *args: Any, **kwargs: Any) -> Any:
            started.append(msg.message_id)
            await release.wait()
            return await record(msg, *args, **kwargs)

        app.messages.record = slow_record  # type: ignore[method-assign]
        try:
            requests = [
                asyncio.create_task(capped.post("/capped", json=update(20 + i, 20 + i, f"m{i}"), headers=HEADERS))
                for i in range(4)
            ]
            await wait_until(lambda: len(started) >= 2, what="two updates to be in handling")
            await holds_for(lambda: len(started) <= 2, window=0.3, what="at most two updates in handling")
            assert len(started) == 2  # two handled at once; the other requests wait for a slot
            release.set()
            statuses = [r.status for r in await asyncio.gather(*requests)]
            assert statuses == [200] * 4 and len(started) == 4
        finally:
            await capped.close()
