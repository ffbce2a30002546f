"""Who may use the bot: ``[access] communities = "open" | "approved"``.

Anyone can add a bot to a group. In approved mode a group is registered but not served (no model work,
no replies) until a manager approves it, unless a manager or a listed admin (``access.admins``) added the
bot there. Whoever added it gets one polite line saying so. Managers approve with ``/approve CHAT_ID`` (in
the managers' chat or in private) or ``steward communities approve CHAT_ID``.

The decision is cached per chat for ``CACHE_S`` so a busy group costs no query per message, and an
approval made from the command line reaches a running bot within that time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.config import AccessSettings
from bot.domain import Community
from bot.storage.communities import CommunityRepository

log = logging.getLogger(__name__)

CACHE_S = 60.0


class AccessService:
    def __init__(
        self,
        communities: CommunityRepository,
        settings: AccessSettings,
        *,
        manager_ids: frozenset[int],
        managers_chat_id: int | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.communities = communities
        self.settings = settings
        self.trusted = frozenset(manager_ids) | frozenset(settings.admins)
        self.managers_chat_id = managers_chat_id
        self.monotonic = monotonic
        self._decisions: dict[int, tuple[float, bool]] = {}

    @property
    def open(self) -> bool:
        return self.settings.communities == "open"

    async def serves(self, chat_id: int) -> bool | None:
        """True when the community is served; False when it waits for approval; None when unknown yet."""
        if self.open or chat_id > 0 or chat_id == self.managers_chat_id:
            return True
        cached = self._decisions.get(chat_id)
        now = self.monotonic()
        if cached is not None and now - cached[0] < CACHE_S:
            return cached[1]
        approved = await self.communities.is_approved(chat_id)
        if approved is None:
            return None
        self._decisions[chat_id] = (now, approved)
        return approved

    async def on_added(self, chat_id: int, added_by: int | None) -> bool:
        """The bot joined a group (already registered): approve it when a trusted person added it.
        Returns whether the community is served."""
        if self.open or chat_id == self.managers_chat_id:
            return True
        if added_by is not None and added_by in self.trusted:
            await self.communities.approve(chat_id, added_by)
            log.info("community %s approved: added by %s", chat_id, added_by)
        self.forget(chat_id)
        return bool(await self.serves(chat_id))

    async def first_notice(self, chat_id: int) -> bool:
        """True the first time a waiting community is to be told (one polite line, never more)."""
        return await self.communities.claim_access_notice(chat_id)

    async def approve(self, chat_id: int, by: int | None) -> Community | None:
        if not await self.communities.approve(chat_id, by):
            return None
        self.forget(chat_id)
        log.info("community %s approved by %s", chat_id, by)
        return await self.communities.get(chat_id)

    async def revoke(self, chat_id: int) -> bool:
        done = await self.communities.revoke(chat_id)
        self.forget(chat_id)
        return done

    async def waiting(self) -> list[Community]:
        return await self.communities.awaiting_approval()

    def forget(self, chat_id: int) -> None:
        self._decisions.pop(chat_id, None)
