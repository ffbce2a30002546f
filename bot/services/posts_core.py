"""The state every part of the post engine shares: the stores, the sender, the timer, the clock.

:class:`bot.services.posts.PostService` is composed of the parts in ``posts_timer`` (APScheduler as the
timer), ``posts_sending`` (fires, catch-up at start) and ``posts_receipts`` (what the managers hear).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Protocol

from bot.domain import Keyboard
from bot.domain.buttons import ButtonPort
from bot.domain.posts import Post, PostRun
from bot.i18n import Translator
from bot.services.ports import Desk, Sender
from bot.services.posts_rules import Clock, utc_clock
from bot.services.schedule import Cron, ScheduleError, zone
from bot.storage.posts import PostRepository
from bot.timeutil import from_epoch, to_epoch

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from bot.storage.communities import CommunityRepository

log = logging.getLogger("bot.services.posts")

RECEIPTS_KEY = "posts.receipts"


class KeyValue(Protocol):
    """bot.storage.members.StateRepository: small facts that survive restarts."""

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str) -> None: ...


class PostCore:
    def __init__(
        self,
        repo: PostRepository,
        communities: CommunityRepository,
        sender: Sender,
        desk: Desk,
        scheduler: BaseScheduler | None,
        *,
        buttons: ButtonPort,
        clock: Clock = utc_clock,
        lateness_s: int = 3600,
        receipts: str = "all",
        default_timezone: str = "UTC",
        sync_seconds: float = 30.0,
        locale: str = "en",
        state: KeyValue | None = None,
        max_scheduled: int | None = None,
    ) -> None:
        self.max_scheduled = max_scheduled  # per community ([quotas] scheduled_posts); None: no limit
        self.repo = repo
        self.state = state
        self.communities = communities
        self.sender = sender
        self.desk = desk
        self.scheduler = scheduler
        self.buttons = buttons
        self.clock = clock
        self.lateness_s = lateness_s
        self.receipts = receipts
        self.default_timezone = default_timezone
        self.sync_seconds = sync_seconds
        self.t = Translator(locale)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._firing: set[asyncio.Future[Any]] = set()

    # ------------------------------------------------------------------ time

    def now(self) -> int:
        return to_epoch(self.clock())

    async def timezone_of(self, chat_id: int) -> str:
        community = await self.communities.get(chat_id)
        return community.timezone if community is not None else self.default_timezone

    def _next_due(self, post: Post, after: int) -> int | None:
        if post.cron is None:
            return None
        try:
            nxt = Cron.parse(post.cron).next_after(from_epoch(after), zone(post.timezone))
        except ScheduleError as exc:
            log.error("post #%s: its schedule became unreadable: %s", post.id, exc)
            return None
        return to_epoch(nxt) if nxt is not None else None

    if TYPE_CHECKING:
        # Provided by the other parts (posts_timer, posts_sending, posts_receipts).
        def arm(self, post: Post) -> None: ...
        def disarm(self, post_id: int) -> None: ...
        def start(self) -> None: ...
        def _arm_unpin(self, run: PostRun) -> None: ...
        async def _unpin(self, run: PostRun) -> None: ...
        async def fire(self, post_id: int, due_at: int) -> PostRun | None: ...
        async def _receipt(
            self, post: Post, run: PostRun, *, pin_note: str | None = None, next_due: int | None = None
        ) -> bool: ...
        async def _report_backlog(self, runs: list[PostRun]) -> int: ...
        async def _notify(self, text: str, keyboard: Keyboard | None = None) -> bool: ...
