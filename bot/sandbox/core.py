"""The sandbox Bot API server: state, HTTP front, Bot API methods, the journal and fault injection.

User-side helpers (acting as members) live in :mod:`bot.sandbox.actors`; this module holds everything the
bot can reach over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox.entities import EntityParseError, detect_entities, parse_html
from bot.sandbox.faults import ApiError, Fault, Injection
from bot.sandbox.state import (
    ADMIN_RIGHTS,
    CHANNEL_ADMIN_RIGHTS,
    RESTRICTED_PERMISSIONS,
    Call,
    ChatState,
    Member,
)

__all__ = ["DEFAULT_UPDATE_TYPES", "SandboxCore"]

log = logging.getLogger("bot.sandbox")

JSON = dict[str, Any]
Handler = Callable[["_Ctx", "_Params"], Awaitable[Any]]

_TOKEN = re.compile(r"(\d+):[A-Za-z0-9_\-:.~]+")

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

# Form fields that are plain strings even when they look like JSON ("123", "true").
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "name",
        "title",
        "description",
        "short_description",
        "callback_query_id",
        "url",
        "invite_link",
        "action",
        "emoji",
        "icon_custom_emoji_id",
        "language_code",
        "secret_token",
        "ip_address",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "custom_title",
        "file_id",
        "photo",
        "document",
        "video",
        "audio",
        "animation",
        "voice",
        "video_note",
        "sticker",
        "thumbnail",
        "certificate",
        "question",
        "address",
    }
)
# Fields that carry JSON even in a JSON body, where some clients still send them as strings.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
        "commands",
        "scope",
        "reaction",
        "media",
        "permissions",
        "message_ids",
        "options",
    }
)

_SENDING_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendAnimation", "sendVoice",
        "sendSticker", "sendMediaGroup", "copyMessage", "forwardMessage",
    }
)  # fmt: skip
_MEDIA_KINDS = ("photo", "document", "video", "audio", "animation", "voice", "video_note", "sticker")


class _Upload:
    """A file that came in a multipart request."""

    def __init__(self, field: str, filename: str, data: bytes, content_type: str | None) -> None:
        self.field = field
        self.filename = filename
        self.data = data
        self.content_type = content_type

    def describe(self) -> JSON:
        return {"upload": self.filename, "size": len(self.data)}


class _Ctx:
    def __init__(self, bot_id: int, method: str, uploads: dict[str, _Upload]) -> None:
        self.bot_id = bot_id
        self.method = method
        self.uploads = uploads


class _Params:
    """Typed access to request parameters with Bot-API-like error wording."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def has(self, key: str) -> bool:
        return self.raw.get(key) not in (None, "")

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    def get_int(self, key: str, *, required: bool = False) -> int | None:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                raise ApiError(400, f"Bad Request: {key} is empty")
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise ApiError(400, f"Bad Request: invalid {key} specified")

    def req_int(self, key: str) -> int:
        value = self.get_int(key, required=True)
        assert value is not None
        return value

    def get_str(self, key: str, default: str | None = None) -> str | None:
        value = self.raw.get(key)
        if value is None:
            return default
        if isinstance(value, _Upload):
            return f"attach://{value.field}"
        return value if isinstance(value, str) else json.dumps(value)

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def get_obj(self, key: str) -> Any:
        value = self.raw.get(key)
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from exc
        return value


def _coerce_form_value(key: str, value: str) -> Any:
    if key in _STRING_FIELDS:
        return value
    if key == "chat_id" or key == "from_chat_id":
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    try:
        return json.loads(value)
    except ValueError:
        return value


