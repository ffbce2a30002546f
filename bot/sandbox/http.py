"""The sandbox's HTTP front: the aiohttp app the bot's client talks to. It reads a request's parameters and
uploads (query, JSON, form or multipart), runs the call through :meth:`SandboxCore._execute`, answers in the
Bot API's JSON, and serves uploaded files under ``/file/bot<token>/``."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.faults import ApiError
from bot.sandbox.methods import REGISTRY
from bot.sandbox.params import JSON_FIELDS, TOKEN, Upload, coerce_form_value
from bot.sandbox.state import JSON

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore

__all__ = ["make_app"]


def make_app(sb: SandboxCore) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/bot{token}/{method}", functools.partial(_handle_call, sb))
    app.router.add_route("GET", "/file/bot{token}/{path:.+}", functools.partial(_handle_file, sb))
    return app


def _json_response(body: JSON, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")


async def _handle_call(sb: SandboxCore, request: web.Request) -> web.StreamResponse:
    started = time.monotonic()
    wall = datetime.now(UTC)
    match = TOKEN.fullmatch(request.match_info["token"])
    if not match:
        return _json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
    bot_id = int(match.group(1))
    raw_method = request.match_info["method"]
    try:
        params, uploads = await _read_params(request)
    except ApiError as exc:
        entry = REGISTRY.lookup(raw_method)
        sb._record(entry.name if entry else raw_method, {}, started, wall, None, bot_id, error=exc)
        return _json_response(exc.payload(), exc.code)
    outcome = await sb._execute(bot_id, raw_method, params, uploads, started=started, wall=wall)
    if outcome is None:  # an injected timeout that drops the connection
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError()
    status, body = outcome
    return _json_response(body, status)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    params: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    for key, qvalue in request.query.items():
        params[key] = coerce_form_value(key, qvalue)
    if request.method != "POST" or not request.can_read_body:
        return params, uploads
    ctype = request.content_type
    if ctype == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(400, "Bad Request: can't parse JSON body") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON body must be an object")
        for key, value in body.items():
            if isinstance(value, str) and (key in JSON_FIELDS or key in ("chat_id", "from_chat_id")):
                params[key] = coerce_form_value(key, value)
            else:
                params[key] = value
    elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.post()
        for key, fvalue in form.items():
            if isinstance(fvalue, web.FileField):
                data = fvalue.file.read()
                uploads[key] = Upload(key, fvalue.filename or key, data, fvalue.content_type)
                params[key] = uploads[key]
            else:
                params[key] = coerce_form_value(key, str(fvalue))
    return params, uploads


async def _handle_file(sb: SandboxCore, request: web.Request) -> web.StreamResponse:
    path = request.match_info["path"]
    for info in sb.files.values():
        if info.get("file_path") == path and info.get("data") is not None:
            return web.Response(body=info["data"])
    return _json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
