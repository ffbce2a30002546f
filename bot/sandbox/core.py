"""The sandbox Bot API server's state and the one path every call takes.

:class:`SandboxCore` holds users, chats, the update queue and the bot's identity; :meth:`SandboxCore.call`
(in-process) and the HTTP front (:mod:`.http`) run each Bot API call through :meth:`SandboxCore._execute`:
injected faults, flood limits, the method's handler from :data:`bot.sandbox.methods.REGISTRY` (one module
per method family), then the journal (:mod:`.journal`). User-side helpers (acting as members) live in
:mod:`bot.sandbox.api`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox.faults import ApiError, Injection
from bot.sandbox.http import make_app
from bot.sandbox.journal import Journal
from bot.sandbox.methods import REGISTRY
from bot.sandbox.methods.checks import call_chat_id
from bot.sandbox.methods.updates import DEFAULT_UPDATE_TYPES
from bot.sandbox.params import TOKEN, Ctx, Params, Upload
from bot.sandbox.pulse import Pulse
from bot.sandbox.state import ADMIN_RIGHTS, CHANNEL_ADMIN_RIGHTS, JSON, Call, ChatState, Member

__all__ = ["DEFAULT_UPDATE_TYPES", "SandboxCore"]

log = logging.getLogger("bot.sandbox")


class SandboxCore(Journal):
    """State and Bot API side of :class:`bot.sandbox.SandboxBotAPI`."""

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
        match = TOKEN.fullmatch(token)
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
        self._sent: list[tuple[int, int]] = []
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
        self._updates_changed = Pulse()
        self._journal_changed = Pulse()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._base_url: str | None = None
        self._ensure_bot_user(self.bot_id)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: a free port) and return :attr:`base_url`."""
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        self._closing = False
        runner = web.AppRunner(make_app(self), access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
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
        self._updates_changed.fire()
        self._journal_changed.fire()
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
        self._updates_changed.fire()
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

    # ------------------------------------------------------------------ running a call

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
        uploads: dict[str, Upload],
        *,
        started: float | None = None,
        wall: datetime | None = None,
    ) -> tuple[int, JSON] | None:
        """Run one call: faults, flood limits, the method, the journal. None means "drop the connection"."""
        started = time.monotonic() if started is None else started
        wall = datetime.now(UTC) if wall is None else wall
        self._ensure_bot_user(bot_id)
        entry = REGISTRY.lookup(raw_method)
        method = entry.name if entry else raw_method
        chat_id = call_chat_id(self, method, params)
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
            result = await entry.handler(self, Ctx(bot_id, method, uploads), Params(params))
        except ApiError as exc:
            return fail(exc)
        except Exception as exc:  # a sandbox bug must look like a server error, not hang the client
            log.exception("sandbox failed on %s", method)
            return fail(ApiError(500, f"Internal Server Error: sandbox failed: {exc!r}"))
        self._record(method, params, started, wall, chat_id, bot_id, result=result, fault=fault)
        return 200, {"ok": True, "result": result}

    @property
    def supported_methods(self) -> list[str]:
        return list(REGISTRY.names)

    # ------------------------------------------------------------------ messages and members (methods and helpers)

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