class SandboxCore:
    """State and HTTP side of :class:`bot.sandbox.SandboxBotAPI`."""

    def __init__(
        self,
        *,
        token: str = "123456:SANDBOX-token",
        bot_username: str = "steward_bot",
        bot_first_name: str = "Steward",
        can_join_groups: bool = True,
        can_read_all_group_messages: bool = False,
        supports_inline_queries: bool = False,
        topic_replies_point_to_topic: bool = True,
        reply_threads_in_supergroups: bool = True,
        strict_allowed_updates: bool = True,
        clock: Callable[[], datetime] | None = None,
        first_update_id: int = 1,
    ) -> None:
        match = _TOKEN.fullmatch(token)
        if not match:
            raise ValueError(f"token must look like '<digits>:<secret>', got {token!r}")
        self.token = token
        self.bot_id = int(match.group(1))
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.can_join_groups = can_join_groups
        self.can_read_all_group_messages = can_read_all_group_messages
        self.supports_inline_queries = supports_inline_queries
        # Realism switches (both on in real Telegram):
        # * a message in a forum topic that is not an explicit reply carries reply_to_message = the topic's
        #   forum_topic_created service message;
        # * a reply in a non-forum supergroup carries message_thread_id = the root of its reply thread
        #   (without is_topic_message).
        self.topic_replies_point_to_topic = topic_replies_point_to_topic
        self.reply_threads_in_supergroups = reply_threads_in_supergroups
        self.strict_allowed_updates = strict_allowed_updates
        self._clock = clock or (lambda: datetime.now(UTC))

        self.users: dict[int, JSON] = {}
        self.chats: dict[int, ChatState] = {}
        self.blocked_by: set[int] = set()  # users who blocked the bot
        self.started_by: set[int] = set()  # users who have a private chat with the bot
        # Telegram lets a bot write to someone who asked to join a chat it administers (user_chat_id).
        self.join_requesters: set[int] = set()
        self.files: dict[str, JSON] = {}  # file_id → {"kind", "file_unique_id", "file_name", "data", "url", ...}
        self.uploads: list[tuple[str, bytes]] = []  # (filename, data) in upload order
        self.callback_queries: dict[str, JSON] = {}  # id → {"query", "answered", "answer"}
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope json, language) → commands
        self.bot_reactions: dict[tuple[int, int], list[JSON]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook: JSON = {"url": ""}
        self.injections: list[Injection] = []
        self._journal: list[Call] = []
        self._sent: list[tuple[int, int]] = []  # (chat id, message id) of the bot's messages, in order
        self.poll_count = 0  # getUpdates requests received (counted on arrival)
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0 = no connection)
        self._delivered: set[int] = set()  # update ids returned by getUpdates or accepted by the webhook
        self._flood: dict[str, tuple[int | None, float]] = {}
        self._flood_log: dict[tuple[str, int | None], list[float]] = {}
        self._webhook_task: asyncio.Task[None] | None = None

        self._updates: list[JSON] = []
        self._next_update_id = first_update_id
        self._allowed: dict[int, frozenset[str]] = {}
        self._poll_generation: dict[int, int] = {}
        self._updates_changed = asyncio.Event()
        self._journal_changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._base_url: str | None = None
        self._methods: dict[str, tuple[str, Handler]] = {}
        self._register_methods()
        self._ensure_bot_user(self.bot_id)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: a free port) and return :attr:`base_url`."""
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner, self._site = runner, site
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound_port = sockets[0].getsockname()[1] if sockets else port
        self._base_url = f"http://{host}:{bound_port}"
        log.info("sandbox Bot API listening on %s", self._base_url)
        return self._base_url

    async def stop(self) -> None:
        """Wake every long poll, then shut the server down."""
        self._closing = True
        self._pulse_updates()
        self._pulse_journal()
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        """``http://host:port``, for ``TelegramAPIServer.from_base(base_url)``."""
        if self._base_url is None:
            raise RuntimeError("sandbox not started")
        return self._base_url

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    # ------------------------------------------------------------------ time

    def now(self) -> datetime:
        return self._clock()

    def unix_now(self) -> int:
        return int(self.now().timestamp())

    # ------------------------------------------------------------------ pulses (sync-safe notifications)

    # Long polls and wait_for() wait on an Event that is set and replaced on each change. Unlike
    # asyncio.Condition.notify_all() this needs no lock, so the synchronous user helpers can wake waiters.

    def _pulse_updates(self) -> None:
        event, self._updates_changed = self._updates_changed, asyncio.Event()
        event.set()

    def _pulse_journal(self) -> None:
        event, self._journal_changed = self._journal_changed, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ users and chats (shared helpers)

    def _ensure_bot_user(self, bot_id: int) -> JSON:
        user = self.users.get(bot_id)
        if user is None:
            user = {"id": bot_id, "is_bot": True, "first_name": self.bot_first_name}
            if self.bot_username:
                user["username"] = self.bot_username
            self.users[bot_id] = user
        return user

    def bot_user(self, bot_id: int | None = None) -> JSON:
        return dict(self._ensure_bot_user(self.bot_id if bot_id is None else bot_id))

    def user(self, user_id: int) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            raise KeyError(f"unknown user {user_id}; call add_user() first")
        return dict(user)

    def chat(self, chat_id: int) -> ChatState:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}")
        return chat

    def private_chat(self, user_id: int) -> ChatState:
        chat = self.chats.get(user_id)
        if chat is None:
            user = self.user(user_id)
            chat = ChatState(
                id=user_id,
                type="private",
                first_name=user.get("first_name"),
                last_name=user.get("last_name"),
                username=user.get("username"),
            )
            self.chats[user_id] = chat
        return chat

    def _render_user(self, user_id: int) -> JSON:
        user = self.users.get(user_id)
        return dict(user) if user else {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}

    def render_member(self, chat: ChatState, user_id: int) -> JSON:
        return chat.member(user_id).render(self._render_user(user_id))

    # ------------------------------------------------------------------ updates

    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update (``update_id`` is assigned when missing) and wake long polls."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"])) + 1
        self._updates.append(update)
        self._pulse_updates()
        return update

    def _enqueue(self, kind: str, payload: JSON) -> JSON:
        return self.push_update({kind: copy.deepcopy(payload)})

    def pending_updates(self) -> list[JSON]:
        """Queued updates not yet confirmed by a later getUpdates ``offset`` (so a batch the bot has received
        stays here until its next poll)."""
        return [copy.deepcopy(u) for u in self._updates]

    def undelivered_updates(self) -> list[JSON]:
        """Queued updates no getUpdates call (or webhook POST) has handed out yet."""
        return [copy.deepcopy(u) for u in self._updates if int(u["update_id"]) not in self._delivered]

    @staticmethod
    def update_type(update: JSON) -> str:
        return next((k for k in update if k != "update_id"), "")

    # ------------------------------------------------------------------ journal

    def calls(self, method: str | None = None, chat_id: int | None = None, *, ok: bool | None = None) -> list[Call]:
        """Journaled calls, optionally filtered by method (case-insensitive), chat id and outcome."""
        out = []
        for call in self._journal:
            if method is not None and call.method.lower() != method.lower():
                continue
            if chat_id is not None and call.chat_id != chat_id:
                continue
            if ok is not None and call.ok != ok:
                continue
            out.append(call)
        return out

    @property
    def journal(self) -> list[Call]:
        return list(self._journal)

    def clear_journal(self) -> None:
        """Forget every journaled call (indices from :meth:`mark` restart at 0)."""
        self._journal.clear()

    def mark(self) -> int:
        """The current journal length: pass it as ``since=`` to wait only for later calls."""
        return len(self._journal)

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
        chat_id: int | None = None,
        ok: bool | None = True,
    ) -> Call:
        """Return the first journaled call at index >= ``since`` to ``method`` (``"*"``: any) that matches
        ``chat_id``, ``ok`` (successful by default; ``None``: either) and ``predicate``; wait for it if
        needed. Raises ``TimeoutError`` listing the calls seen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = since
        while True:
            while index < len(self._journal):
                call = self._journal[index]
                index += 1
                if method != "*" and call.method.lower() != method.lower():
                    continue
                if chat_id is not None and call.chat_id != chat_id:
                    continue
                if ok is not None and call.ok != ok:
                    continue
                if predicate is not None and not predicate(call):
                    continue
                return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [f"{c.method}({c.chat_id})={'ok' if c.ok else c.error_code}" for c in self._journal[since:]]
                seen = [s for s in seen if not s.startswith("getUpdates")][-20:]
                raise TimeoutError(f"no {method} call matched within {timeout}s; calls since {since}: {seen}")
            event = self._journal_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def sent_messages(
        self, chat_id: int | None = None, thread_id: int | None = None, *, include_deleted: bool = False
    ) -> list[JSON]:
        """Messages the bot sent (sendMessage, sendPhoto, copyMessage, forwardMessage…), in order, in their
        current state (edits applied). ``thread_id`` matches ``message_thread_id``."""
        out = []
        for cid, mid in self._sent:
            if chat_id is not None and cid != chat_id:
                continue
            chat = self.chats[cid]
            msg = chat.messages.get(mid)
            if msg is None:
                if not include_deleted or mid not in chat.deleted:
                    continue
                msg = chat.deleted[mid]
            if thread_id is not None and msg.get("message_thread_id") != thread_id:
                continue
            out.append(copy.deepcopy(msg))
        return out

    def sent_texts(self, chat_id: int | None = None, thread_id: int | None = None) -> list[str]:
        """Text (or caption) of each message the bot sent, in order."""
        return [m.get("text") or m.get("caption") or "" for m in self.sent_messages(chat_id, thread_id)]

    # ------------------------------------------------------------------ faults

    def inject(
        self,
        method: str,
        fault: Fault,
        *,
        chat_id: int | None = None,
        times: int | None = 1,
        every: int = 1,
        after: int = 0,
        duration: float | None = None,
    ) -> Injection:
        """Make matching calls (``method`` case-insensitive, ``"*"`` = any; ``chat_id`` None = any chat) fail.

        The fault hits matching call number ``after + 1``, then every ``every``-th matching call, ``times``
        times in all (``None``: without end), for ``duration`` seconds (None: no time limit). Returns the
        rule; ``rule.cancel()`` removes it, ``rule.fired`` counts hits."""
        rule = Injection(
            method=method,
            fault=fault,
            chat_id=chat_id,
            times=times,
            every=every,
            after=after,
            until=None if duration is None else time.monotonic() + duration,
        )
        self.injections.append(rule)
        return rule

    def inject_schedule(
        self, method: str, schedule: Sequence[Fault | None], *, chat_id: int | None = None
    ) -> Injection:
        """One entry per matching call, in order: a Fault to apply, or None to let that call through.
        E.g. ``[Fault.retry_after(2), None, None, Fault.server_error()]``."""
        rule = Injection(method=method, fault=None, chat_id=chat_id, schedule=list(schedule))
        self.injections.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.injections.clear()

    def _take_fault(self, method: str, chat_id: int | None) -> Fault | None:
        chosen: Fault | None = None
        for rule in self.injections:  # in order; the first rule that fires takes the call, later ones skip it
            if rule.active and rule.matches(method, chat_id):
                chosen = rule.take()
                if chosen is not None:
                    break
        self.injections = [r for r in self.injections if r.active]
        return chosen

    # ------------------------------------------------------------------ HTTP front

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
        params: dict[str, Any] = {}
        uploads: dict[str, _Upload] = {}
        for key, qvalue in request.query.items():
            params[key] = _coerce_form_value(key, qvalue)
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
                if isinstance(value, str) and (key in _JSON_FIELDS or key in ("chat_id", "from_chat_id")):
                    params[key] = _coerce_form_value(key, value)
                else:
                    params[key] = value
        elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, fvalue in form.items():
                if isinstance(fvalue, web.FileField):
                    data = fvalue.file.read()
                    uploads[key] = _Upload(key, fvalue.filename or key, data, fvalue.content_type)
                    params[key] = uploads[key]
                else:
                    params[key] = _coerce_form_value(key, str(fvalue))
        return params, uploads

    @staticmethod
    def _describe_params(params: dict[str, Any]) -> dict[str, Any]:
        return {k: (v.describe() if isinstance(v, _Upload) else v) for k, v in params.items()}

    def _call_chat_id(self, method: str, params: dict[str, Any]) -> int | None:
        value = params.get("chat_id")
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            if re.fullmatch(r"-?\d+", value):
                return int(value)
            name = value.lstrip("@").lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat.id
            return None
        if method.lower() == "answercallbackquery":
            entry = self.callback_queries.get(str(params.get("callback_query_id")))
            message = entry["query"].get("message") if entry else None
            if message:
                return int(message["chat"]["id"])
        return None

    def _json_response(self, body: JSON, status: int = 200) -> web.Response:
        return web.Response(text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        wall = datetime.now(UTC)
        match = _TOKEN.fullmatch(request.match_info["token"])
        if not match:
            return self._json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        bot_id = int(match.group(1))
        raw_method = request.match_info["method"]
        try:
            params, uploads = await self._read_params(request)
        except ApiError as exc:
            entry = self._methods.get(raw_method.lower())
            self._record(entry[0] if entry else raw_method, {}, started, wall, None, bot_id, error=exc)
            return self._json_response(exc.payload(), exc.code)
        outcome = await self._execute(bot_id, raw_method, params, uploads, started=started, wall=wall)
        if outcome is None:  # an injected timeout that drops the connection
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError()
        status, body = outcome
        return self._json_response(body, status)

    async def call(self, method: str, **params: Any) -> Any:
        """Run a Bot API method in-process, as the bot (journaled and fault-injected like an HTTP call).
        Returns the result or raises :class:`ApiError`."""
        outcome = await self._execute(self.bot_id, method, dict(params), {})
        if outcome is None:
            raise ApiError(0, "connection dropped by injected timeout")
        _status, body = outcome
        if not body.get("ok"):
            raise ApiError(int(body["error_code"]), str(body["description"]), body.get("parameters"))
        return body["result"]

    async def _execute(
        self,
        bot_id: int,
        raw_method: str,
        params: dict[str, Any],
        uploads: dict[str, _Upload],
        *,
        started: float | None = None,
        wall: datetime | None = None,
    ) -> tuple[int, JSON] | None:
        """Run one call: faults, flood limits, the method, the journal. None means "drop the connection"."""
        started = time.monotonic() if started is None else started
        wall = datetime.now(UTC) if wall is None else wall
        self._ensure_bot_user(bot_id)
        entry = self._methods.get(raw_method.lower())
        method = entry[0] if entry else raw_method
        chat_id = self._call_chat_id(method, params)
        fault = self._take_fault(method, chat_id)

        def fail(error: ApiError) -> tuple[int, JSON]:
            self._record(method, params, started, wall, chat_id, bot_id, error=error, fault=fault)
            return error.code, error.payload()

        if fault is not None:
            if fault.kind == "error":
                return fail(fault.api_error())
            await asyncio.sleep(fault.seconds)
            if fault.kind == "timeout" and fault.then == "drop":
                self._record(
                    method, params, started, wall, chat_id, bot_id,
                    error=ApiError(0, "connection dropped by injected timeout"), fault=fault,
                )  # fmt: skip
                return None
        if entry is None:
            return fail(ApiError(404, "Not Found: method not found"))
        flood = self._flood_check(method, chat_id)
        if flood is not None:
            return fail(flood)
        try:
            result = await entry[1](_Ctx(bot_id, method, uploads), _Params(params))
        except ApiError as exc:
            return fail(exc)
        except Exception as exc:  # a sandbox bug must look like a server error, not hang the client
            log.exception("sandbox failed on %s", method)
            return fail(ApiError(500, f"Internal Server Error: sandbox failed: {exc!r}"))
        self._record(method, params, started, wall, chat_id, bot_id, result=result, fault=fault)
        return 200, {"ok": True, "result": result}

    # ------------------------------------------------------------------ flood limits (opt-in)

    def set_flood_limits(
        self,
        *,
        per_group_per_minute: int | None = 20,
        per_private_chat_per_second: int | None = 1,
        global_per_second: int | None = 30,
    ) -> None:
        """Answer 429 (with a computed ``retry_after``) like Telegram does when the bot sends faster than
        these limits: messages per group per minute, per private chat per second, and overall per second.
        Only calls that create messages count. Off by default; :meth:`clear_flood_limits` turns it off."""
        self._flood = {
            "group": (per_group_per_minute, 60.0),
            "private": (per_private_chat_per_second, 1.0),
            "global": (global_per_second, 1.0),
        }
        self._flood_log.clear()

    def clear_flood_limits(self) -> None:
        self._flood = {}
        self._flood_log.clear()

    def _flood_check(self, method: str, chat_id: int | None) -> ApiError | None:
        if not self._flood or method not in _SENDING_METHODS:
            return None
        now = time.monotonic()
        chat = self.chats.get(chat_id) if chat_id is not None else None
        keys: list[tuple[str, int | None]] = [("global", None)]
        if chat is not None:
            keys.append(("private" if chat.type == "private" else "group", chat.id))
        wait = 0.0
        for kind, cid in keys:
            limit, window = self._flood.get(kind, (None, 0.0))
            if not limit:
                continue
            stamps = self._flood_log.setdefault((kind, cid), [])
            stamps[:] = [t for t in stamps if now - t < window]
            if len(stamps) >= limit:
                wait = max(wait, window - (now - stamps[-limit]))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            return ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for kind, cid in keys:
            if self._flood.get(kind, (None, 0.0))[0]:
                self._flood_log.setdefault((kind, cid), []).append(now)
        return None

    # ------------------------------------------------------------------ webhook delivery

    def _webhook_is_local(self, url: str) -> bool:
        return bool(re.match(r"^https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)", url))

    def _ensure_webhook_pusher(self) -> None:
        url = str(self.webhook.get("url") or "")
        if not url or not self._webhook_is_local(url) or self._closing:
            return
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._push_webhook())

    async def _push_webhook(self) -> None:
        """POST queued updates one at a time to a local webhook (like Telegram: in order, retrying on errors),
        and run a method the webhook answers with (aiogram's ``handle_in_background=False``)."""
        import aiohttp

        async with aiohttp.ClientSession() as http:
            while not self._closing and self.webhook.get("url"):
                url = str(self.webhook["url"])
                bot_id = int(self.webhook.get("bot_id") or self.bot_id)
                wanted = self._allowed.get(bot_id, DEFAULT_UPDATE_TYPES) if self.strict_allowed_updates else None
                if wanted is not None:
                    self._updates = [u for u in self._updates if self.update_type(u) in wanted]
                if not self._updates:
                    event = self._updates_changed
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), 1.0)
                    continue
                update = self._updates[0]
                headers = {}
                if self.webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
                try:
                    async with http.post(url, json=update, headers=headers) as resp:
                        status = resp.status
                        reply = await self._read_webhook_reply(resp)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, reply = 0, None
                    self.webhook["last_error_message"] = f"Connection failed: {exc!r}"
                self.webhook_deliveries.append((int(update["update_id"]), status))
                if 200 <= status < 300:
                    self._delivered.add(int(update["update_id"]))
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                    self._pulse_updates()
                    if reply and reply.get("method"):
                        method = str(reply.pop("method"))
                        uploads = reply.pop("__uploads__", {})
                        await self._execute(bot_id, method, reply, uploads)
                else:
                    self.webhook["last_error_date"] = self.unix_now()
                    if status:
                        self.webhook["last_error_message"] = f"Wrong response from the webhook: {status}"
                    await asyncio.sleep(0.2)

    @staticmethod
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
            uploads: dict[str, _Upload] = {}
            reader = aiohttp.MultipartReader.from_response(resp)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                    continue
                if part.filename:
                    uploads[part.name] = _Upload(part.name, part.filename, await part.read(), None)
                    out[part.name] = uploads[part.name]
                else:
                    out[part.name] = _coerce_form_value(part.name, await part.text())
            if isinstance(out.get("method"), str):
                out["__uploads__"] = uploads
                return out
        return None

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        started: float,
        wall: datetime,
        chat_id: int | None,
        bot_id: int,
        *,
        result: Any = None,
        error: ApiError | None = None,
        fault: Fault | None = None,
    ) -> Call:
        call = Call(
            method=method,
            params=self._describe_params(params),
            at=started,
            wall=wall,
            chat_id=chat_id,
            ok=error is None,
            error_code=None if error is None else (error.code or None),
            result=copy.deepcopy(result),
            description=None if error is None else error.description,
            fault=fault,
            bot_id=bot_id,
            index=len(self._journal),
            duration=time.monotonic() - started,
        )
        self._journal.append(call)
        self._pulse_journal()
        return call

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        for info in self.files.values():
            if info.get("file_path") == path and info.get("data") is not None:
                return web.Response(body=info["data"])
        return self._json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    # ------------------------------------------------------------------ method registry

    def _register_methods(self) -> None:
        table: dict[str, Handler] = {
            "getMe": self._m_get_me,
            "getUpdates": self._m_get_updates,
            "deleteWebhook": self._m_delete_webhook,
            "setWebhook": self._m_set_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "close": self._m_true,
            "logOut": self._m_true,
            "sendMessage": self._m_send_message,
            "sendPhoto": self._m_send_media,
            "sendDocument": self._m_send_media,
            "sendVideo": self._m_send_media,
            "sendAudio": self._m_send_media,
            "sendAnimation": self._m_send_media,
            "sendVoice": self._m_send_media,
            "sendSticker": self._m_send_media,
            "sendMediaGroup": self._m_send_media_group,
            "copyMessage": self._m_copy_message,
            "forwardMessage": self._m_forward_message,
            "editMessageText": self._m_edit_message_text,
            "editMessageCaption": self._m_edit_message_caption,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "deleteMessages": self._m_delete_messages,
            "answerCallbackQuery": self._m_answer_callback_query,
            "getChat": self._m_get_chat,
            "getChatMember": self._m_get_chat_member,
            "getChatAdministrators": self._m_get_chat_administrators,
            "getChatMemberCount": self._m_get_chat_member_count,
            "createChatInviteLink": self._m_create_chat_invite_link,
            "editChatInviteLink": self._m_edit_chat_invite_link,
            "revokeChatInviteLink": self._m_revoke_chat_invite_link,
            "exportChatInviteLink": self._m_export_chat_invite_link,
            "pinChatMessage": self._m_pin_chat_message,
            "unpinChatMessage": self._m_unpin_chat_message,
            "unpinAllChatMessages": self._m_unpin_all_chat_messages,
            "createForumTopic": self._m_create_forum_topic,
            "editForumTopic": self._m_edit_forum_topic,
            "closeForumTopic": self._m_close_forum_topic,
            "reopenForumTopic": self._m_reopen_forum_topic,
            "deleteForumTopic": self._m_delete_forum_topic,
            "setMyCommands": self._m_set_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "sendChatAction": self._m_send_chat_action,
            "leaveChat": self._m_leave_chat,
            "setMessageReaction": self._m_set_message_reaction,
            "banChatMember": self._m_ban_chat_member,
            "unbanChatMember": self._m_unban_chat_member,
            "restrictChatMember": self._m_restrict_chat_member,
            "banChatSenderChat": self._m_ban_chat_sender_chat,
            "approveChatJoinRequest": self._m_approve_chat_join_request,
            "declineChatJoinRequest": self._m_decline_chat_join_request,
            "unbanChatSenderChat": self._m_unban_chat_sender_chat,
            "getFile": self._m_get_file,
        }
        self._methods = {name.lower(): (name, handler) for name, handler in table.items()}

    @property
    def supported_methods(self) -> list[str]:
        return sorted(name for name, _ in self._methods.values())

    # ------------------------------------------------------------------ checks shared by methods

    def _resolve_chat(self, p: _Params, key: str = "chat_id") -> ChatState:
        value = p.get(key)
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: {key} is empty")
        if isinstance(value, str) and not re.fullmatch(r"-?\d+", value):
            name = value.lstrip("@").lower()
            for candidate in self.chats.values():
                if candidate.username and candidate.username.lower() == name:
                    return candidate
            raise ApiError(400, "Bad Request: chat not found")
        chat_id = p.get_int(key, required=True)
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None and chat_id is not None and chat_id in self.users:
            chat = self.private_chat(chat_id)  # a user the bot knows of: 403 "can't initiate" follows
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _check_access(self, ctx: _Ctx, chat: ChatState) -> None:
        """Can the bot see this chat at all? (403 when kicked or not a member, 400 migrate for old groups)."""
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            if chat.id in self.blocked_by:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            user = self.users.get(chat.id)
            if user and user.get("is_bot"):
                raise ApiError(403, "Forbidden: bot can't send messages to bots")
            if chat.id not in self.started_by and chat.id not in self.join_requesters:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return
        member = chat.member(ctx.bot_id)
        if member.status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.kind_word}")
        if not member.present:
            if chat.type == "channel":
                raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.kind_word}")

    def _check_can_send(self, ctx: _Ctx, chat: ChatState, what: str = "can_send_messages") -> None:
        self._check_access(ctx, chat)
        member = chat.member(ctx.bot_id)
        if chat.type == "channel":
            if not (member.status == "creator" or member.can("can_post_messages")):
                raise ApiError(400, "Bad Request: need administrator rights in the channel chat")
        elif (member.status == "restricted" and not member.rights.get(what, False)) or (
            chat.type in ("group", "supergroup") and member.status == "member" and not chat.permissions.get(what, True)
        ):
            raise ApiError(400, "Bad Request: not enough rights to send text messages to the chat")

    def _check_admin_right(self, ctx: _Ctx, chat: ChatState, right: str, description: str) -> None:
        if chat.type == "private":
            return
        member = chat.member(ctx.bot_id)
        if not member.can(right):
            raise ApiError(400, description)

    def _get_message(self, chat: ChatState, message_id: int | None, missing: str) -> JSON:
        msg = chat.messages.get(message_id) if message_id is not None else None
        if msg is None:
            raise ApiError(400, missing)
        return msg

    # ------------------------------------------------------------------ message building

    def _text_and_entities(
        self, p: _Params, text_key: str, entities_key: str, limit: int, *, required: bool
    ) -> tuple[str | None, list[JSON] | None]:
        text = p.get_str(text_key)
        if text is None or text == "":
            if required:
                raise ApiError(400, "Bad Request: message text is empty")
            return None, None
        parse_mode = (p.get_str("parse_mode") or "").lower()
        entities = p.get_obj(entities_key)
        if entities is None and parse_mode == "html":
            try:
                text, entities = parse_html(text)
            except EntityParseError as exc:
                raise ApiError(400, str(exc)) from exc
        if required and not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > limit:
            raise ApiError(
                400,
                "Bad Request: message is too long"
                if text_key == "text"
                else "Bad Request: message caption is too long",
            )
        auto = detect_entities(text)
        merged = list(entities or [])
        taken = [(e["offset"], e["offset"] + e["length"]) for e in merged]
        for e in auto:
            if not any(e["offset"] < end and start < e["offset"] + e["length"] for start, end in taken):
                merged.append(e)
        merged.sort(key=lambda e: (e["offset"], -e["length"]))
        return text, (merged or None)

    @staticmethod
    def _check_markup(markup: Any) -> JSON | None:
        """Validate a reply_markup; return it when it belongs in the Message (inline keyboards only)."""
        if not isinstance(markup, dict):
            return None
        rows = markup.get("inline_keyboard")
        if rows is None:
            return None
        if not isinstance(rows, list):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: InlineKeyboardMarkup expected")
        for row in rows:
            for button in row:
                if not button.get("text"):
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                    )
                data = button.get("callback_data")
                if data is not None and not (1 <= len(str(data).encode()) <= 64):
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        return markup if rows else None

    def _resolve_reply(self, chat: ChatState, p: _Params) -> JSON | None:
        rp = p.get_obj("reply_parameters") or {}
        if not isinstance(rp, dict):
            raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
        target_id = rp.get("message_id")
        if target_id is None:
            target_id = p.get_int("reply_to_message_id")
        if target_id is None:
            return None
        allow = bool(rp.get("allow_sending_without_reply", p.get_bool("allow_sending_without_reply")))
        target_chat: ChatState | None = chat
        if rp.get("chat_id") not in (None, chat.id):
            other = self._call_chat_id("", {"chat_id": rp["chat_id"]})
            target_chat = self.chats.get(other) if other is not None else None
        target = target_chat.messages.get(int(target_id)) if target_chat is not None else None
        if target is None:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return target

    def _resolve_thread(self, chat: ChatState, p: _Params, reply_to: JSON | None) -> int | None:
        thread = p.get_int("message_thread_id")
        if chat.is_forum:
            if thread in (None, 1):
                thread = None
                if reply_to is not None and reply_to.get("is_topic_message"):
                    thread = reply_to.get("message_thread_id")
            elif thread not in chat.topics:
                raise ApiError(400, "Bad Request: message thread not found")
            if thread is not None and chat.topics.get(thread, {}).get("is_closed"):
                raise ApiError(400, "Bad Request: TOPIC_CLOSED")
            return thread
        if thread is not None and (chat.type != "supergroup" or thread not in chat.messages):
            raise ApiError(400, "Bad Request: message thread not found")
        return thread

    def new_message(
        self,
        chat: ChatState,
        body: JSON,
        *,
        from_user: JSON | None,
        sender_chat: JSON | None = None,
        thread_id: int | None = None,
        reply_to: JSON | None = None,
        message_id: int | None = None,
    ) -> JSON:
        """Create and store a message in ``chat`` (both the bot's and members' messages go through here)."""
        mid = message_id if message_id is not None else chat.take_message_id()
        chat.next_message_id = max(chat.next_message_id, mid + 1)
        msg: JSON = {"message_id": mid, "date": self.unix_now(), "chat": chat.render()}
        if from_user is not None:
            msg["from"] = dict(from_user)
        if sender_chat is not None:
            msg["sender_chat"] = dict(sender_chat)
        if chat.is_forum and thread_id is not None:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
            if reply_to is None and self.topic_replies_point_to_topic and thread_id != mid:
                reply_to = chat.messages.get(thread_id)
        elif (
            reply_to is not None
            and chat.type == "supergroup"
            and not chat.is_forum
            and self.reply_threads_in_supergroups
        ):
            target_id = int(reply_to["message_id"])
            root = chat.thread_roots.get(target_id, target_id)
            chat.thread_roots[mid] = root
            msg["message_thread_id"] = root
        elif thread_id is not None and chat.type == "supergroup":
            msg["message_thread_id"] = thread_id
            chat.thread_roots[mid] = chat.thread_roots.get(thread_id, thread_id)
        if reply_to is not None:
            msg["reply_to_message"] = {k: copy.deepcopy(v) for k, v in reply_to.items() if k != "reply_to_message"}
        msg.update(copy.deepcopy(body))
        chat.messages[mid] = msg
        return msg

    def _bot_message(self, ctx: _Ctx, chat: ChatState, body: JSON, p: _Params) -> JSON:
        reply_to = self._resolve_reply(chat, p)
        thread_id = self._resolve_thread(chat, p, reply_to)
        markup = self._check_markup(p.get_obj("reply_markup"))
        if markup is not None:
            body["reply_markup"] = markup
        if p.get_bool("protect_content"):
            body["has_protected_content"] = True
        if chat.type == "channel":
            msg = self.new_message(chat, body, from_user=None, sender_chat=chat.render(), thread_id=thread_id)
        else:
            msg = self.new_message(
                chat, body, from_user=self.bot_user(ctx.bot_id), thread_id=thread_id, reply_to=reply_to
            )
        self._sent.append((chat.id, msg["message_id"]))
        return msg

    # ------------------------------------------------------------------ files

    def _file_for(self, ctx: _Ctx, kind: str, value: Any) -> JSON:
        """Register the file a send call refers to (upload, URL or file_id) and return its info."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = ctx.uploads.get(value[len("attach://") :])
            if value is None:
                raise ApiError(400, f"Bad Request: wrong remote file identifier specified: can't find {kind}")
        if isinstance(value, _Upload):
            info = self._new_file(kind, name=value.filename, data=value.data, mime=value.content_type)
            self.uploads.append((value.filename, value.data))
            return info
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        if value in self.files:
            return self.files[value]
        if re.match(r"^https?://", value):
            name = value.rstrip("/").rsplit("/", 1)[-1] or kind
            return self._new_file(kind, name=name, url=value)
        return self._new_file(kind, name=None, file_id=value)

    def _new_file(
        self,
        kind: str,
        *,
        name: str | None,
        data: bytes | None = None,
        url: str | None = None,
        mime: str | None = None,
        file_id: str | None = None,
    ) -> JSON:
        prefix = {"photo": "AgAC", "document": "BQAC", "video": "BAAC", "sticker": "CAAC"}.get(kind, "CQAC")
        fid = file_id or f"{prefix}{secrets.token_urlsafe(24)}"
        suffix = "." + name.rsplit(".", 1)[-1] if name and "." in name else ""
        info: JSON = {
            "kind": kind,
            "file_id": fid,
            "file_unique_id": f"AQAD{secrets.token_urlsafe(8)}",
            "file_name": name,
            "file_size": len(data) if data is not None else 1024,
            "mime_type": mime,
            "data": data,
            "url": url,
            "file_path": f"{kind}s/file_{len(self.files)}{suffix}",
        }
        self.files[fid] = info
        return info

    @staticmethod
    def _media_object(kind: str, info: JSON) -> Any:
        base = {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "file_size": info["file_size"],
        }
        if kind == "photo":
            return [
                {**base, "file_id": info["file_id"], "width": 90, "height": 67},
                {**base, "width": 1280, "height": 960},
            ]
        obj = dict(base)
        if kind in ("document", "video", "audio", "animation"):
            if info.get("file_name"):
                obj["file_name"] = info["file_name"]
            if info.get("mime_type"):
                obj["mime_type"] = info["mime_type"]
        if kind in ("video", "animation", "video_note", "voice", "audio"):
            obj["duration"] = 1
        if kind in ("video", "animation"):
            obj.update(width=640, height=480)
        if kind == "video_note":
            obj["length"] = 240
        if kind == "sticker":
            obj.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
        return obj

    # ------------------------------------------------------------------ methods: bot, updates, webhook

    async def _m_true(self, ctx: _Ctx, p: _Params) -> Any:
        return True

    async def _m_get_me(self, ctx: _Ctx, p: _Params) -> Any:
        return {
            **self.bot_user(ctx.bot_id),
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": self.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, ctx: _Ctx, p: _Params) -> Any:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        offset = p.get_int("offset") or 0
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(float(p.get("timeout", 0) or 0), 0.0)
        allowed = p.get_obj("allowed_updates")
        if isinstance(allowed, list):
            self._allowed[ctx.bot_id] = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        wanted = self._allowed.get(ctx.bot_id, DEFAULT_UPDATE_TYPES) if self.strict_allowed_updates else None

        self.poll_count += 1
        self._pulse_journal()
        generation = self._poll_generation.get(ctx.bot_id, 0) + 1
        self._poll_generation[ctx.bot_id] = generation
        # let a poll that is still waiting notice it was superseded
        self._pulse_updates()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._confirm(offset)
            if wanted is not None:
                self._updates = [u for u in self._updates if self.update_type(u) in wanted]
            ready = [u for u in self._updates if offset <= 0 or u["update_id"] >= offset]
            if ready or self._closing:
                batch = ready[:limit]
                self._delivered.update(int(u["update_id"]) for u in batch)
                return copy.deepcopy(batch)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._updates_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
            if self._poll_generation.get(ctx.bot_id) != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    async def _m_delete_webhook(self, ctx: _Ctx, p: _Params) -> Any:
        self.webhook = {"url": ""}
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_set_webhook(self, ctx: _Ctx, p: _Params) -> Any:
        url = p.get_str("url") or ""
        if url and not url.startswith("https://") and not self._webhook_is_local(url):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {
            "url": url,
            "secret_token": p.get_str("secret_token"),
            "allowed_updates": p.get_obj("allowed_updates"),
            "max_connections": p.get_int("max_connections") or 40,
        }
        if isinstance(self.webhook["allowed_updates"], list):
            self._allowed[ctx.bot_id] = frozenset(self.webhook["allowed_updates"]) or DEFAULT_UPDATE_TYPES
        self.webhook["bot_id"] = ctx.bot_id
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        self._ensure_webhook_pusher()
        return True

    async def _m_get_webhook_info(self, ctx: _Ctx, p: _Params) -> Any:
        info: JSON = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if info["url"]:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            for key in ("last_error_date", "last_error_message"):
                if self.webhook.get(key):
                    info[key] = self.webhook[key]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    # ------------------------------------------------------------------ methods: sending

    async def _m_send_message(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_can_send(ctx, chat)
        text, entities = self._text_and_entities(p, "text", "entities", 4096, required=True)
        body: JSON = {"text": text}
        if entities:
            body["entities"] = entities
        lpo = p.get_obj("link_preview_options")
        if isinstance(lpo, dict) and lpo:
            body["link_preview_options"] = lpo
        return self._bot_message(ctx, chat, body, p)

    async def _m_send_media(self, ctx: _Ctx, p: _Params) -> Any:
        kind = {
            "sendphoto": "photo",
            "senddocument": "document",
            "sendvideo": "video",
            "sendaudio": "audio",
            "sendanimation": "animation",
            "sendvoice": "voice",
            "sendsticker": "sticker",
        }[ctx.method.lower()]
        chat = self._resolve_chat(p)
        perm = {"photo": "can_send_photos", "document": "can_send_documents"}.get(kind, "can_send_other_messages")
        self._check_can_send(ctx, chat, perm)
        info = self._file_for(ctx, kind, p.get(kind))
        body: JSON = {kind: self._media_object(kind, info)}
        caption, entities = self._text_and_entities(p, "caption", "caption_entities", 1024, required=False)
        if caption:
            body["caption"] = caption
            if entities:
                body["caption_entities"] = entities
        if p.get_bool("has_spoiler"):
            body["has_media_spoiler"] = True
        return self._bot_message(ctx, chat, body, p)

    async def _m_send_media_group(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_can_send(ctx, chat, "can_send_photos")
        media = p.get_obj("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media items: there must be 2-10")
        group_id = str(secrets.randbits(62))
        bodies: list[JSON] = []
        for item in media:
            kind = str(item.get("type", ""))
            if kind not in ("photo", "video", "document", "audio"):
                raise ApiError(400, f"Bad Request: unsupported media type {kind!r} in a media group")
            info = self._file_for(ctx, kind, item.get("media"))
            body: JSON = {kind: self._media_object(kind, info), "media_group_id": group_id}
            caption = item.get("caption")
            if caption:
                sub = _Params(
                    {"caption": caption, "parse_mode": item.get("parse_mode"),
                     "caption_entities": item.get("caption_entities")}
                )  # fmt: skip
                text, entities = self._text_and_entities(sub, "caption", "caption_entities", 1024, required=False)
                body["caption"] = text
                if entities:
                    body["caption_entities"] = entities
            bodies.append(body)
        reply_to = self._resolve_reply(chat, p)
        thread_id = self._resolve_thread(chat, p, reply_to)
        out = []
        for body in bodies:
            if chat.type == "channel":
                msg = self.new_message(chat, body, from_user=None, sender_chat=chat.render(), thread_id=thread_id)
            else:
                msg = self.new_message(
                    chat, body, from_user=self.bot_user(ctx.bot_id), thread_id=thread_id, reply_to=reply_to
                )
            self._sent.append((chat.id, msg["message_id"]))
            out.append(msg)
        return out

    def _content_of(self, msg: JSON) -> JSON:
        keys = ("text", "entities", "caption", "caption_entities", *_MEDIA_KINDS)
        return {k: copy.deepcopy(msg[k]) for k in keys if k in msg}

    async def _m_copy_message(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        source_chat = self._resolve_chat(p, "from_chat_id")
        self._check_access(ctx, source_chat)
        source = self._get_message(source_chat, p.get_int("message_id"), "Bad Request: message to copy not found")
        if any(k in source for k in ("new_chat_members", "left_chat_member", "forum_topic_created", "pinned_message")):
            raise ApiError(400, "Bad Request: message can't be copied")
        self._check_can_send(ctx, chat)
        body = self._content_of(source)
        if p.has("caption") and "text" not in body:
            caption, entities = self._text_and_entities(p, "caption", "caption_entities", 1024, required=False)
            body.pop("caption_entities", None)
            body["caption"] = caption
            if entities:
                body["caption_entities"] = entities
        msg = self._bot_message(ctx, chat, body, p)
        return {"message_id": msg["message_id"]}

    async def _m_forward_message(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        source_chat = self._resolve_chat(p, "from_chat_id")
        self._check_access(ctx, source_chat)
        source = self._get_message(source_chat, p.get_int("message_id"), "Bad Request: message to forward not found")
        self._check_can_send(ctx, chat)
        body = self._content_of(source)
        if "forward_origin" in source:
            body["forward_origin"] = copy.deepcopy(source["forward_origin"])
        elif source_chat.type == "channel":
            body["forward_origin"] = {
                "type": "channel",
                "date": source["date"],
                "chat": source_chat.render(),
                "message_id": source["message_id"],
            }
        elif "sender_chat" in source:
            body["forward_origin"] = {
                "type": "chat",
                "date": source["date"],
                "sender_chat": source["sender_chat"],
            }
        else:
            body["forward_origin"] = {
                "type": "user",
                "date": source["date"],
                "sender_user": source.get("from"),
            }
        return self._bot_message(ctx, chat, body, p)

    # ------------------------------------------------------------------ methods: editing and deleting

    def _editable(self, ctx: _Ctx, p: _Params, missing: str) -> tuple[ChatState | None, JSON | None]:
        if p.has("inline_message_id") and not p.has("chat_id"):
            return None, None
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        msg = self._get_message(chat, p.get_int("message_id", required=True), missing)
        own = msg.get("from", {}).get("id") == ctx.bot_id or (
            chat.type == "channel" and (chat.id, msg["message_id"]) in self._sent
        )
        if not own:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat, msg

    def _apply_edit(self, chat: ChatState, msg: JSON, changes: JSON) -> JSON:
        before = {k: msg.get(k) for k in changes}
        if before == changes:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a content and reply markup of the current message",
            )
        for key, value in changes.items():
            if value is None:
                msg.pop(key, None)
            else:
                msg[key] = value
        msg["edit_date"] = self.unix_now()
        return copy.deepcopy(msg)

    async def _m_edit_message_text(self, ctx: _Ctx, p: _Params) -> Any:
        chat, msg = self._editable(ctx, p, "Bad Request: message to edit not found")
        text, entities = self._text_and_entities(p, "text", "entities", 4096, required=True)
        markup = self._check_markup(p.get_obj("reply_markup"))
        if chat is None or msg is None:
            return True
        if "text" not in msg:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        return self._apply_edit(chat, msg, {"text": text, "entities": entities, "reply_markup": markup})

    async def _m_edit_message_caption(self, ctx: _Ctx, p: _Params) -> Any:
        chat, msg = self._editable(ctx, p, "Bad Request: message to edit not found")
        caption, entities = self._text_and_entities(p, "caption", "caption_entities", 1024, required=False)
        markup = self._check_markup(p.get_obj("reply_markup"))
        if chat is None or msg is None:
            return True
        if "text" in msg:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        return self._apply_edit(chat, msg, {"caption": caption, "caption_entities": entities, "reply_markup": markup})

    async def _m_edit_message_reply_markup(self, ctx: _Ctx, p: _Params) -> Any:
        chat, msg = self._editable(ctx, p, "Bad Request: message to edit not found")
        markup = self._check_markup(p.get_obj("reply_markup"))
        if chat is None or msg is None:
            return True
        return self._apply_edit(chat, msg, {"reply_markup": markup})

    def _delete_one(self, ctx: _Ctx, chat: ChatState, message_id: int | None) -> None:
        msg = self._get_message(chat, message_id, "Bad Request: message to delete not found")
        own = msg.get("from", {}).get("id") == ctx.bot_id or (chat.id, msg["message_id"]) in self._sent
        if not own and chat.type != "private" and not chat.member(ctx.bot_id).can("can_delete_messages"):
            raise ApiError(400, "Bad Request: message can't be deleted")
        chat.deleted[msg["message_id"]] = chat.messages.pop(msg["message_id"])

    async def _m_delete_message(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        self._delete_one(ctx, chat, p.get_int("message_id", required=True))
        return True

    async def _m_delete_messages(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        ids = p.get_obj("message_ids") or []
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must be a list of 1-100 ids")
        for mid in ids:
            with contextlib.suppress(ApiError):
                self._delete_one(ctx, chat, int(mid))
        return True

    # ------------------------------------------------------------------ methods: callbacks

    async def _m_answer_callback_query(self, ctx: _Ctx, p: _Params) -> Any:
        qid = p.get_str("callback_query_id") or ""
        entry = self.callback_queries.get(qid)
        if entry is None or entry["answered"]:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        entry["answered"] = True
        entry["answer"] = {
            "text": text,
            "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"),
            "cache_time": p.get_int("cache_time") or 0,
        }
        return True

    # ------------------------------------------------------------------ methods: chat info

    async def _m_get_chat(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        if chat.type != "private" or chat.migrated_to is not None:
            self._check_access(ctx, chat)
        info = chat.render()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        if chat.description:
            info["description" if chat.type != "private" else "bio"] = chat.description
        if chat.type in ("group", "supergroup"):
            info["permissions"] = dict(chat.permissions)
        primary = next((link for link in chat.invite_links.values() if link.get("is_primary")), None)
        if primary is not None and chat.member(ctx.bot_id).can("can_invite_users"):
            info["invite_link"] = primary["invite_link"]
        if chat.pinned and chat.pinned[-1] in chat.messages:
            info["pinned_message"] = copy.deepcopy(chat.messages[chat.pinned[-1]])
        if chat.linked_chat_id is not None:
            info["linked_chat_id"] = chat.linked_chat_id
        if chat.migrated_from is not None:
            info["migrated_from_chat_id"] = chat.migrated_from
        return info

    def _require_group(self, chat: ChatState) -> None:
        if chat.type == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")

    async def _m_get_chat_member(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        user_id = p.req_int("user_id")
        if user_id not in self.users and user_id not in chat.members:
            raise ApiError(400, "Bad Request: user not found")
        if chat.type == "private":
            status = "member" if user_id in (chat.id, ctx.bot_id) else "left"
            return Member(user_id, status).render(self._render_user(user_id))
        return self.render_member(chat, user_id)

    async def _m_get_chat_administrators(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._require_group(chat)
        self._check_access(ctx, chat)
        return [self.render_member(chat, uid) for uid, m in chat.members.items() if m.is_admin]

    async def _m_get_chat_member_count(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        if chat.type == "private":
            return 2
        return sum(1 for m in chat.members.values() if m.present)

    # ------------------------------------------------------------------ methods: invite links

    def make_invite_link(
        self,
        chat: ChatState,
        creator: JSON,
        *,
        name: str | None = None,
        primary: bool = False,
        expire_date: int | None = None,
        member_limit: int | None = None,
        creates_join_request: bool = False,
    ) -> JSON:
        link: JSON = {
            "invite_link": f"https://t.me/+{secrets.token_urlsafe(12)}",
            "creator": creator,
            "creates_join_request": creates_join_request,
            "is_primary": primary,
            "is_revoked": False,
        }
        if name:
            link["name"] = name
        if expire_date:
            link["expire_date"] = expire_date
        if member_limit:
            link["member_limit"] = member_limit
        chat.invite_links[link["invite_link"]] = link
        return link

    def _invite_rights(self, ctx: _Ctx, chat: ChatState) -> None:
        self._check_access(ctx, chat)
        if chat.type == "private":
            raise ApiError(400, "Bad Request: can't invite members to a private chat")
        self._check_admin_right(
            ctx, chat, "can_invite_users", "Bad Request: not enough rights to manage chat invite links"
        )

    async def _m_create_chat_invite_link(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._invite_rights(ctx, chat)
        name = p.get_str("name")
        if name is not None and len(name) > 32:
            raise ApiError(400, "Bad Request: invite link name is too long")
        if p.get_bool("creates_join_request") and p.has("member_limit"):
            raise ApiError(
                400, "Bad Request: member limit can't be specified for links requiring administrator approval"
            )
        return copy.deepcopy(
            self.make_invite_link(
                chat,
                self.bot_user(ctx.bot_id),
                name=name,
                expire_date=p.get_int("expire_date"),
                member_limit=p.get_int("member_limit"),
                creates_join_request=p.get_bool("creates_join_request"),
            )
        )

    def _find_link(self, chat: ChatState, p: _Params) -> JSON:
        link = chat.invite_links.get(p.get_str("invite_link") or "")
        if link is None:
            raise ApiError(400, "Bad Request: INVITE_HASH_EXPIRED")
        return link

    async def _m_edit_chat_invite_link(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._invite_rights(ctx, chat)
        link = self._find_link(chat, p)
        for key in ("name",):
            if p.has(key):
                link[key] = p.get_str(key)
        for key in ("expire_date", "member_limit"):
            if p.has(key):
                link[key] = p.get_int(key)
        if p.has("creates_join_request"):
            link["creates_join_request"] = p.get_bool("creates_join_request")
        return copy.deepcopy(link)

    async def _m_revoke_chat_invite_link(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._invite_rights(ctx, chat)
        link = self._find_link(chat, p)
        link["is_revoked"] = True
        if link.get("is_primary"):
            link["is_primary"] = False
            self.make_invite_link(chat, link["creator"], primary=True)
        return copy.deepcopy(link)

    async def _m_export_chat_invite_link(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._invite_rights(ctx, chat)
        for link in chat.invite_links.values():
            if link.get("is_primary"):
                link["is_primary"] = False
                link["is_revoked"] = True
        return self.make_invite_link(chat, self.bot_user(ctx.bot_id), primary=True)["invite_link"]

    # ------------------------------------------------------------------ methods: pins and topics

    async def _m_pin_chat_message(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        self._check_admin_right(
            ctx,
            chat,
            "can_pin_messages" if chat.type != "channel" else "can_edit_messages",
            "Bad Request: not enough rights to manage pinned messages in the chat",
        )
        msg = self._get_message(chat, p.get_int("message_id", required=True), "Bad Request: message to pin not found")
        if msg["message_id"] in chat.pinned:
            chat.pinned.remove(msg["message_id"])
        chat.pinned.append(msg["message_id"])
        return True

    async def _m_unpin_chat_message(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        self._check_admin_right(
            ctx,
            chat,
            "can_pin_messages" if chat.type != "channel" else "can_edit_messages",
            "Bad Request: not enough rights to manage pinned messages in the chat",
        )
        mid = p.get_int("message_id")
        if mid is None:
            if not chat.pinned:
                raise ApiError(400, "Bad Request: message to unpin not found")
            chat.pinned.pop()
        elif mid in chat.pinned:
            chat.pinned.remove(mid)
        else:
            raise ApiError(400, "Bad Request: message to unpin not found")
        return True

    async def _m_unpin_all_chat_messages(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        self._check_admin_right(
            ctx,
            chat,
            "can_pin_messages",
            "Bad Request: not enough rights to manage pinned messages in the chat",
        )
        chat.pinned.clear()
        return True

    def make_topic(
        self,
        chat: ChatState,
        name: str,
        icon_color: int,
        creator: JSON,
        icon_custom_emoji_id: str | None = None,
    ) -> JSON:
        """Create a forum topic and its forum_topic_created service message; return that message."""
        if not chat.is_forum:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_TITLE_EMPTY" if not name else "Bad Request: topic name is too long")
        created: JSON = {"name": name, "icon_color": icon_color}
        if icon_custom_emoji_id:
            created["icon_custom_emoji_id"] = icon_custom_emoji_id
        thread_id = chat.take_message_id()
        topic: JSON = {"message_thread_id": thread_id, **created}
        chat.topics[thread_id] = topic
        return self.new_message(
            chat,
            {"forum_topic_created": created},
            from_user=creator,
            thread_id=thread_id,
            message_id=thread_id,
        )

    async def _m_create_forum_topic(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        if not chat.is_forum:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        self._check_admin_right(ctx, chat, "can_manage_topics", "Bad Request: not enough rights to create a topic")
        color = p.get_int("icon_color") or 7322096
        if color not in (7322096, 16766590, 13338331, 9367192, 16749490, 16478047):
            raise ApiError(400, "Bad Request: invalid icon color specified")
        msg = self.make_topic(
            chat, p.get_str("name") or "", color, self.bot_user(ctx.bot_id), p.get_str("icon_custom_emoji_id")
        )
        topic = chat.topics[msg["message_id"]]
        return {k: v for k, v in topic.items() if k != "is_closed"}

    def _topic(self, ctx: _Ctx, p: _Params) -> tuple[ChatState, JSON]:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        if not chat.is_forum:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        self._check_admin_right(ctx, chat, "can_manage_topics", "Bad Request: not enough rights to manage topics")
        topic = chat.topics.get(p.get_int("message_thread_id", required=True) or 0)
        if topic is None:
            raise ApiError(400, "Bad Request: message thread not found")
        return chat, topic

    async def _m_edit_forum_topic(self, ctx: _Ctx, p: _Params) -> Any:
        _, topic = self._topic(ctx, p)
        if p.has("name"):
            topic["name"] = p.get_str("name")
        if p.has("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = p.get_str("icon_custom_emoji_id")
        return True

    async def _m_close_forum_topic(self, ctx: _Ctx, p: _Params) -> Any:
        _, topic = self._topic(ctx, p)
        topic["is_closed"] = True
        return True

    async def _m_reopen_forum_topic(self, ctx: _Ctx, p: _Params) -> Any:
        _, topic = self._topic(ctx, p)
        topic["is_closed"] = False
        return True

    async def _m_delete_forum_topic(self, ctx: _Ctx, p: _Params) -> Any:
        chat, topic = self._topic(ctx, p)
        tid = topic["message_thread_id"]
        del chat.topics[tid]
        for mid in [m for m, msg in chat.messages.items() if msg.get("message_thread_id") == tid]:
            chat.deleted[mid] = chat.messages.pop(mid)
        return True

    # ------------------------------------------------------------------ methods: commands, actions, misc

    @staticmethod
    def _scope_key(p: _Params) -> tuple[str, str]:
        scope = p.get_obj("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.get_str("language_code") or ""

    async def _m_set_my_commands(self, ctx: _Ctx, p: _Params) -> Any:
        commands = p.get_obj("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        for command in commands:
            name = str(command.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(p)] = copy.deepcopy(commands)
        return True

    async def _m_delete_my_commands(self, ctx: _Ctx, p: _Params) -> Any:
        self.commands.pop(self._scope_key(p), None)
        return True

    async def _m_get_my_commands(self, ctx: _Ctx, p: _Params) -> Any:
        return copy.deepcopy(self.commands.get(self._scope_key(p), []))

    async def _m_send_chat_action(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_can_send(ctx, chat)
        action = p.get_str("action") or ""
        if action not in (
            "typing",
            "upload_photo",
            "record_video",
            "upload_video",
            "record_voice",
            "upload_voice",
            "upload_document",
            "choose_sticker",
            "find_location",
            "record_video_note",
            "upload_video_note",
        ):
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat.id, action))
        return True

    async def _m_leave_chat(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        if chat.type == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        self._check_access(ctx, chat)
        old = self.render_member(chat, ctx.bot_id)
        chat.members[ctx.bot_id] = Member(ctx.bot_id, "left")
        self._enqueue(
            "my_chat_member",
            {
                "chat": chat.render(),
                "from": self.bot_user(ctx.bot_id),
                "date": self.unix_now(),
                "old_chat_member": old,
                "new_chat_member": self.render_member(chat, ctx.bot_id),
            },
        )
        return True

    async def _m_set_message_reaction(self, ctx: _Ctx, p: _Params) -> Any:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        msg = self._get_message(chat, p.get_int("message_id", required=True), "Bad Request: message to react not found")
        reaction = p.get_obj("reaction") or []
        if not isinstance(reaction, list):
            raise ApiError(400, "Bad Request: reaction must be a list")
        if len(reaction) > 1:
            raise ApiError(400, "Bad Request: REACTIONS_TOO_MANY")
        self.bot_reactions[(chat.id, msg["message_id"])] = copy.deepcopy(reaction)
        return True

    def _moderate(self, ctx: _Ctx, p: _Params) -> tuple[ChatState, int]:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        if chat.type == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        self._check_admin_right(
            ctx,
            chat,
            "can_restrict_members",
            "Bad Request: not enough rights to restrict/unrestrict chat member",
        )
        user_id = p.req_int("user_id")
        if chat.member(user_id).status == "creator":
            raise ApiError(400, "Bad Request: can't remove chat owner")
        if user_id == ctx.bot_id:
            raise ApiError(400, "Bad Request: can't restrict self")
        if chat.member(user_id).status == "administrator":
            # Telegram allows it only for admins the bot itself promoted; the sandbox's bot promotes nobody.
            raise ApiError(400, "Bad Request: user is an administrator of the chat")
        return chat, user_id

    def member_changed(
        self,
        chat: ChatState,
        user_id: int,
        new: Member,
        by: JSON,
        *,
        invite_link: JSON | None = None,
        via_join_request: bool = False,
        via_chat_folder_invite_link: bool = False,
    ) -> JSON | None:
        """Set a member's status and emit ``chat_member`` (or ``my_chat_member`` for the bot). Returns the
        update when one is queued for the bot."""
        old = self.render_member(chat, user_id)
        chat.members[user_id] = new
        payload: JSON = {
            "chat": chat.render(),
            "from": by,
            "date": self.unix_now(),
            "old_chat_member": old,
            "new_chat_member": self.render_member(chat, user_id),
        }
        if invite_link is not None:
            payload["invite_link"] = copy.deepcopy(invite_link)
        if via_join_request:
            payload["via_join_request"] = True
        if via_chat_folder_invite_link:
            payload["via_chat_folder_invite_link"] = True
        if user_id == self.bot_id:
            return self._enqueue("my_chat_member", payload)
        # Telegram sends chat_member only to bots that are administrators of the chat.
        if chat.member(self.bot_id).is_admin:
            return self._enqueue("chat_member", payload)
        return None

    async def _m_ban_chat_member(self, ctx: _Ctx, p: _Params) -> Any:
        chat, user_id = self._moderate(ctx, p)
        until = p.get_int("until_date") or 0
        self.member_changed(chat, user_id, Member(user_id, "kicked", until_date=until), self.bot_user(ctx.bot_id))
        return True

    async def _m_unban_chat_member(self, ctx: _Ctx, p: _Params) -> Any:
        chat, user_id = self._moderate(ctx, p)
        member = chat.member(user_id)
        if member.status == "kicked" or (member.present and not p.get_bool("only_if_banned")):
            self.member_changed(chat, user_id, Member(user_id, "left"), self.bot_user(ctx.bot_id))
        return True

    async def _m_restrict_chat_member(self, ctx: _Ctx, p: _Params) -> Any:
        chat, user_id = self._moderate(ctx, p)
        if chat.type != "supergroup":
            raise ApiError(400, "Bad Request: method is available only for supergroups")
        perms = p.get_obj("permissions")
        if not isinstance(perms, dict):
            raise ApiError(400, "Bad Request: permissions are required")
        rights = {key: bool(perms.get(key, False)) for key in RESTRICTED_PERMISSIONS}
        present = chat.member(user_id).present
        if all(rights[key] for key in RESTRICTED_PERMISSIONS if chat.permissions.get(key, False)):
            # Every permission the group grants: Telegram lifts the restriction (a plain member again).
            if chat.member(user_id).status == "restricted":
                status = "member" if present else "left"
                self.member_changed(chat, user_id, Member(user_id, status), self.bot_user(ctx.bot_id))
            return True
        self.member_changed(
            chat,
            user_id,
            Member(
                user_id,
                "restricted",
                rights=rights,
                until_date=p.get_int("until_date") or 0,
                is_member=present,
            ),
            self.bot_user(ctx.bot_id),
        )
        return True

    def _sender_chat_target(self, ctx: _Ctx, p: _Params) -> tuple[ChatState, int]:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        if chat.type not in ("supergroup", "channel"):
            raise ApiError(400, "Bad Request: method is available only for supergroups and channel")
        self._check_admin_right(
            ctx, chat, "can_restrict_members", "Bad Request: not enough rights to restrict/unrestrict chat member"
        )
        sender_chat_id = p.req_int("sender_chat_id")
        if sender_chat_id == chat.id:
            raise ApiError(400, "Bad Request: can't ban the chat itself")  # the group's own anonymous admins
        return chat, sender_chat_id

    async def _m_ban_chat_sender_chat(self, ctx: _Ctx, p: _Params) -> Any:
        chat, sender_chat_id = self._sender_chat_target(ctx, p)
        chat.banned_sender_chats.add(sender_chat_id)
        return True

    async def _m_unban_chat_sender_chat(self, ctx: _Ctx, p: _Params) -> Any:
        chat, sender_chat_id = self._sender_chat_target(ctx, p)
        chat.banned_sender_chats.discard(sender_chat_id)
        return True

    def _join_request(self, ctx: _Ctx, p: _Params) -> tuple[ChatState, int]:
        chat = self._resolve_chat(p)
        self._check_access(ctx, chat)
        self._check_admin_right(ctx, chat, "can_invite_users", "Bad Request: not enough rights to invite users")
        user_id = p.req_int("user_id")
        if user_id not in chat.join_requests:
            raise ApiError(400, "Bad Request: HIDE_REQUESTER_MISSING")
        chat.join_requests.discard(user_id)
        return chat, user_id

    async def _m_approve_chat_join_request(self, ctx: _Ctx, p: _Params) -> Any:
        chat, user_id = self._join_request(ctx, p)
        self.member_changed(chat, user_id, Member(user_id, "member"), self.bot_user(ctx.bot_id), via_join_request=True)
        return True

    async def _m_decline_chat_join_request(self, ctx: _Ctx, p: _Params) -> Any:
        self._join_request(ctx, p)
        return True

    async def _m_get_file(self, ctx: _Ctx, p: _Params) -> Any:
        info = self.files.get(p.get_str("file_id") or "")
        if info is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": info["file_id"],
            "file_unique_id": info["file_unique_id"],
            "file_size": info["file_size"],
            "file_path": info["file_path"],
        }

    # ------------------------------------------------------------------ used by the user-side helpers

    def iter_members(self, chat_id: int, statuses: Iterable[str] | None = None) -> list[int]:
        chat = self.chat(chat_id)
        wanted = set(statuses) if statuses is not None else None
        return [uid for uid, m in chat.members.items() if wanted is None or m.status in wanted]

    @staticmethod
    def admin_rights(chat_type: str, rights: dict[str, bool] | None = None) -> dict[str, bool]:
        base = dict.fromkeys(ADMIN_RIGHTS, True)
        base["can_promote_members"] = False
        if chat_type == "channel":
            base.update(dict.fromkeys(CHANNEL_ADMIN_RIGHTS, True))
        if rights:
            base.update(rights)
        return base
