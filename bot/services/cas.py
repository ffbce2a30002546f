"""Optional lookup of the CAS ban list (https://cas.chat): is this account a known spammer?

Off by default (``[moderation] cas = false``). One GET per account, with a timeout, never blocking the event
loop (aiohttp); answers are cached (listed: a day, not listed: an hour). Any failure (timeout, bad answer)
is "unknown": the spam check goes on without it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger(__name__)

LISTED_TTL = 86_400
CLEAN_TTL = 3600
MAX_CACHE = 50_000


class CasClient:
    def __init__(self, url: str, *, timeout_s: float = 3.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.monotonic = monotonic
        self._cache: OrderedDict[int, tuple[float, bool]] = OrderedDict()

    async def is_listed(self, user_id: int) -> bool | None:
        """True: on the CAS list; False: not; None: unknown (the lookup failed)."""
        now = self.monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and now < cached[0]:
            return cached[1]
        listed = await self._lookup(user_id)
        if listed is not None:
            self._cache[user_id] = (now + (LISTED_TTL if listed else CLEAN_TTL), listed)
            self._cache.move_to_end(user_id)
            while len(self._cache) > MAX_CACHE:
                self._cache.popitem(last=False)
        return listed

    async def _lookup(self, user_id: int) -> bool | None:
        import aiohttp

        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(self.url, params={"user_id": str(user_id)}) as resp,
            ):
                if resp.status != 200:
                    log.info("CAS answered %s for %s", resp.status, user_id)
                    return None
                body = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            log.info("CAS lookup for %s failed: %s", user_id, type(exc).__name__)
            return None
        if not isinstance(body, dict):
            return None
        return bool(body.get("ok"))  # {"ok": true, "result": {...}} when listed; {"ok": false, ...} when not
