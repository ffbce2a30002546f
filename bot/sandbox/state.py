"""Plain state kept by the sandbox: chats, members, messages, topics, invite links, journal entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.sandbox.faults import Fault

__all__ = [
    "ADMIN_RIGHTS",
    "ANONYMOUS_ADMIN_ID",
    "CHANNEL_BOT_ID",
    "RESTRICTED_PERMISSIONS",
    "Call",
    "ChatState",
    "Member",
]

JSON = dict[str, Any]  # a Bot API object as JSON, the one alias of the whole sandbox


def present(**values: Any) -> JSON:
    """The values that are set (truthy): the optional fields of a Bot API object, in the order given."""
    return {key: value for key, value in values.items() if value}


ANONYMOUS_ADMIN_ID = 1087968824  # GroupAnonymousBot: the "from" of messages sent by anonymous admins
CHANNEL_BOT_ID = 136817688  # Channel_Bot: the "from" of messages sent on behalf of a channel

# The flags aiogram's ChatMemberAdministrator requires (3.31), then every other flag it carries.
REQUIRED_ADMIN_RIGHTS: tuple[str, ...] = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)
ADMIN_RIGHTS: tuple[str, ...] = (*REQUIRED_ADMIN_RIGHTS, "can_pin_messages", "can_manage_topics")
CHANNEL_ADMIN_RIGHTS: tuple[str, ...] = ("can_post_messages", "can_edit_messages")

RESTRICTED_PERMISSIONS: tuple[str, ...] = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


def default_admin_rights(chat_type: str, overrides: dict[str, bool] | None = None) -> dict[str, bool]:
    rights = dict.fromkeys(ADMIN_RIGHTS, True)
    rights["can_promote_members"] = False
    if chat_type == "channel":
        rights.update(dict.fromkeys(CHANNEL_ADMIN_RIGHTS, True))
        rights["can_manage_topics"] = False
    if overrides:
        rights.update(overrides)
    return rights


@dataclass
class Member:
    """One user's standing in one chat."""

    user_id: int
    status: str  # creator | administrator | member | restricted | left | kicked
    rights: dict[str, bool] = field(default_factory=dict)  # admin rights, or restricted permissions
    until_date: int = 0
    custom_title: str | None = None
    is_anonymous: bool = False
    is_member: bool = True  # only meaningful for "restricted"

    @property
    def present(self) -> bool:
        if self.status == "restricted":
            return self.is_member
        return self.status in ("creator", "administrator", "member")

    @property
    def is_admin(self) -> bool:
        return self.status in ("creator", "administrator")

    def can(self, right: str) -> bool:
        if self.status == "creator":
            return True
        if self.status == "administrator":
            return bool(self.rights.get(right, False))
        return False

    def render(self, user: JSON) -> JSON:
        out: JSON = {"status": self.status, "user": user}
        if self.status == "creator":
            out["is_anonymous"] = self.is_anonymous
            if self.custom_title:
                out["custom_title"] = self.custom_title
        elif self.status == "administrator":
            out["can_be_edited"] = False
            out["is_anonymous"] = self.is_anonymous
            for key in ADMIN_RIGHTS:
                out[key] = bool(self.rights.get(key, False))
            for key in CHANNEL_ADMIN_RIGHTS:
                if key in self.rights:
                    out[key] = bool(self.rights[key])
            if self.custom_title:
                out["custom_title"] = self.custom_title
        elif self.status == "restricted":
            out["is_member"] = self.is_member
            for key in RESTRICTED_PERMISSIONS:
                out[key] = bool(self.rights.get(key, False))
            out["until_date"] = self.until_date
        elif self.status == "kicked" or (self.status == "member" and self.until_date):
            out["until_date"] = self.until_date
        return out


@dataclass
class ChatState:
    """A chat as the sandbox knows it."""

    id: int
    type: str  # private | group | supergroup | channel
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    description: str | None = None
    members: dict[int, Member] = field(default_factory=dict)
    messages: dict[int, JSON] = field(default_factory=dict)
    deleted: dict[int, JSON] = field(default_factory=dict)
    next_message_id: int = 1
    thread_roots: dict[int, int] = field(default_factory=dict)  # message id → reply-thread root
    topics: dict[int, JSON] = field(default_factory=dict)  # thread id → ForumTopic (+ "is_closed")
    invite_links: dict[str, JSON] = field(default_factory=dict)
    pinned: list[int] = field(default_factory=list)
    migrated_to: int | None = None
    migrated_from: int | None = None
    linked_chat_id: int | None = None
    banned_sender_chats: set[int] = field(default_factory=set)  # banChatSenderChat
    join_requests: set[int] = field(default_factory=set)  # users waiting for approve/declineChatJoinRequest
    permissions: dict[str, bool] = field(
        default_factory=lambda: (
            {key: True for key in RESTRICTED_PERMISSIONS if key != "can_edit_tag"}
            | {
                "can_change_info": False,
                "can_pin_messages": False,
                "can_manage_topics": False,
                "can_edit_tag": False,
            }
        )
    )

    def render(self) -> JSON:
        """The short ``Chat`` object embedded in messages and updates."""
        out: JSON = {"id": self.id, "type": self.type}
        if self.type == "private":
            out["first_name"] = self.first_name or ""
            if self.last_name:
                out["last_name"] = self.last_name
        else:
            out["title"] = self.title or ""
        if self.username:
            out["username"] = self.username
        if self.is_forum:
            out["is_forum"] = True
        return out

    def member(self, user_id: int) -> Member:
        return self.members.get(user_id) or Member(user_id, "left")

    def topic_of(self, thread_id: int | None, reply_to: JSON | None) -> int | None:
        """The forum topic a new message goes to: the one named, else the replied-to message's (None: the
        General topic, also when ``thread_id`` is 1). Raises ``KeyError`` for a topic this forum lacks."""
        if thread_id in (None, 1):
            return reply_to.get("message_thread_id") if reply_to and reply_to.get("is_topic_message") else None
        if thread_id not in self.topics:
            raise KeyError(thread_id)
        return thread_id

    def take_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid

    @property
    def kind_word(self) -> str:
        """How Telegram names this chat kind in its error descriptions."""
        return {"group": "group chat", "supergroup": "supergroup chat", "channel": "channel chat"}.get(
            self.type, "chat"
        )


@dataclass
class Call:
    """One journaled Bot API call."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    wall: datetime  # aware UTC time when the request arrived
    chat_id: int | None
    ok: bool
    error_code: int | None
    result: Any
    description: str | None = None
    fault: Fault | None = None
    bot_id: int | None = None
    index: int = 0
    duration: float = 0.0
