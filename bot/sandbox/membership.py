"""User-side helpers for membership: the bot added, promoted or removed, members joining (by link or join
request), leaving, promoted; the bot blocked in private; groups migrating to supergroups."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from bot.sandbox.methods.invites import make_invite_link
from bot.sandbox.state import JSON, ChatState, Member
from bot.sandbox.world import World

__all__ = ["Membership"]


class Membership(World):
    """Who is in which chat, changed the way members and admins change it (each queues its updates)."""

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
        if via_service_message:
            self._joined(chat, by, self.bot_user())
        return update

    def remove_bot_from_group(
        self, chat_id: int, by_user_id: int, *, kicked: bool = True, via_service_message: bool = True
    ) -> JSON | None:
        """The user removes (``kicked=True``: bans) the bot. Queues ``my_chat_member``."""
        chat = self.chat(chat_id)
        by = self._render_user(by_user_id)
        update = self.member_changed(chat, self.bot_id, Member(self.bot_id, "kicked" if kicked else "left"), by)
        if via_service_message:  # the bot no longer sees the chat: the message is stored, not delivered
            self._left(chat, by, self.bot_user())
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
        shown_link = self._shown_link(link_obj) if link_obj else None
        update = self.member_changed(
            chat,
            user_id,
            Member(user_id, "member"),
            actor,
            invite_link=shown_link,
            via_join_request=via_join_request,
        )
        if via_service_message:
            self._joined(chat, actor, user)
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
        if via_service_message:
            self._left(chat, actor, user)
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
            payload["invite_link"] = self._shown_link(link)
        return self._enqueue("chat_join_request", payload)

    def add_invite_link(
        self, chat_id: int, creator_id: int, name: str | None = None, *, creates_join_request: bool = False
    ) -> str:
        """An invite link made by a person (not the bot). Returns the link."""
        chat = self.chat(chat_id)
        return str(
            make_invite_link(chat, self._render_user(creator_id), name=name, creates_join_request=creates_join_request)[
                "invite_link"
            ]
        )

    def invite_link_joins(self, chat_id: int, invite_link: str) -> int:
        """How many users joined through this link via :meth:`join`."""
        return int(self.chat(chat_id).invite_links[invite_link].get("_joined", 0))

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
