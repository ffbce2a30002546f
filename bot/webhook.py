"""Webhook mode: aiogram's aiohttp handler with secret_token, plus a /healthz endpoint."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

if TYPE_CHECKING:
    from bot.app import Steward

log = logging.getLogger(__name__)


def build_web_app(app: Steward) -> web.Application:
    settings = app.settings.telegram
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    web_app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        healthy = app.db.is_open
        return web.json_response({"ok": healthy, "in_flight": app.in_flight.count}, status=200 if healthy else 503)

    web_app.router.add_get("/healthz", healthz)
    SimpleRequestHandler(dispatcher=app.dispatcher, bot=app.bot, secret_token=secret).register(
        web_app, path=settings.webhook_path
    )
    setup_application(web_app, app.dispatcher, bot=app.bot)
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
