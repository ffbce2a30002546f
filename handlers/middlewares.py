"""Every dispatcher-level middleware, set up in one place (``setup_middlewares``), in this order:

1. ``InFlight`` (bot/telegram/confirm.py): the update ledger. Skips updates an earlier run handled, counts
   those in flight for a clean shutdown and tells polling/webhook confirmation when each is stored.
2. ``AccessGate``: updates from a group that is not served stop here.
3. ``LocaleMiddleware``: the language of the reply (the community's in groups, the user's in private).
4. ``DialogExpiry`` (handlers/dialogs.py): an admin's unfinished dialog ends after ``dialogs.ttl_minutes``.

The rights of management commands and buttons are router-level (handlers/rights.py), not here.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.bases import NextMiddlewareType
from aiogram.types import Chat, TelegramObject, Update
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.domain import Priority
from bot.i18n import DEFAULT, DOMAIN, LOCALES_DIR, Translator, pick_locale
from bot.services.access import AccessService
from bot.services.community import CommunityService
from bot.telegram.confirm import InFlight
from bot.telegram.outbox import Outbox
from handlers.access import waiting_line
from handlers.convert import GROUP_TYPES, chat_info
from handlers.dialogs import DialogExpiry
from handlers.replies import answer_button

log = logging.getLogger(__name__)


class AccessGate(BaseMiddleware):
    """Outer middleware of every update: updates from a group that is not served stop here (no model work,
    no replies), except the bot's own membership changes, which register the group."""

    def __init__(
        self, access: AccessService, community_service: CommunityService, outbox: Outbox, language: str
    ) -> None:
        self.access = access
        self.community_service = community_service
        self.outbox = outbox
        self.language = language

    async def __call__(
        self, handler: NextMiddlewareType[TelegramObject], event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        if self.access.open or chat is None or chat.type not in GROUP_TYPES:
            return await handler(event, data)
        if isinstance(event, Update) and event.my_chat_member is not None:
            return await handler(event, data)  # handlers/membership.py registers it and asks access.on_added
        served = await self.access.serves(chat.id)
        if served:
            return await handler(event, data)
        if served is None:  # first met through a message: registered, not served
            await self.community_service.register(chat_info(chat))
            served = await self.access.on_added(chat.id, None)
            if served:
                return await handler(event, data)
        await self._turn_away(event, chat)
        return None

    async def _turn_away(self, event: TelegramObject, chat: Chat) -> None:
        t = Translator(self.language)
        query = event.callback_query if isinstance(event, Update) else None
        if query is not None:
            await answer_button(self.outbox, query, waiting_line(t, chat.id), alert=False)
            return
        if await self.access.first_notice(chat.id):
            log.info("chat %s waits for approval; told it once", chat.id)
            await self.outbox.send_message(chat.id, waiting_line(t, chat.id), priority=Priority.NORMAL)


class LocaleMiddleware(I18nMiddleware):
    """Community language in groups; the user's language_code in private."""

    def __init__(self, i18n: I18n, community_service: CommunityService) -> None:
        super().__init__(i18n)
        self.community_service = community_service

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        return await self.locale_for(data)

    async def locale_for(self, data: dict[str, Any]) -> str:
        chat = data.get("event_chat")
        user = data.get("event_from_user")
        if chat is not None and chat.type in GROUP_TYPES:
            community = await self.community_service.known(chat.id)
            if community is not None:
                return pick_locale(community.language)
        return pick_locale(getattr(user, "language_code", None))


def setup_middlewares(
    dp: Dispatcher,
    *,
    in_flight: InFlight,
    access: AccessService,
    community_service: CommunityService,
    outbox: Outbox,
    language: str,
    dialog_ttl_s: float,
) -> DialogExpiry:
    """Every dispatcher middleware, in order; returns the dialog expiry (tests move its clock)."""
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(AccessGate(access, community_service, outbox, language))
    LocaleMiddleware(I18n(path=LOCALES_DIR, default_locale=DEFAULT, domain=DOMAIN), community_service).setup(dp)
    expiry = DialogExpiry(dialog_ttl_s, outbox)
    expiry.setup(dp)
    return expiry
