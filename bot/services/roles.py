"""Who may manage what: managers from the config, and each chat's administrators.

``RoleService.can_manage(community_id, user_id)`` is the one rule, for every front-end (the Telegram
handlers reach it through handlers/rights.py; a dashboard calls it directly, by keyword):
managers (by user id) manage every community; a group's administrators, anonymous ones included,
manage that group and nothing else. Pure: no Telegram types, only ids.

Checked on every call by user id (never by username). Chat administrators are cached per
chat with a TTL and refreshed when Telegram reports an admin change (chat_member). When Telegram
cannot be asked, a list younger than ``max_stale_s`` (1 h) is still used; an older one is not trusted
(someone demoted since would keep their rights), so the check fails closed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

AdminFetcher = Callable[[int], Awaitable[set[int]]]


class RoleService:
    def __init__(
        self,
        manager_ids: frozenset[int],
        fetch_admins: AdminFetcher,
        *,
        ttl_s: float = 300.0,
        max_stale_s: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.manager_ids = manager_ids
        self._fetch_admins = fetch_admins
        self._ttl_s = ttl_s
        self._max_stale_s = max(max_stale_s, ttl_s)
        self._monotonic = monotonic
        self._admins: dict[int, tuple[float, set[int]]] = {}

    def is_manager(self, user_id: int) -> bool:
        return user_id in self.manager_ids

    async def chat_admins(self, chat_id: int) -> set[int]:
        cached = self._admins.get(chat_id)
        now = self._monotonic()
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        try:
            admins = await self._fetch_admins(chat_id)
        except Exception as exc:  # the API may refuse (bot removed); fail closed
            if cached is not None and now - cached[0] < self._max_stale_s:
                log.warning(
                    "could not fetch administrators of chat %s (%s); using the list of %.0f s ago",
                    chat_id,
                    exc,
                    now - cached[0],
                )
                return cached[1]
            log.warning("could not fetch administrators of chat %s: %s; nobody counts as its admin", chat_id, exc)
            return set()
        self._admins[chat_id] = (now, admins)
        return admins

    async def is_chat_admin(self, chat_id: int, user_id: int, *, sender_chat_id: int | None = None) -> bool:
        # An anonymous admin posts as the group itself; only admins can do that.
        if sender_chat_id is not None and sender_chat_id == chat_id:
            return True
        return user_id in await self.chat_admins(chat_id)

    async def can_manage(self, community_id: int | None, user_id: int, *, sender_chat_id: int | None = None) -> bool:
        """May ``user_id`` manage ``community_id``? Managers manage every community; a group's admins that
        group. ``community_id`` None (a private chat, the managers' desk): managers only. ``sender_chat_id``:
        the chat a message was sent as (an anonymous admin writes as the group itself)."""
        if self.is_manager(user_id):
            return True
        if community_id is None or community_id > 0:
            return False
        return await self.is_chat_admin(community_id, user_id, sender_chat_id=sender_chat_id)

    async def managed_by(self, user_id: int, community_ids: Iterable[int]) -> list[int]:
        """The communities among ``community_ids`` that ``user_id`` may manage, in their order."""
        return [chat_id for chat_id in community_ids if await self.can_manage(chat_id, user_id)]

    def admin_changed(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        cached = self._admins.get(chat_id)
        if cached is None:
            return
        admins = set(cached[1])
        if is_admin:
            admins.add(user_id)
        else:
            admins.discard(user_id)
        self._admins[chat_id] = (cached[0], admins)

    def forget(self, chat_id: int) -> None:
        self._admins.pop(chat_id, None)
