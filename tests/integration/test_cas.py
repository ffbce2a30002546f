"""The optional CAS lookup against a local fake CAS server: a listed new member's first message makes a card,
an unlisted one does not, and a CAS that does not answer in time changes nothing (and is cached when it does)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from bot.sandbox import SandboxBotAPI
from bot.services.cas import CasClient
from tests.harness import TOKEN, running_bot
from tests.integration.test_moderation import ANN, CLUB, SETTINGS, SPAMMER, mod_cards, populate
from tests.local_server import serve

SLOW = 1999


async def fake_cas() -> tuple[web.AppRunner, str, list[str]]:
    asked: list[str] = []

    async def check(request: web.Request) -> web.Response:
        user = request.query.get("user_id", "")
        asked.append(user)
        if user == str(SLOW):
            await asyncio.sleep(2)
        if user == str(SPAMMER):
            return web.json_response({"ok": True, "result": {"offenses": 3, "messages": ["buy now"]}})
        return web.json_response({"ok": False, "description": "Record not found."})

    app = web.Application()
    app.router.add_get("/check", check)
    runner, port = await serve(app)
    return runner, f"http://127.0.0.1:{port}/check", asked


async def test_a_listed_new_member_makes_a_card(tmp_path: Path) -> None:
    runner, url, asked = await fake_cas()
    try:
        async with SandboxBotAPI(token=TOKEN) as sb:
            populate(sb)
            sb.add_user(SLOW, "Slow")
            settings = {**SETTINGS, "moderation": {"cas": True, "cas_url": url, "cas_timeout_s": 0.5}}
            async with running_bot(tmp_path, sandbox=sb, **settings) as h:
                sb.join(CLUB, SPAMMER)
                sb.join(CLUB, SLOW)
                sb.send_message(CLUB, ANN, "hello everyone")
                sb.send_message(CLUB, SLOW, "hello everyone, glad to be here")
                sb.send_message(CLUB, SPAMMER, "hello everyone, glad to be here")
                await h.settle(timeout=10)
                [card] = mod_cards(sb)
                assert "CAS ban list" in card["text"] and "Lucky" in card["text"]
                assert sorted(asked) == sorted([str(ANN), str(SLOW), str(SPAMMER)])
    finally:
        await runner.cleanup()


async def test_answers_are_cached_and_failures_are_unknown() -> None:
    runner, url, asked = await fake_cas()
    try:
        client = CasClient(url, timeout_s=0.3)
        assert await client.is_listed(SPAMMER) is True
        assert await client.is_listed(SPAMMER) is True
        assert await client.is_listed(ANN) is False
        assert await client.is_listed(SLOW) is None  # no answer within the timeout
        assert asked.count(str(SPAMMER)) == 1
        dead = CasClient("http://127.0.0.1:9/check", timeout_s=0.3)
        assert await dead.is_listed(ANN) is None
    finally:
        await runner.cleanup()
