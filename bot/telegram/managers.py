"""The managers' destination: their group (one forum topic per case when it is a forum),
or a private message to each manager who has started the bot.

Services reach it through ``ManagerDesk.post`` / ``ManagerDesk.edit`` with plain types.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import CreateForumTopic

from bot.domain import Author, Keyboard
from bot.storage.members import ManagerRepository
from bot.telegram.outbox import Delivery, Outbox, OutboxError, Priority

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Posted:
    """One copy of a notification, so it can be edited in place later."""

    chat_id: int
    message_id: int
    thread_id: int | None = None


class ManagerDesk:
    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        managers: ManagerRepository,
        *,
        manager_ids: frozenset[int],
        chat_id: int | None,
    ) -> None:
        self.bot = bot
        self.outbox = outbox
        self.managers = managers
        self.manager_ids = manager_ids
        self.chat_id = chat_id
        self._chat_is_forum: bool | None = None

    async def manager_started(self, author: Author) -> None:
        """A manager opened a private chat with the bot: from now on a private message can reach them."""
        await self.managers.started_private_chat(author)

    async def destinations(self) -> list[int]:
        if self.chat_id is not None:
            return [self.chat_id]
        return await self.managers.reachable_in_private(self.manager_ids)

    async def _is_forum(self) -> bool:
        if self.chat_id is None:
            return False
        if self._chat_is_forum is None:
            try:
                chat = await self.bot.get_chat(self.chat_id)
                self._chat_is_forum = bool(chat.is_forum)
            except TelegramAPIError as exc:
                log.warning("cannot read the managers' chat %s: %s", self.chat_id, exc)
                return False
        return self._chat_is_forum

    async def open_topic(self, name: str) -> int | None:
        """A new forum topic in the managers' group, when it is a forum."""
        if self.chat_id is None or not await self._is_forum():
            return None
        try:
            topic = await self.outbox.call(self.chat_id, CreateForumTopic(chat_id=self.chat_id, name=name[:128]))
        except OutboxError as exc:
            log.warning("cannot open a topic in the managers' chat: %s", exc)
            return None
        return int(topic.message_thread_id)

    async def post(
        self,
        text: str,
        *,
        keyboard: Keyboard | None = None,
        thread_id: int | None = None,
        priority: Priority = Priority.NORMAL,
    ) -> list[Posted]:
        """Send to every destination; return the copies that arrived (empty: nobody reachable)."""
        posted: list[Posted] = []
        targets = await self.destinations()
        if not targets:
            log.warning("no managers' destination: set managers.chat_id or have a manager /start the bot")
        for chat_id in targets:
            delivery: Delivery = await self.outbox.send_message(
                chat_id,
                text,
                keyboard=keyboard,
                thread_id=thread_id if chat_id == self.chat_id else None,
                priority=priority,
            )
            if delivery.ok and delivery.message_id is not None:
                posted.append(Posted(delivery.chat_id, delivery.message_ids[-1], thread_id))
            else:
                log.warning("could not notify managers in %s: %s", chat_id, delivery.error)
        return posted

    async def edit(self, copies: list[Posted], text: str, *, keyboard: Keyboard | None = None) -> None:
        for copy in copies:
            delivery = await self.outbox.edit_text(copy.chat_id, copy.message_id, text, keyboard=keyboard)
            if not delivery.ok:
                log.warning("could not update the card %s/%s: %s", copy.chat_id, copy.message_id, delivery.error)
