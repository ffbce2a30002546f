"""The Bot API calls moderation needs, through the outbox (limits, retries, policy), in plain types.

Implements :class:`bot.services.moderation.ModerationApi`. Every call answers ``(ok, error)``; nothing
raises for a Telegram refusal, so the service can write the refusal to the audit log and say it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram.methods import (
    ApproveChatJoinRequest,
    BanChatMember,
    BanChatSenderChat,
    DeclineChatJoinRequest,
    DeleteMessages,
    GetChatMember,
    RestrictChatMember,
    UnbanChatMember,
    UnbanChatSenderChat,
)
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner, ChatPermissions

from bot.domain import Priority
from bot.services.moderation_types import BotRights
from bot.telegram.outbox import Outbox, OutboxError

log = logging.getLogger(__name__)

# "Pass True for all permissions to lift restrictions from a user" (Bot API, restrictChatMember); Telegram
# then applies the group's own defaults.
_ALL = dict.fromkeys(ChatPermissions.model_fields, True)
_NONE = {key: False for key in _ALL}
# Raid mode: text only (no links previews, media, stickers or polls) until the raid is over.
_TEXT_ONLY = {**_NONE, "can_send_messages": True, "can_react_to_messages": True}

Result = tuple[bool, str | None]


def _moment(until: int | None) -> datetime | None:
    """An epoch second as Telegram's ``until_date``; None (or 0) means for ever."""
    return datetime.fromtimestamp(until, UTC) if until else None


class TelegramModeration:
    def __init__(self, outbox: Outbox, bot_id: int) -> None:
        self.outbox = outbox
        self.bot_id = bot_id

    async def _call(self, chat_id: int, method: object) -> Result:
        try:
            await self.outbox.call(chat_id, method, priority=Priority.REPLY)  # type: ignore[arg-type]
        except OutboxError as exc:
            return False, exc.delivery.error or str(exc)
        return True, None

    async def bot_rights(self, chat_id: int) -> BotRights:
        try:
            member = await self.outbox.call(
                chat_id, GetChatMember(chat_id=chat_id, user_id=self.bot_id), priority=Priority.REPLY
            )
        except OutboxError as exc:
            log.warning("could not read my rights in %s: %s", chat_id, exc)
            return BotRights(known=False)
        if isinstance(member, ChatMemberOwner):
            return BotRights(known=True, is_admin=True, can_delete=True, can_restrict=True)
        if isinstance(member, ChatMemberAdministrator):
            return BotRights(
                known=True,
                is_admin=True,
                can_delete=bool(member.can_delete_messages),
                can_restrict=bool(member.can_restrict_members),
            )
        return BotRights(known=True)

    async def member_status(self, chat_id: int, user_id: int) -> str | None:
        try:
            member = await self.outbox.call(
                chat_id, GetChatMember(chat_id=chat_id, user_id=user_id), priority=Priority.REPLY
            )
        except OutboxError:
            return None
        return str(member.status)

    async def delete_messages(self, chat_id: int, message_ids: list[int]) -> Result:
        ok, error = True, None
        for start in range(0, len(message_ids), 100):  # Telegram takes 1-100 ids per call
            chunk = message_ids[start : start + 100]
            done, problem = await self._call(chat_id, DeleteMessages(chat_id=chat_id, message_ids=chunk))
            ok, error = ok and done, error or problem
        return ok, error

    async def _restrict(self, chat_id: int, user_id: int, permissions: dict[str, bool], until: int | None) -> Result:
        """Set a member's permissions, one by one (``use_independent_chat_permissions``); until None: for ever."""
        return await self._call(
            chat_id,
            RestrictChatMember(
                chat_id=chat_id,
                user_id=user_id,
                permissions=ChatPermissions(**permissions),
                use_independent_chat_permissions=True,
                until_date=_moment(until),
            ),
        )

    async def mute(self, chat_id: int, user_id: int, until: int | None) -> Result:
        return await self._restrict(chat_id, user_id, _NONE, until)

    async def unmute(self, chat_id: int, user_id: int) -> Result:
        return await self._restrict(chat_id, user_id, _ALL, None)

    async def ban(self, chat_id: int, user_id: int, until: int | None) -> Result:
        return await self._call(
            chat_id,
            BanChatMember(chat_id=chat_id, user_id=user_id, until_date=_moment(until)),
        )

    async def unban(self, chat_id: int, user_id: int) -> Result:
        return await self._call(chat_id, UnbanChatMember(chat_id=chat_id, user_id=user_id, only_if_banned=True))

    async def ban_sender_chat(self, chat_id: int, sender_chat_id: int) -> Result:
        return await self._call(chat_id, BanChatSenderChat(chat_id=chat_id, sender_chat_id=sender_chat_id))

    async def unban_sender_chat(self, chat_id: int, sender_chat_id: int) -> Result:
        return await self._call(chat_id, UnbanChatSenderChat(chat_id=chat_id, sender_chat_id=sender_chat_id))

    async def hold_media(self, chat_id: int, user_id: int, until: int) -> Result:
        return await self._restrict(chat_id, user_id, _TEXT_ONLY, until)

    async def approve_join(self, chat_id: int, user_id: int) -> Result:
        return await self._call(chat_id, ApproveChatJoinRequest(chat_id=chat_id, user_id=user_id))

    async def decline_join(self, chat_id: int, user_id: int) -> Result:
        return await self._call(chat_id, DeclineChatJoinRequest(chat_id=chat_id, user_id=user_id))
