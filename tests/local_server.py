"""Serve a small aiohttp app on loopback for a test (a fake CAS, a feed host, a webhook receiver)."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve(app: web.Application, **runner: Any) -> tuple[web.AppRunner, int]:
    """Start ``app`` on 127.0.0.1 on a free port; the runner (``await runner.cleanup()`` when done) and the port."""
    started = web.AppRunner(app, **runner)
    await started.setup()
    site = web.TCPSite(started, "127.0.0.1", 0)
    await site.start()
    return started, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
