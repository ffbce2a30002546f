"""The post engine's timer: one APScheduler ``DateTrigger`` job per pending post (and per unpin), always
UTC with ``misfire_grace_time=None`` and ``coalesce=True``, plus the periodic :meth:`PostTimer.sync`.
The schedule itself lives in the ``posts`` table; the timer only wakes :meth:`fire` up."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from bot.domain import ErrorKind, Priority
from bot.domain.posts import PENDING, Post, PostRun
from bot.services.posts_core import PostCore, log
from bot.timeutil import from_epoch, to_epoch


class PostTimer(PostCore):
    # ------------------------------------------------------------------ the timer

    def _job_id(self, post_id: int) -> str:
        return f"post:{post_id}"

    def arm(self, post: Post) -> None:
        """(Re)arm the timer for a pending post; disarm anything else."""
        if post.status != PENDING or post.due_at is None:
            self.disarm(post.id)
            return
        if self.scheduler is None:
            return
        from apscheduler.triggers.date import DateTrigger

        self.scheduler.add_job(
            self._fire_job,
            trigger=DateTrigger(run_date=from_epoch(post.due_at), timezone=UTC),
            args=[post.id, post.due_at],
            id=self._job_id(post.id),
            name=f"post #{post.id}",
            replace_existing=True,
            # Explicit on purpose: the lateness policy is ours (posts.lateness_s), so the timer
            # must run however late it is, and several missed wake-ups collapse into one.
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )

    def armed_at(self, post_id: int) -> datetime | None:
        """When the timer for this post fires (None: not armed)."""
        if self.scheduler is None:
            return None
        job = self.scheduler.get_job(self._job_id(post_id))
        if job is None:
            return None
        trigger = job.trigger
        run_date = getattr(trigger, "run_date", None)
        return run_date if isinstance(run_date, datetime) else job.next_run_time

    def disarm(self, post_id: int) -> None:
        if self.scheduler is None:
            return
        from apscheduler.jobstores.base import JobLookupError

        with suppress(JobLookupError):
            self.scheduler.remove_job(self._job_id(post_id))

    async def _fire_job(self, post_id: int, due_at: int) -> None:
        try:
            await self.fire(post_id, due_at)
        except Exception:
            log.exception("post #%s: the fire failed", post_id)

    def start(self) -> None:
        """Add the periodic safety net (posts imported by the CLI while running, lost timers)."""
        if self.scheduler is None:
            return
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler.add_job(
            self.sync,
            trigger=IntervalTrigger(seconds=self.sync_seconds, timezone=UTC),
            id="posts:sync",
            replace_existing=True,
            misfire_grace_time=max(int(self.sync_seconds), 1),
            coalesce=True,
            max_instances=1,
        )

    async def sync(self) -> int:
        """Arm pending posts that have no timer (or a timer for another time). Returns how many."""
        if self.scheduler is None:
            return 0
        armed = 0
        for post in await self.repo.pending():
            at = self.armed_at(post.id)
            if at is None or to_epoch(at) != post.due_at:
                self.arm(post)
                armed += 1
        return armed

    # ------------------------------------------------------------------ unpinning

    def _arm_unpin(self, run: PostRun) -> None:
        if run.unpin_at is None:
            return
        if self.scheduler is None or run.unpin_at <= self.now():
            self._spawn(self._unpin(run))
            return
        from apscheduler.triggers.date import DateTrigger

        self.scheduler.add_job(
            self._unpin,
            trigger=DateTrigger(run_date=from_epoch(run.unpin_at), timezone=UTC),
            args=[run],
            id=f"unpin:{run.id}",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    async def _unpin(self, run: PostRun) -> None:
        if run.message_id is None:
            return
        delivery = await self.sender.unpin(run.chat_id, run.message_id, priority=Priority.BULK)
        if delivery.ok or delivery.error_kind == ErrorKind.NOT_FOUND:
            await self.repo.mark_unpinned(run.id)
        else:
            log.warning("post #%s: could not unpin message %s: %s", run.post_id, run.message_id, delivery.error)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
