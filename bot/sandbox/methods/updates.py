"""Getting updates: ``getUpdates`` long polling, and webhooks (``setWebhook`` on 127.0.0.1 gets the queued
updates POSTed in order, like Telegram does)."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.methods.registry import Family
from bot.sandbox.params import Ctx, Params, Upload, coerce_form_value
from bot.sandbox.state import JSON

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore

__all__ = ["ALL_UPDATE_TYPES", "DEFAULT_UPDATE_TYPES", "METHODS"]


# Update types Telegram sends when ``allowed_updates`` was never set (or set to an empty list).
ALL_UPDATE_TYPES: tuple[str, ...] = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
DEFAULT_UPDATE_TYPES: frozenset[str] = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

METHODS = Family("updates and webhooks")


@METHODS.method("getUpdates")
async def get_updates(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    if sb.webhook.get("url"):
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
            "the webhook first",
        )
    offset = p.get_int("offset") or 0
    limit = min(max(p.get_int("limit") or 100, 1), 100)
    timeout = max(float(p.get("timeout", 0) or 0), 0.0)
    _remember_allowed(sb, ctx.bot_id, p.get_obj("allowed_updates"))

    sb.poll_count += 1
    sb._journal_changed.fire()
    generation = sb._poll_generation.get(ctx.bot_id, 0) + 1
    sb._poll_generation[ctx.bot_id] = generation
    # let a poll that is still waiting notice it was superseded
    sb._updates_changed.fire()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        _confirm(sb, offset)
        _drop_unwanted(sb, ctx.bot_id)
        ready = [u for u in sb._updates if offset <= 0 or u["update_id"] >= offset]
        if ready or sb._closing:
            batch = ready[:limit]
            sb._delivered.update(int(u["update_id"]) for u in batch)
            return copy.deepcopy(batch)
        remaining = deadline - loop.time()
        if remaining <= 0:
            return []
        await sb._updates_changed.wait(remaining)
        if sb._poll_generation.get(ctx.bot_id) != generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )


def _remember_allowed(sb: SandboxCore, bot_id: int, allowed: Any) -> None:
    """``allowed_updates`` from getUpdates or setWebhook: a list replaces what Telegram remembers."""
    if isinstance(allowed, list):
        sb._allowed[bot_id] = frozenset(allowed) or DEFAULT_UPDATE_TYPES


def _drop_unwanted(sb: SandboxCore, bot_id: int) -> None:
    """Telegram drops queued updates of types the bot did not ask for (with ``strict_allowed_updates``)."""
    if sb.strict_allowed_updates:
        wanted = sb._allowed.get(bot_id, DEFAULT_UPDATE_TYPES)
        sb._updates = [u for u in sb._updates if sb.update_type(u) in wanted]


def _confirm(sb: SandboxCore, offset: int) -> None:
    if offset > 0:
        sb._updates = [u for u in sb._updates if u["update_id"] >= offset]
    elif offset < 0:
        sb._updates = sb._updates[offset:]


@METHODS.method("deleteWebhook")
async def delete_webhook(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    sb.webhook = {"url": ""}
    if p.get_bool("drop_pending_updates"):
        sb._updates.clear()
    return True


@METHODS.method("setWebhook")
async def set_webhook(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    url = p.get_str("url") or ""
    if url and not url.startswith("https://") and not _webhook_is_local(url):
        raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.get_str("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ApiError(400, "Bad Request: secret token contains unallowed characters")
    sb.webhook = {
        "url": url,
        "secret_token": p.get_str("secret_token"),
        "allowed_updates": p.get_obj("allowed_updates"),
        "max_connections": p.get_int("max_connections") or 40,
    }
    _remember_allowed(sb, ctx.bot_id, sb.webhook["allowed_updates"])
    sb.webhook["bot_id"] = ctx.bot_id
    if p.get_bool("drop_pending_updates"):
        sb._updates.clear()
    _ensure_webhook_pusher(sb)
    return True


@METHODS.method("getWebhookInfo")
async def get_webhook_info(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    info: JSON = {
        "url": sb.webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(sb._updates),
    }
    if info["url"]:
        info["max_connections"] = sb.webhook.get("max_connections", 40)
        for key in ("last_error_date", "last_error_message"):
            if sb.webhook.get(key):
                info[key] = sb.webhook[key]
        if sb.webhook.get("allowed_updates"):
            info["allowed_updates"] = sb.webhook["allowed_updates"]
    return info


def _webhook_is_local(url: str) -> bool:
    return bool(re.match(r"^https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)", url))


def _ensure_webhook_pusher(sb: SandboxCore) -> None:
    url = str(sb.webhook.get("url") or "")
    if not url or not _webhook_is_local(url) or sb._closing:
        return
    if sb._webhook_task is None or sb._webhook_task.done():
        sb._webhook_task = asyncio.get_running_loop().create_task(_push_webhook(sb))


async def _push_webhook(sb: SandboxCore) -> None:
    """POST queued updates one at a time to a local webhook (like Telegram: in order, retrying on errors),
    and run a method the webhook answers with (aiogram's ``handle_in_background=False``)."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        while not sb._closing and sb.webhook.get("url"):
            url = str(sb.webhook["url"])
            bot_id = int(sb.webhook.get("bot_id") or sb.bot_id)
            _drop_unwanted(sb, bot_id)
            if not sb._updates:
                await sb._updates_changed.wait(1.0)
                continue
            update = sb._updates[0]
            headers = {}
            if sb.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = str(sb.webhook["secret_token"])
            try:
                async with http.post(url, json=update, headers=headers) as resp:
                    status = resp.status
                    reply = await _read_webhook_reply(resp)
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, reply = 0, None
                sb.webhook["last_error_message"] = f"Connection failed: {exc!r}"
            sb.webhook_deliveries.append((int(update["update_id"]), status))
            if 200 <= status < 300:
                sb._delivered.add(int(update["update_id"]))
                if sb._updates and sb._updates[0] is update:
                    sb._updates.pop(0)
                sb._updates_changed.fire()
                if reply and reply.get("method"):
                    method = str(reply.pop("method"))
                    uploads = reply.pop("__uploads__", {})
                    await sb._execute(bot_id, method, reply, uploads)
            else:
                sb.webhook["last_error_date"] = sb.unix_now()
                if status:
                    sb.webhook["last_error_message"] = f"Wrong response from the webhook: {status}"
                await asyncio.sleep(0.2)


async def _read_webhook_reply(resp: Any) -> dict[str, Any] | None:
    import aiohttp

    ctype = resp.content_type
    if ctype == "application/json":
        try:
            body = await resp.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
    if ctype == "multipart/form-data":
        out: dict[str, Any] = {}
        uploads: dict[str, Upload] = {}
        reader = aiohttp.MultipartReader.from_response(resp)
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                continue
            if part.filename:
                uploads[part.name] = Upload(part.name, part.filename, await part.read(), None)
                out[part.name] = uploads[part.name]
            else:
                out[part.name] = coerce_form_value(part.name, await part.text())
        if isinstance(out.get("method"), str):
            out["__uploads__"] = uploads
            return out
    return None
