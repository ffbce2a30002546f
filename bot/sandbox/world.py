"""The user side's ground: users and chats as a test builds them, and what the bot gets to see of them.

:class:`World` is the base of the helpers that act as Telegram users (:mod:`.membership`, :mod:`.posting`);
:class:`bot.sandbox.SandboxBotAPI` brings them together.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.sandbox.core import SandboxCore
from bot.sandbox.faults import ApiError
from bot.sandbox.methods.invites import make_invite_link
from bot.sandbox.methods.topics import make_topic
from bot.sandbox.state import (
    ANONYMOUS_ADMIN_ID,
    CHANNEL_BOT_ID,
    JSON,
    RESTRICTED_PERMISSIONS,
    ChatState,
    Member,
    present,
)

__all__ = ["ANONYMOUS_ADMIN", "CHANNEL_BOT", "TELEGRAM_SERVICE_ID", "TELEGRAM_USER", "World"]


TELEGRAM_SERVICE_ID = 777000  # "Telegram": the "from" of automatic forwards from a linked channel
ANONYMOUS_ADMIN: JSON = {
    "id": ANONYMOUS_ADMIN_ID,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
CHANNEL_BOT: JSON = {
    "id": CHANNEL_BOT_ID,
    "is_bot": True,
    "first_name": "Channel",
    "username": "Channel_Bot",
}
TELEGRAM_USER: JSON = {"id": TELEGRAM_SERVICE_ID, "is_bot": False, "first_name": "Telegram"}


class World(SandboxCore):
    """Users, chats, members and topics, set up silently; and the delivery of what members do to the bot."""

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
        user.update(present(last_name=last_name, username=username, language_code=language_code, is_premium=is_premium))
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
            make_invite_link(chat, self.user(owner_id), primary=True)
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
        creator = self._render_user(creator_id) if creator_id is not None else dict(ANONYMOUS_ADMIN)
        try:
            msg = make_topic(self, chat, name, icon_color, creator)
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
        return self._render_user(uid) if uid is not None else dict(ANONYMOUS_ADMIN)

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

    def _joined(self, chat: ChatState, actor: JSON, user: JSON) -> None:
        """The ``new_chat_members`` service message (Telegram sends none in channels)."""
        if chat.type != "channel":
            body = {"new_chat_members": [dict(user)], "new_chat_member": dict(user), "new_chat_participant": dict(user)}
            self._service_message(chat, actor, body)

    def _left(self, chat: ChatState, actor: JSON, user: JSON) -> None:
        """The ``left_chat_member`` service message (Telegram sends none in channels)."""
        if chat.type != "channel":
            self._service_message(chat, actor, {"left_chat_member": dict(user), "left_chat_participant": dict(user)})

    @staticmethod
    def _shown_link(link: JSON) -> JSON:
        """An invite link as updates show it (without the sandbox's own ``_`` bookkeeping)."""
        return {k: v for k, v in link.items() if not k.startswith("_")}

    # ------------------------------------------------------------------ private chats

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
