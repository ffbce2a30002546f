"""Shared filters: who may run management commands, checked by user id on every call."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message

from bot.services.roles import RoleService


class CanManage(BaseFilter):
    """Managers anywhere; a group's admins (anonymous admins included) in that group."""

    async def __call__(self, event: Message | CallbackQuery, roles: RoleService) -> bool:
        if isinstance(event, CallbackQuery):
            if event.message is None:
                return roles.is_manager(event.from_user.id)
            chat_id = event.message.chat.id
            return await roles.can_manage(chat_id, event.from_user.id)
        if event.from_user is None:
            return False
        sender_chat_id = event.sender_chat.id if event.sender_chat is not None else None
        return await roles.can_manage(event.chat.id, event.from_user.id, sender_chat_id=sender_chat_id)


class IsManager(BaseFilter):
    """Managers listed in the config (used in the managers' chat and in private)."""

    async def __call__(self, event: Message | CallbackQuery, roles: RoleService) -> bool:
        user = event.from_user
        return user is not None and roles.is_manager(user.id)
