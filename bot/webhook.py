"""Webhook mode: aiogram's aiohttp handler with secret_token, plus a /healthz endpoint.

Telegram forgets an update once the webhook answers 200. aiogram's ``SimpleRequestHandler`` answers
at once and handles the update in the background (a crash then loses it) or, with
``handle_in_background=False``, only after the whole handling (FAQ, cases, replies through the rate-limited
outbox), which can outlast Telegram's patience. Polling already has the right promise (bot/telegram/confirm.py
``ConfirmWhenStored``): confirm an update once its message row is written. ``StoredFirstHandler`` gives the
webhook the same one: it answers when the update is stored (or handled, for updates without a row), with
a 500 when handling failed before that, so Telegram sends it again. At most ``CONCURRENCY_LIMIT`` updates are
handled at once, as in polling; further requests wait for a free slot.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError

if TYPE_CHECKING:
    from bot.app import Steward
    from bot.telegram.confirm import InFlight

log = logging.getLogger(__name__)


class StoredFirstHandler(SimpleRequestHandler):
    """Answer a webhook request only once its update is stored (see the module docstring)."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        in_flight: InFlight,
        *,
        secret_token: str | None,
        concurrency: int,
        store_timeout: float,
    ) -> None:
        super().__init__(dispatcher=dispatcher, bot=bot, handle_in_background=True, secret_token=secret_token)
        self.in_flight = in_flight
        self.slots = asyncio.Semaphore(concurrency)
        self.store_timeout = store_timeout
        self._tasks: set[asyncio.Task[Any]] = set()

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            return web.Response(body="Unauthorized", status=401)
        try:
            update = await request.json(loads=bot.session.json_loads)
        except ValueError:
            return web.Response(body="not JSON", status=400)
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.Response(body="no update_id", status=400)
        await self.slots.acquire()  # released when the handling ends, not when we answer
        stored = self.in_flight.watch(update_id)
        task = asyncio.create_task(self._feed(bot, update), name=f"webhook-update-{update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        done, _ = await asyncio.wait({stored, task}, timeout=self.store_timeout, return_when=asyncio.FIRST_COMPLETED)
        self.in_flight.unwatch(update_id, stored)
        if stored in done and stored.result():
            return web.json_response({}, dumps=bot.session.json_dumps)
        if stored in done or (task in done and not task.result()):
            # Failed before its row was written: a 5xx makes Telegram deliver it again.
            log.warning("update %s failed before it was stored; asking Telegram to send it again", update_id)
            return web.Response(body="not stored", status=500)
        if task in done:
            return web.json_response({}, dumps=bot.session.json_dumps)
        log.warning("update %s is not stored after %.0f s; confirming it anyway", update_id, self.store_timeout)
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def _feed(self, bot: Bot, update: dict[str, Any]) -> bool:
        """Handle one update; False when it failed in a way a second delivery may fix."""
        try:
            result = await self.dispatcher.feed_raw_update(bot=bot, update=update, **self.data)
            if isinstance(result, TelegramMethod):
                await self.dispatcher.silent_call_request(bot=bot, result=result)
        except ValidationError:
            log.warning("dropping update %s: it is not an update this bot can read", update.get("update_id"))
        except Exception:
            log.exception("handling update %s failed", update.get("update_id"))
            return False
        finally:
            self.slots.release()
        return True

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.store_timeout)
        await super().close()


def build_web_app(app: Steward) -> web.Application:
    from bot.telegram.confirm import CONCURRENCY_LIMIT, STORE_TIMEOUT_S

    settings = app.settings.telegram
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    web_app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        healthy = app.db.is_open
        return web.json_response({"ok": healthy, "in_flight": app.in_flight.count}, status=200 if healthy else 503)

    web_app.router.add_get("/healthz", healthz)
    StoredFirstHandler(
        app.dispatcher,
        app.bot,
        app.in_flight,
        secret_token=secret,
        concurrency=CONCURRENCY_LIMIT,
        store_timeout=STORE_TIMEOUT_S,
    ).register(web_app, path=settings.webhook_path)
    setup_application(web_app, app.dispatcher, bot=app.bot)
    if app.settings.dashboard.enabled:  # the managers' dashboard under /app/ of the same server
        from bot.dashboard.web import deps_of, mount

        mount(web_app, deps_of(app))
    return web_app


async def run_webhook(app: Steward) -> None:
    settings = app.settings.telegram
    # Config validation guarantees both when mode is "webhook".
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    from bot.app import ALLOWED_UPDATES

    await app.bot.set_webhook(
        url=settings.webhook_url.rstrip("/") + settings.webhook_path,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=settings.drop_pending_updates,
    )
    await app.announce_commands()
    runner = web.AppRunner(build_web_app(app))
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    log.info("webhook server on %s:%s%s", settings.webhook_host, settings.webhook_port, settings.webhook_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
