"""``SandboxBotAPI``: the sandbox server plus helpers that act as Telegram users."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bot.sandbox.core import SandboxCore
from bot.sandbox.entities import detect_entities
from bot.sandbox.faults import ApiError
from bot.sandbox.state import ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID, RESTRICTED_PERMISSIONS, ChatState, Member

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher
    from aiogram.types import Message

__all__ = ["SandboxBotAPI"]

JSON = dict[str, Any]

TELEGRAM_SERVICE_ID = 777000  # "Telegram": the "from" of automatic forwards from a linked channel
_ANONYMOUS_ADMIN: JSON = {
    "id": ANONYMOUS_ADMIN_ID,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
_CHANNEL_BOT: JSON = {
    "id": CHANNEL_BOT_ID,
    "is_bot": True,
    "first_name": "Channel",
    "username": "Channel_Bot",
}
_TELEGRAM: JSON = {"id": TELEGRAM_SERVICE_ID, "is_bot": False, "first_name": "Telegram"}


class SandboxBotAPI(SandboxCore):
    """An in-process Telegram Bot API over HTTP on 127.0.0.1, for tests and ``steward demo``.

    ::

        async with SandboxBotAPI() as api:
            api.add_user(1, "Ann")
            api.add_group(-1001, "Club", owner_id=1)
            api.add_bot_to_group(-1001, by_user_id=1)
            async with api.polling(dispatcher):
                api.send_message(-1001, 1, "hello")
                call = await api.wait_for("sendMessage", chat_id=-1001)

    The helpers below are synchronous: they change state, queue the updates the bot would get, and wake
    long polls. They raise ``ValueError``/``KeyError`` for actions real Telegram would not allow
    (posting in a chat one is not a member of, replying to a missing message).
    """

    async def __aenter__(self) -> SandboxBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ aiogram glue

    def make_bot(self, token: str | None = None, **kwargs: Any) -> Bot:
        """An aiogram ``Bot`` talking to this sandbox; close it with ``await bot.session.close()``."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        session = AiohttpSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(token or self.token, session=session, **kwargs)

    @contextlib.asynccontextmanager
    async def polling(
        self,
        dispatcher: Dispatcher,
        bot: Bot | None = None,
        *,
        polling_timeout: int = 1,
        start_timeout: float = 10.0,
        **kwargs: Any,
    ) -> AsyncIterator[Bot]:
        """Run the real ``dispatcher.start_polling(bot)`` as a task until the block ends, then
        ``stop_polling()`` it. Entering waits until the first ``getUpdates`` reached the sandbox. Without
        ``bot`` one is made with :meth:`make_bot` and its session closed at the end. Extra keyword arguments
        go to ``start_polling`` (``allowed_updates``, workflow data…)."""
        own = bot is None
        the_bot = self.make_bot() if bot is None else bot
        polls = self.poll_count
        task = asyncio.create_task(
            dispatcher.start_polling(
                the_bot,
                polling_timeout=polling_timeout,
                handle_signals=False,
                close_bot_session=own,
                **kwargs,
            )
        )
        try:
            await self._wait_polling_started(polls, task, start_timeout)
            yield the_bot
        finally:
            if not task.done():
                try:
                    await dispatcher.stop_polling()
                except RuntimeError:  # not started yet
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)

    async def _wait_polling_started(self, polls: int, task: asyncio.Task[Any], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.poll_count <= polls:
            if task.done():
                task.result()  # re-raise the polling failure
                raise RuntimeError("polling stopped before its first getUpdates")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("the dispatcher did not call getUpdates in time")
            event = self._journal_changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.05))

    @staticmethod
    def as_message(message: Mapping[str, Any]) -> Message:
        """Parse a message dict (from :meth:`sent_messages`, :meth:`send_message`…) as an aiogram Message."""
        from aiogram.types import Message

        return Message.model_validate(dict(message))

    # ------------------------------------------------------------------ users and chats

    def add_user(
        self,
        id: int,
        first_name: str,
        username: str | None = None,
        language_code: str | None = "en",
        is_bot: bool = False,
        *,
        last_name: str | None = None,
        is_premium: bool = False,
        started: bool = False,
    ) -> JSON:
        """Register a Telegram user (no update is sent). Returns the User object. The bot may only message
        users who wrote to it first (else 403 "can't initiate conversation"); ``started=True`` means the
        user already did (without queuing their /start)."""
        if id <= 0:
            raise ValueError("user ids are positive")
        user: JSON = {"id": id, "is_bot": is_bot, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        if is_premium:
            user["is_premium"] = True
        self.users[id] = user
        if started:
            self.private_chat(id)
            self.started_by.add(id)
        return dict(user)

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        type: str = "supergroup",
        is_forum: bool = False,
        username: str | None = None,
        owner_id: int | None = None,
        members: Iterable[int] = (),
        admins: Iterable[int] = (),
        description: str | None = None,
    ) -> ChatState:
        """Create a group, supergroup (forum with ``is_forum=True``) or channel (``type="channel"``).
        The owner, members and admins are set silently (no updates); the bot is not a member until
        :meth:`add_bot_to_group`."""
        if type not in ("group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {type!r}")
        if chat_id >= 0:
            raise ValueError("group and channel ids are negative (supergroups: -100…)")
        if is_forum and type != "supergroup":
            raise ValueError("only supergroups can be forums")
        chat = ChatState(
            id=chat_id, type=type, title=title, username=username, is_forum=is_forum, description=description
        )
        self.chats[chat_id] = chat
        if owner_id is not None:
            self._require_user(owner_id)
            chat.members[owner_id] = Member(owner_id, "creator")
            chat.invite_links.clear()
            self.make_invite_link(chat, self.user(owner_id), primary=True)
        for uid in members:
            self.add_member(chat_id, uid)
        for uid in admins:
            self.add_member(chat_id, uid, status="administrator")
        return chat

    def add_channel(self, chat_id: int, title: str, **kwargs: Any) -> ChatState:
        return self.add_group(chat_id, title, type="channel", **kwargs)

    def add_member(
        self, chat_id: int, user_id: int, status: str = "member", *, rights: Mapping[str, bool] | None = None
    ) -> None:
        """Set a member's status silently (no update): for building the starting state."""
        chat = self.chat(chat_id)
        if user_id != self.bot_id:
            self._require_user(user_id)
        chat.members[user_id] = self._make_member(chat, user_id, status, rights)

    def _make_member(self, chat: ChatState, user_id: int, status: str, rights: Mapping[str, bool] | None) -> Member:
        if status == "administrator":
            return Member(user_id, status, rights=self.admin_rights(chat.type, dict(rights or {})))
        if status == "restricted":
            perms = {key: False for key in RESTRICTED_PERMISSIONS}
            perms.update(rights or {})
            return Member(user_id, status, rights=perms)
        if status not in ("creator", "member", "left", "kicked"):
            raise ValueError(f"unknown member status {status!r}")
        return Member(user_id, status)

    def _require_user(self, user_id: int) -> JSON:
        if user_id not in self.users:
            raise KeyError(f"unknown user {user_id}; call add_user() first")
        return self.users[user_id]

    def add_topic(self, chat_id: int, name: str, *, by_user_id: int | None = None, icon_color: int = 7322096) -> int:
        """Create a forum topic (as its creator, else the chat owner). The bot gets the forum_topic_created
        service message. Returns the topic's ``message_thread_id``."""
        chat = self.chat(chat_id)
        creator_id = by_user_id if by_user_id is not None else self._owner_id(chat)
        creator = self._render_user(creator_id) if creator_id is not None else dict(_ANONYMOUS_ADMIN)
        try:
            msg = self.make_topic(chat, name, icon_color, creator)
        except ApiError as exc:
            raise ValueError(exc.description) from exc
        self._deliver(chat, msg, service=True)
        return int(msg["message_id"])

    def close_topic(self, chat_id: int, thread_id: int, closed: bool = True) -> None:
        self.chat(chat_id).topics[thread_id]["is_closed"] = closed

    def _owner_id(self, chat: ChatState) -> int | None:
        return next((uid for uid, m in chat.members.items() if m.status == "creator"), None)

    def _by(self, chat: ChatState, by_user_id: int | None, fallback: int | None = None) -> JSON:
        uid = by_user_id if by_user_id is not None else (fallback if fallback is not None else self._owner_id(chat))
        return self._render_user(uid) if uid is not None else dict(_ANONYMOUS_ADMIN)

    # ------------------------------------------------------------------ delivery

    def _bot_sees(self, chat: ChatState, msg: JSON, *, service: bool = False) -> bool:
        """Would the bot get this message as an update (membership, privacy mode)?"""
        if chat.type == "private":
            return chat.id not in self.blocked_by
        member = chat.member(self.bot_id)
        if not member.present:
            return False
        if chat.type == "channel" or service or member.is_admin or self.can_read_all_group_messages:
            return True
        text = msg.get("text") or msg.get("caption") or ""
        command = re.match(r"/[A-Za-z0-9_]+(?:@([A-Za-z0-9_]+))?", text)
        if command:
            target = command.group(1)
            return target is None or target.lower() == (self.bot_username or "").lower()
        reply = msg.get("reply_to_message") or {}
        return bool(reply.get("from", {}).get("id") == self.bot_id)

    def _deliver(self, chat: ChatState, msg: JSON, *, service: bool = False, edited: bool = False) -> JSON | None:
        if not self._bot_sees(chat, msg, service=service):
            return None
        if chat.type == "channel":
            kind = "edited_channel_post" if edited else "channel_post"
        else:
            kind = "edited_message" if edited else "message"
        return self._enqueue(kind, msg)

    def _service_message(self, chat: ChatState, actor: JSON, body: JSON) -> JSON:
        msg = self.new_message(chat, body, from_user=actor)
        self._deliver(chat, msg, service=True)
        return copy.deepcopy(msg)

    # ------------------------------------------------------------------ membership

    def add_bot_to_group(
        self,
        chat_id: int,
        by_user_id: int,
        *,
        as_admin: bool = True,
        rights: Mapping[str, bool] | None = None,
        via_service_message: bool = True,
    ) -> JSON | None:
        """The user adds the bot (as an administrator by default). Queues ``my_chat_member`` and, in groups,
        the ``new_chat_members`` service message. Returns the my_chat_member update."""
        chat = self.chat(chat_id)
        by = self._render_user(by_user_id)
        status = "administrator" if as_admin else "member"
        if chat.type == "channel" and not as_admin:
            raise ValueError("bots can only be added to channels as administrators")
        new = self._make_member(chat, self.bot_id, status, rights)
        update = self.member_changed(chat, self.bot_id, new, by)
        if via_service_message and chat.type != "channel":
            self._service_message(
                chat,
                by,
                {
                    "new_chat_members": [self.bot_user()],
                    "new_chat_member": self.bot_user(),
                    "new_chat_participant": self.bot_user(),
                },
            )
        return update

    def remove_bot_from_group(
        self, chat_id: int, by_user_id: int, *, kicked: bool = True, via_service_message: bool = True
    ) -> JSON | None:
        """The user removes (``kicked=True``: bans) the bot. Queues ``my_chat_member``."""
        chat = self.chat(chat_id)
        by = self._render_user(by_user_id)
        update = self.member_changed(chat, self.bot_id, Member(self.bot_id, "kicked" if kicked else "left"), by)
        if via_service_message and chat.type != "channel":
            # the bot no longer sees the chat, so this service message is stored but not delivered
            self._service_message(
                chat, by, {"left_chat_member": self.bot_user(), "left_chat_participant": self.bot_user()}
            )
        return update

    def set_bot_rights(
        self,
        chat_id: int,
        by_user_id: int,
        *,
        is_admin: bool = True,
        rights: Mapping[str, bool] | None = None,
    ) -> JSON | None:
        """Promote or demote the bot in a chat it is in. Queues ``my_chat_member``."""
        chat = self.chat(chat_id)
        new = self._make_member(chat, self.bot_id, "administrator" if is_admin else "member", rights)
        return self.member_changed(chat, self.bot_id, new, self._render_user(by_user_id))

    def set_admin(
        self,
        chat_id: int,
        user_id: int,
        is_admin: bool = True,
        *,
        by_user_id: int | None = None,
        rights: Mapping[str, bool] | None = None,
        custom_title: str | None = None,
        is_anonymous: bool = False,
    ) -> JSON | None:
        """Promote (or demote to member) a user. Queues ``chat_member`` (bots only get it when they are
        admins and asked for it in ``allowed_updates``); for the bot's own id, ``my_chat_member``."""
        chat = self.chat(chat_id)
        new = self._make_member(chat, user_id, "administrator" if is_admin else "member", rights)
        new.custom_title = custom_title
        new.is_anonymous = is_anonymous
        return self.member_changed(chat, user_id, new, self._by(chat, by_user_id))

    def join(
        self,
        chat_id: int,
        user_id: int,
        invite_link: str | None = None,
        via_service_message: bool = True,
        *,
        added_by: int | None = None,
        via_join_request: bool = False,
    ) -> JSON | None:
        """The user joins (through ``invite_link``, or is added by ``added_by``). Queues ``chat_member`` with
        the ChatInviteLink object, and the ``new_chat_members`` service message (not sent by Telegram for big
        groups or channels: pass ``via_service_message=False``). Returns the chat_member update, if the bot
        gets one."""
        chat = self.chat(chat_id)
        user = self._require_user(user_id)
        if chat.member(user_id).status == "kicked":
            raise ValueError(f"user {user_id} is banned in {chat_id}")
        if chat.member(user_id).present:
            raise ValueError(f"user {user_id} is already a member of {chat_id}")
        link_obj: JSON | None = None
        if invite_link is not None:
            link_obj = chat.invite_links.get(invite_link)
            if link_obj is None:
                raise ValueError(f"unknown invite link {invite_link!r} for chat {chat_id}")
            if link_obj.get("is_revoked"):
                raise ValueError(f"invite link {invite_link!r} was revoked")
            link_obj["_joined"] = int(link_obj.get("_joined", 0)) + 1
        actor = dict(user) if added_by is None else self._render_user(added_by)
        shown_link = {k: v for k, v in link_obj.items() if not k.startswith("_")} if link_obj else None
        update = self.member_changed(
            chat,
            user_id,
            Member(user_id, "member"),
            actor,
            invite_link=shown_link,
            via_join_request=via_join_request,
        )
        if via_service_message and chat.type != "channel":
            self._service_message(
                chat,
                actor,
                {
                    "new_chat_members": [dict(user)],
                    "new_chat_member": dict(user),
                    "new_chat_participant": dict(user),
                },
            )
        return update

    def leave(
        self, chat_id: int, user_id: int, via_service_message: bool = True, *, kicked_by: int | None = None
    ) -> JSON | None:
        """The user leaves (or is banned by ``kicked_by``). Queues ``chat_member`` and the
        ``left_chat_member`` service message."""
        chat = self.chat(chat_id)
        user = self._require_user(user_id)
        actor = dict(user) if kicked_by is None else self._render_user(kicked_by)
        new = Member(user_id, "kicked" if kicked_by is not None else "left")
        update = self.member_changed(chat, user_id, new, actor)
        if via_service_message and chat.type != "channel":
            self._service_message(chat, actor, {"left_chat_member": dict(user), "left_chat_participant": dict(user)})
        return update

    def request_join(self, chat_id: int, user_id: int, invite_link: str | None = None, bio: str | None = None) -> JSON:
        """The user asks to join through a join-request link. Queues ``chat_join_request``."""
        chat = self.chat(chat_id)
        user = self._require_user(user_id)
        payload: JSON = {
            "chat": chat.render(),
            "from": dict(user),
            "user_chat_id": user_id,
            "date": self.unix_now(),
        }
        if bio:
            payload["bio"] = bio
        chat.join_requests.add(user_id)
        self.join_requesters.add(user_id)
        if invite_link is not None:
            link = chat.invite_links.get(invite_link)
            if link is None:
                raise ValueError(f"unknown invite link {invite_link!r}")
            payload["invite_link"] = {k: v for k, v in link.items() if not k.startswith("_")}
        return self._enqueue("chat_join_request", payload)

    def add_invite_link(
        self, chat_id: int, creator_id: int, name: str | None = None, *, creates_join_request: bool = False
    ) -> str:
        """An invite link made by a person (not the bot). Returns the link."""
        chat = self.chat(chat_id)
        return str(
            self.make_invite_link(
                chat, self._render_user(creator_id), name=name, creates_join_request=creates_join_request
            )["invite_link"]
        )

    def invite_link_joins(self, chat_id: int, invite_link: str) -> int:
        """How many users joined through this link via :meth:`join`."""
        return int(self.chat(chat_id).invite_links[invite_link].get("_joined", 0))

    def block_bot(self, user_id: int) -> JSON:
        """The user blocks the bot: later sends to them fail with 403. Queues ``my_chat_member``."""
        chat = self.private_chat(user_id)
        self.blocked_by.add(user_id)
        return self._private_status(chat, user_id, "member", "kicked")

    def unblock_bot(self, user_id: int) -> JSON:
        chat = self.private_chat(user_id)
        self.blocked_by.discard(user_id)
        return self._private_status(chat, user_id, "kicked", "member")

    def _private_status(self, chat: ChatState, user_id: int, old: str, new: str) -> JSON:
        bot = self.bot_user()
        return self._enqueue(
            "my_chat_member",
            {
                "chat": chat.render(),
                "from": self._render_user(user_id),
                "date": self.unix_now(),
                "old_chat_member": {
                    "status": old,
                    "user": bot,
                    **({"until_date": 0} if old == "kicked" else {}),
                },
                "new_chat_member": {
                    "status": new,
                    "user": bot,
                    **({"until_date": 0} if new == "kicked" else {}),
                },
            },
        )

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> ChatState:
        """Upgrade a basic group to a supergroup: members move over, both service messages are queued, and
        later calls to the old id fail with 400 ``migrate_to_chat_id``."""
        old = self.chat(old_chat_id)
        if old.type != "group":
            raise ValueError("only basic groups migrate")
        if new_chat_id in self.chats:
            raise ValueError(f"chat {new_chat_id} already exists")
        new = ChatState(
            id=new_chat_id,
            type="supergroup",
            title=old.title,
            description=old.description,
            migrated_from=old_chat_id,
        )
        new.members = {uid: copy.deepcopy(m) for uid, m in old.members.items()}
        new.invite_links = {}
        self.chats[new_chat_id] = new
        owner = self._by(old, None)
        self._service_message(old, owner, {"migrate_to_chat_id": new_chat_id})
        old.migrated_to = new_chat_id
        self._service_message(new, owner, {"migrate_from_chat_id": old_chat_id})
        return new

    def link_discussion(self, channel_id: int, group_id: int) -> None:
        """Make ``group_id`` the discussion group of ``channel_id``: channel posts get auto-forwarded."""
        channel, group = self.chat(channel_id), self.chat(group_id)
        channel.linked_chat_id = group_id
        group.linked_chat_id = channel_id

    # ------------------------------------------------------------------ messages

    def send_message(
        self,
        chat_id: int,
        user_id: int,
        text: str = "",
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        sender_chat_id: int | None = None,
        is_automatic_forward: bool = False,
        photo: bool = False,
        document: str | None = None,
        caption: str | None = None,
        entities: Sequence[Mapping[str, Any]] | None = None,
        forward_from_user_id: int | None = None,
    ) -> JSON:
        """The user writes in a chat (in private: ``send_message(user_id, user_id, "/start")``).

        Entities for commands (``/cmd``, ``/cmd@bot``), mentions, hashtags and URLs are computed unless given.
        ``reply_to`` is a message id in the same chat: ``reply_to_message`` carries the full message. In a
        forum, ``thread_id`` picks the topic (a reply inherits its target's topic). ``sender_chat_id`` = the
        group id: an anonymous admin; = a channel id: a post on behalf of that channel. ``photo`` or
        ``document`` (a file name) sends media with ``caption``. Returns the stored message; the bot gets it
        only if it would in Telegram (membership, privacy mode)."""
        user = self._require_user(user_id)
        if chat_id == user_id:
            chat = self.private_chat(user_id)
            self.started_by.add(user_id)
            if user_id in self.blocked_by:
                self.unblock_bot(user_id)
        else:
            chat = self.chat(chat_id)
            if chat.type == "channel":
                raise ValueError("use channel_post() for channels")
            if chat.migrated_to is not None:
                raise ValueError(f"chat {chat_id} migrated to {chat.migrated_to}")
            if sender_chat_id is None and not is_automatic_forward and not chat.member(user_id).present:
                raise ValueError(f"user {user_id} is not a member of chat {chat_id}; use join() or add_member()")
            member = chat.member(user_id)
            muted = member.status == "restricted" and not member.rights.get("can_send_messages", False)
            if sender_chat_id is None and muted and (member.until_date == 0 or member.until_date > self.unix_now()):
                raise ValueError(f"user {user_id} is muted in chat {chat_id}")
            if sender_chat_id is not None and sender_chat_id in chat.banned_sender_chats:
                raise ValueError(f"chat {sender_chat_id} is banned from posting in {chat_id}")
        reply_msg: JSON | None = None
        if reply_to is not None:
            reply_msg = chat.messages.get(reply_to)
            if reply_msg is None:
                raise ValueError(f"no message {reply_to} in chat {chat_id}")
        if chat.is_forum:
            if thread_id in (None, 1):
                thread_id = None
                if reply_msg is not None and reply_msg.get("is_topic_message"):
                    thread_id = reply_msg.get("message_thread_id")
            elif thread_id not in chat.topics:
                raise ValueError(f"no topic {thread_id} in chat {chat_id}")
        elif thread_id is not None and chat.type != "supergroup":
            raise ValueError("thread_id needs a forum or a supergroup")

        body: JSON = {}
        if photo or document is not None:
            caption = caption if caption is not None else (text or None)
            kind = "photo" if photo else "document"
            info = self._new_file(kind, name=document, mime=None)
            body[kind] = self._media_object(kind, info)
            if caption:
                body["caption"] = caption
                ents = [dict(e) for e in entities] if entities is not None else detect_entities(caption)
                if ents:
                    body["caption_entities"] = ents
        else:
            if not text:
                raise ValueError("text is empty")
            body["text"] = text
            ents = [dict(e) for e in entities] if entities is not None else detect_entities(text)
            if ents:
                body["entities"] = ents

        from_user: JSON = dict(user)
        sender_chat: JSON | None = None
        if is_automatic_forward:
            channel = self.chat(sender_chat_id) if sender_chat_id is not None else None
            if channel is None:
                raise ValueError("is_automatic_forward needs sender_chat_id = the channel")
            from_user, sender_chat = dict(_TELEGRAM), channel.render()
            body["is_automatic_forward"] = True
            body["forward_origin"] = {
                "type": "channel",
                "date": self.unix_now(),
                "chat": channel.render(),
                "message_id": 1,
            }
        elif sender_chat_id is not None:
            if sender_chat_id == chat_id:
                from_user, sender_chat = dict(_ANONYMOUS_ADMIN), chat.render()
            else:
                from_user, sender_chat = dict(_CHANNEL_BOT), self.chat(sender_chat_id).render()
        if forward_from_user_id is not None:
            body["forward_origin"] = {
                "type": "user",
                "date": self.unix_now(),
                "sender_user": self._render_user(forward_from_user_id),
            }
        msg = self.new_message(
            chat, body, from_user=from_user, sender_chat=sender_chat, thread_id=thread_id, reply_to=reply_msg
        )
        self._deliver(chat, msg)
        return copy.deepcopy(msg)

    def reply(self, chat_id: int, user_id: int, reply_to: int, text: str, **kwargs: Any) -> JSON:
        """Shorthand for ``send_message(chat_id, user_id, text, reply_to=reply_to)``."""
        return self.send_message(chat_id, user_id, text, reply_to=reply_to, **kwargs)

    def edit_message(self, chat_id: int, message_id: int, text: str) -> JSON:
        """The author edits a message (text, or caption for media). Queues ``edited_message`` /
        ``edited_channel_post``."""
        chat = self.chat(chat_id)
        msg = chat.messages.get(message_id)
        if msg is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        if msg.get("from", {}).get("id") == self.bot_id:
            raise ValueError("use the Bot API to edit the bot's own messages")
        key, ents_key = ("text", "entities") if "text" in msg else ("caption", "caption_entities")
        msg[key] = text
        ents = detect_entities(text)
        if ents:
            msg[ents_key] = ents
        else:
            msg.pop(ents_key, None)
        msg["edit_date"] = self.unix_now()
        self._deliver(chat, msg, edited=True)
        return copy.deepcopy(msg)

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """A member deletes a message (bots get no update for this)."""
        chat = self.chat(chat_id)
        if message_id in chat.messages:
            chat.deleted[message_id] = chat.messages.pop(message_id)

    def channel_post(
        self,
        chat_id: int,
        text: str = "",
        *,
        photo: bool = False,
        caption: str | None = None,
        author_signature: str | None = None,
    ) -> JSON:
        """A post in a channel. Queues ``channel_post`` if the bot is in the channel and, when the channel has
        a discussion group (:meth:`link_discussion`), the automatic forward there."""
        chat = self.chat(chat_id)
        if chat.type != "channel":
            raise ValueError(f"chat {chat_id} is not a channel")
        body: JSON = {}
        if photo:
            body["photo"] = self._media_object("photo", self._new_file("photo", name=None))
            if caption:
                body["caption"] = caption
        else:
            if not text:
                raise ValueError("text is empty")
            body["text"] = text
            ents = detect_entities(text)
            if ents:
                body["entities"] = ents
        if author_signature:
            body["author_signature"] = author_signature
        msg = self.new_message(chat, body, from_user=None, sender_chat=chat.render())
        self._deliver(chat, msg)
        if chat.linked_chat_id is not None and chat.linked_chat_id in self.chats:
            group = self.chats[chat.linked_chat_id]
            fwd = self._content_like(msg)
            fwd["is_automatic_forward"] = True
            fwd["forward_origin"] = {
                "type": "channel",
                "date": msg["date"],
                "chat": chat.render(),
                "message_id": msg["message_id"],
            }
            auto = self.new_message(group, fwd, from_user=dict(_TELEGRAM), sender_chat=chat.render())
            self._deliver(group, auto)
        return copy.deepcopy(msg)

    @staticmethod
    def _content_like(msg: JSON) -> JSON:
        keys = ("text", "entities", "caption", "caption_entities", "photo", "document")
        return {k: copy.deepcopy(msg[k]) for k in keys if k in msg}

    def press_button(self, chat_id: int, user_id: int, message_id: int, callback_data: str) -> str:
        """The user presses an inline button. Queues ``callback_query`` carrying the message; returns the
        query id (answer it with answerCallbackQuery; see :meth:`callback_answer`)."""
        chat = self.chat(chat_id) if chat_id != user_id else self.private_chat(user_id)
        user = self._require_user(user_id)
        msg = chat.messages.get(message_id)
        if msg is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        rows = (msg.get("reply_markup") or {}).get("inline_keyboard")
        if rows is not None:
            datas = [b.get("callback_data") for row in rows for b in row]
            if callback_data not in datas:
                raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}: {datas}")
        qid = str(secrets.randbits(63))
        query: JSON = {
            "id": qid,
            "from": dict(user),
            "message": copy.deepcopy(msg),
            "chat_instance": str(abs(hash(("chat_instance", chat.id))) % 10**18),
            "data": callback_data,
        }
        self.callback_queries[qid] = {"query": query, "answered": False, "answer": None}
        self._enqueue("callback_query", query)
        return qid

    def callback_answer(self, query_id: str) -> JSON | None:
        """What the bot answered to a callback query (``text``, ``show_alert``…), or None if unanswered."""
        entry = self.callback_queries[query_id]
        return dict(entry["answer"]) if entry["answered"] else None

    def react(self, chat_id: int, message_id: int, counts: Mapping[str, int]) -> JSON | None:
        """Anonymous reaction counts changed (``{"👍": 3}``). Queues ``message_reaction_count`` (sent only to
        admin bots that ask for it)."""
        chat = self.chat(chat_id)
        if message_id not in chat.messages:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        payload: JSON = {
            "chat": chat.render(),
            "message_id": message_id,
            "date": self.unix_now(),
            "reactions": [
                {"type": {"type": "emoji", "emoji": emoji}, "total_count": count} for emoji, count in counts.items()
            ],
        }
        if not chat.member(self.bot_id).is_admin:
            return None
        return self._enqueue("message_reaction_count", payload)

    def react_as(
        self, chat_id: int, message_id: int, user_id: int, new: Sequence[str], old: Sequence[str] = ()
    ) -> JSON | None:
        """A user changes their reaction. Queues ``message_reaction`` (admin bots that ask for it only)."""
        chat = self.chat(chat_id)
        if message_id not in chat.messages:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        payload: JSON = {
            "chat": chat.render(),
            "message_id": message_id,
            "user": self._render_user(user_id),
            "date": self.unix_now(),
            "old_reaction": [{"type": "emoji", "emoji": e} for e in old],
            "new_reaction": [{"type": "emoji", "emoji": e} for e in new],
        }
        if not chat.member(self.bot_id).is_admin:
            return None
        return self._enqueue("message_reaction", payload)

    def messages(self, chat_id: int, thread_id: int | None = None) -> list[JSON]:
        """Every stored (not deleted) message of a chat, in id order."""
        chat = self.chat(chat_id)
        return [
            copy.deepcopy(m)
            for _, m in sorted(chat.messages.items())
            if thread_id is None or m.get("message_thread_id") == thread_id
        ]
