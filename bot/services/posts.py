"""Scheduled posts: the engine that sends each fire exactly once, with a receipt.

* The schedule lives in the ``posts`` table. APScheduler (in-memory store) is only the timer: one
  ``DateTrigger`` job per pending post, always with ``timezone=UTC``, ``misfire_grace_time=None``
  and ``coalesce=True`` set explicitly. A timer that fires late still runs; *our* lateness policy
  (``posts.lateness_s``) decides whether a late fire goes out or is marked missed, so APScheduler's
  1-second default grace can never skip a post silently.
* A fire claims the row first (``UPDATE … SET status='sending' WHERE id=? AND status='pending'
  AND due_at=?``), sends through the outbox (``Priority.BULK``), then records the run (message id,
  status) and the next due time in one step. A stale timer (the post was edited, paused or
  cancelled while armed) finds nothing to claim.
* On startup (:meth:`PostService.recover`): a row still ``sending`` was interrupted between the
  claim and the record, so nobody knows whether Telegram got it. It is never sent again
  automatically: it becomes ``uncertain`` (recurring posts: that run is uncertain and the rubric
  continues) and the managers get a card with "It was posted" / "Post it again". Pending rows whose
  time has passed go out late within their lateness limit, or are marked missed (managers told);
  the rest are re-armed.
* Recurring posts keep their local wall-clock time (see :mod:`bot.services.schedule`).
* Every fire produces a receipt in the managers' destination: posted (with a link) or failed,
  missed or uncertain with the reason in plain words. ``managers.receipts = "failures"`` (or the
  community's ``managers.receipts`` override) keeps only the bad news.

Time comes from an injectable ``clock`` so tests drive the engine without waiting.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, Protocol

from bot.domain import Button, Community, Delivery, ErrorKind, Keyboard, MessageContext, Priority
from bot.domain.buttons import ButtonPort, PostAct
from bot.i18n import Translator
from bot.services.ports import Desk, Sender
from bot.services.schedule import Cron, ScheduleError, parse_schedule, zone
from bot.services.settings import community_setting
from bot.storage.posts import (
    CANCELLED,
    FAILED,
    MISSED,
    PAUSED,
    PENDING,
    SENT,
    UNCERTAIN,
    Post,
    PostRepository,
    PostRun,
)
from bot.telegram.links import message_link_or_none
from bot.timeutil import from_epoch, to_epoch

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from bot.storage.communities import CommunityRepository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_TEXT = 4096
DIGEST_AFTER = 3  # more uncertain posts than this at a start are reported in one list
DIGEST_SIZE = 40  # posts per list (two buttons each; Telegram allows 100 buttons)


class KeyValue(Protocol):
    """bot.storage.members.StateRepository: small facts that survive restarts."""

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str) -> None: ...


RECEIPTS_KEY = "posts.receipts"


class PostError(ValueError):
    """A post a manager described that cannot be scheduled; the message says why."""


def utc_clock() -> datetime:
    return datetime.now(UTC)


class PostService:
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

    # ------------------------------------------------------------------ creating and editing

    async def build(
        self,
        *,
        chat_id: int,
        text: str,
        when: str,
        thread_id: int | None = None,
        media_kind: str | None = None,
        media: str | None = None,
        buttons: list[list[dict[str, str]]] | None = None,
        pin: bool = False,
        unpin_after_min: int | None = None,
        silent: bool = False,
        protect: bool = False,
        lateness_min: int | None = None,
        timezone: str | None = None,
        created_by: int | None = None,
        source: str = "dialog",
        feed_item_id: int | None = None,
    ) -> Post:
        """Validate and normalise a post (not stored). ``when`` is "now", a local time, a friendly form or cron."""
        tz_name = timezone or await self.timezone_of(chat_id)
        tz = zone(tz_name)
        now = self.now()
        at_local: str | None = None
        cron: str | None = None
        if when.strip().lower() == "now":
            due: int | None = now
            at_local = from_epoch(now).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        else:
            schedule = parse_schedule(when, tz)
            first = schedule.first_due(from_epoch(now), tz)
            due = to_epoch(first) if first is not None else None
            at_local, cron = schedule.at_local, schedule.cron
            if schedule.at is not None and due is not None and due < now - 60:
                raise PostError("at: " + self.t("{when} ({tz}) has already passed", when=when.strip(), tz=tz_name))
            if cron is not None and due is None:
                raise PostError(self.t("the cron expression never fires"))
        post = Post(
            chat_id=chat_id,
            thread_id=thread_id,
            text=text,
            media_kind=media_kind,
            media=media,
            buttons=buttons or [],
            pin=pin,
            unpin_after_min=unpin_after_min,
            silent=silent,
            protect=protect,
            at_local=at_local,
            cron=cron,
            timezone=tz_name,
            lateness_s=(lateness_min * 60) if lateness_min is not None else self.lateness_s,
            due_at=due,
            status=PENDING,
            source=source,
            feed_item_id=feed_item_id,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        validate(post)
        return post

    async def create(self, post: Post) -> Post:
        validate(post)
        if self.max_scheduled is not None and await self.repo.count_scheduled(post.chat_id) >= self.max_scheduled:
            raise PostError(
                self.t(
                    "this community already has {n} scheduled posts, the most allowed; cancel one first",
                    n=self.max_scheduled,
                )
            )
        stored = await self.repo.add(post)
        log.info("post #%s scheduled for chat %s at %s", stored.id, stored.chat_id, stored.due_at)
        self.arm(stored)
        return stored

    async def update(self, post: Post, *, when: str | None = None) -> Post:
        """Store edited content (and, with ``when``, a new schedule) and re-arm.

        Only the content comes from ``post``; status and schedule come from the row as it is now, and
        the write succeeds only if the row did not change meanwhile (a fire in between would otherwise
        be undone and the post sent twice)."""
        current = await self.repo.get(post.id)
        if current is None:
            raise PostError(self.t("post #{id} does not exist", id=post.id))
        if current.status in (SENT, CANCELLED) and not current.recurring:
            raise PostError(
                self.t("post #{id} is already {status}; create a new one", id=post.id, status=current.status)
            )
        edited = current.with_(
            text=post.text,
            media_kind=post.media_kind,
            media=post.media,
            buttons=post.buttons,
            pin=post.pin,
            unpin_after_min=post.unpin_after_min,
            silent=post.silent,
            protect=post.protect,
            thread_id=post.thread_id,
            lateness_s=post.lateness_s,
        )
        if when is not None:
            fresh = await self.build(
                chat_id=current.chat_id,
                text=edited.text,
                when=when,
                thread_id=edited.thread_id,
                media_kind=edited.media_kind,
                media=edited.media,
                buttons=edited.buttons,
                pin=edited.pin,
                unpin_after_min=edited.unpin_after_min,
                silent=edited.silent,
                protect=edited.protect,
                lateness_min=edited.lateness_s // 60,
            )
            edited = edited.with_(
                at_local=fresh.at_local, cron=fresh.cron, due_at=fresh.due_at, timezone=fresh.timezone
            )
            if current.status in (FAILED, MISSED, UNCERTAIN):
                edited = edited.with_(status=PENDING)
        validate(edited)
        if not await self.repo.update_content(edited, self.now(), expect=current):
            raise PostError(self.t("post #{id} is being sent right now; try again in a moment", id=post.id))
        stored = await self.repo.get(post.id)
        assert stored is not None
        self.arm(stored)
        return stored

    async def pause(self, post_id: int) -> bool:
        ok = await self.repo.set_status(post_id, PAUSED, self.now(), expect=(PENDING,))
        if ok:
            self.disarm(post_id)
        return ok

    async def resume(self, post_id: int) -> Post | None:
        post = await self.repo.get(post_id)
        if post is None or post.status != PAUSED:
            return None
        now = self.now()
        due = post.due_at
        if post.recurring:
            assert post.cron is not None
            nxt = Cron.parse(post.cron).next_after(from_epoch(now - 1), zone(post.timezone))
            due = to_epoch(nxt) if nxt is not None else None
        elif due is None or due < now:
            due = now  # a one-off whose time passed while paused goes out now, on purpose
        if not await self.repo.set_status(post_id, PENDING, now, expect=(PAUSED,), due_at=due):
            return None
        resumed = await self.repo.get(post_id)
        if resumed is not None:
            self.arm(resumed)
        return resumed

    async def cancel(self, post_id: int) -> bool:
        ok = await self.repo.set_status(
            post_id, CANCELLED, self.now(), expect=(PENDING, PAUSED, FAILED, MISSED, UNCERTAIN)
        )
        self.disarm(post_id)
        return ok

    async def send_now(self, post_id: int) -> PostRun | None:
        """Send at once (a recurring post then keeps its regular schedule). None if it cannot be sent now."""
        now = self.now()
        if not await self.repo.set_status(
            post_id, PENDING, now, expect=(PENDING, PAUSED, FAILED, MISSED, UNCERTAIN), due_at=now, error=None
        ):
            return None
        self.disarm(post_id)
        return await self.fire(post_id, now)

    async def confirm_posted(self, post_id: int) -> bool:
        """A manager checked an uncertain post: it did go out. (Recurring posts keep their schedule;
        only the uncertain run is resolved.)"""
        run_resolved = await self.repo.resolve_uncertain(post_id, SENT)
        post_resolved = await self.repo.set_status(
            post_id, SENT, self.now(), expect=(UNCERTAIN,), due_at=None, error=None
        )
        return run_resolved or post_resolved

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

    # ------------------------------------------------------------------ startup

    async def recover(self) -> dict[str, int]:
        """Resolve interrupted sends, catch up missed fires, re-arm the rest. Call once at startup."""
        stuck = await self.resolve_interrupted()
        return await self.catch_up(stuck)

    async def resolve_interrupted(self) -> list[Post]:
        """Rows left in 'sending' by a crash become uncertain (database only, fast: run it before
        anything else can claim a row). Returns them for :meth:`catch_up` to report."""
        now = self.now()
        stuck = await self.repo.stuck_sending()
        for post in stuck:
            await self._mark_uncertain(post, now)
        return stuck

    async def catch_up(self, stuck: list[Post] | None = None) -> dict[str, int]:
        """Tell the managers about uncertain posts, send (or mark missed) what came due while we
        were down, and arm every pending post. May take a while under rate limits."""
        counts = {"uncertain": len(stuck or []), "late": 0, "missed": 0, "armed": 0, "unpins": 0, "reported": 0}
        # Bad news first, including receipts an earlier run could not deliver before it stopped.
        counts["reported"] = await self._report_backlog(await self.repo.unreported())
        now = self.now()
        due_now: list[Post] = []
        for post in await self.repo.pending():
            assert post.due_at is not None
            if post.due_at <= now:
                due_now.append(post)
            else:
                self.arm(post)
                counts["armed"] += 1
        results = await asyncio.gather(*(self.fire(p.id, p.due_at or 0) for p in due_now), return_exceptions=True)
        for post, result in zip(due_now, results, strict=True):
            if isinstance(result, BaseException):
                log.error("post #%s: catch-up failed: %s", post.id, result)
            elif result is not None and result.status == MISSED:
                counts["missed"] += 1
            elif result is not None:
                counts["late"] += 1
        for run in await self.repo.pending_unpins():
            counts["unpins"] += 1
            if run.unpin_at is not None and run.unpin_at <= self.now():
                await self._unpin(run)  # came due while the bot was down
            else:
                self._arm_unpin(run)
        self.start()
        log.info("scheduled posts recovered: %s", counts)
        return counts

    async def _mark_uncertain(self, post: Post, now: int) -> None:
        due = post.due_at or post.claimed_at or now
        await self.repo.add_run(
            post.id,
            due_at=due,
            status=UNCERTAIN,
            chat_id=post.chat_id,
            thread_id=post.thread_id,
            message_ids=[],
            error="interrupted while sending",
            late_s=0,
            unpin_at=None,
            now=now,
        )
        if post.recurring:
            nxt = self._next_due(post, max(now, due))
            await self.repo.finish_fire(
                post.id, status=PENDING if nxt is not None else SENT, next_due=nxt, error=None, now=now
            )
            fresh = await self.repo.get(post.id)
            if fresh is not None:
                self.arm(fresh)
        else:
            await self.repo.finish_fire(
                post.id, status=UNCERTAIN, next_due=due, error="interrupted while sending", now=now
            )
        log.warning("post #%s was interrupted while sending; marked uncertain", post.id)

    async def _report_backlog(self, runs: list[PostRun]) -> int:
        """Receipts for runs the managers have not heard about. A few go one by one; a crowd of
        uncertain posts (a crash during a busy minute) goes as one list, so the managers' chat is
        not flooded (and Telegram's 20-per-minute group limit does not delay them for minutes)."""
        reported = 0
        uncertain = [r for r in runs if r.status == UNCERTAIN]
        singles = [r for r in runs if r.status != UNCERTAIN]
        if len(uncertain) <= DIGEST_AFTER:
            singles = runs
            uncertain = []
        for run in singles:
            post = await self.repo.get(run.post_id)
            if post is not None and await self._receipt(post, run):
                reported += 1
        for start in range(0, len(uncertain), DIGEST_SIZE):
            chunk = uncertain[start : start + DIGEST_SIZE]
            lines = [
                self.t(
                    "⚠️ The bot stopped while sending these {n} posts, so each may or may not have been posted. "
                    "Please check the chats, then tell me for each one. I will not post them again on my own.",
                    n=len(chunk),
                )
            ]
            keyboard: Keyboard = []
            for run in chunk:
                post = await self.repo.get(run.post_id)
                if post is None:
                    continue
                community = await self.communities.get(post.chat_id)
                lines.append(
                    self.t("• Post #{id} for {chat}", id=post.id, chat=self._chat_name(community, post.chat_id))
                )
                if post.recurring:
                    keyboard.append(
                        [
                            Button(
                                self.t("#{id} was posted", id=post.id),
                                callback_data=self.buttons.post(PostAct.OK, post.id),
                            )
                        ]
                    )
                else:
                    keyboard.append(
                        [
                            Button(
                                self.t("#{id} was posted", id=post.id),
                                callback_data=self.buttons.post(PostAct.POSTED, post.id),
                            ),
                            Button(
                                self.t("Post #{id} again", id=post.id),
                                callback_data=self.buttons.post(PostAct.NOW, post.id),
                            ),
                        ]
                    )
            if await self._notify("\n".join(lines), keyboard):
                for run in chunk:
                    await self.repo.mark_reported(run.id)
                reported += len(chunk)
        return reported

    def _uncertain_text(self, post: Post, community: Community | None) -> tuple[str, Keyboard]:
        text = self.t(
            "⚠️ Post #{id} for {chat} may or may not have been posted: the bot stopped while sending it. "
            "Please check the chat, then tell me what happened. I will not post it again on my own.",
            id=post.id,
            chat=self._chat_name(community, post.chat_id),
        )
        keyboard: Keyboard = [
            [
                Button(self.t("It was posted"), callback_data=self.buttons.post(PostAct.POSTED, post.id)),
                Button(self.t("Post it again"), callback_data=self.buttons.post(PostAct.NOW, post.id)),
            ]
        ]
        if post.recurring:
            keyboard = [[Button(self.t("It was posted"), callback_data=self.buttons.post(PostAct.OK, post.id))]]
            text += "\n" + self.t("The recurring schedule continues as planned.")
        return text, keyboard

    # ------------------------------------------------------------------ firing

    def _next_due(self, post: Post, after: int) -> int | None:
        if post.cron is None:
            return None
        try:
            nxt = Cron.parse(post.cron).next_after(from_epoch(after), zone(post.timezone))
        except ScheduleError as exc:
            log.error("post #%s: its schedule became unreadable: %s", post.id, exc)
            return None
        return to_epoch(nxt) if nxt is not None else None

    async def run_due(self) -> list[PostRun | None]:
        """Fire everything due by the clock (tests call this; the timer does it in production)."""
        due = await self.repo.due(self.now())
        return list(await asyncio.gather(*(self.fire(p.id, p.due_at or 0) for p in due)))

    async def fire(self, post_id: int, due_at: int) -> PostRun | None:
        """One fire of one post. Returns the run recorded, or None when there was nothing to do."""
        task = asyncio.current_task()
        if task is not None:
            self._firing.add(task)
        try:
            return await self._fire(post_id, due_at)
        finally:
            if task is not None:
                self._firing.discard(task)

    async def _fire(self, post_id: int, due_at: int) -> PostRun | None:
        post = await self.repo.get(post_id)
        if post is None or post.status != PENDING or post.due_at != due_at:
            return None  # a stale timer: the post was edited, paused, cancelled or already sent
        now = self.now()
        if now < due_at:
            self.arm(post)  # the timer woke early (clock skew): wait for the real time
            return None
        late = now - due_at
        if late > post.lateness_s:
            return await self._missed(post, now, late)
        if not await self.repo.claim(post.id, due_at, now):
            return None
        try:
            delivery = await self._send(post, post.chat_id, post.thread_id, priority=Priority.BULK)
        except Exception as exc:  # a bug in sending; the outbox itself never raises
            log.exception("post #%s: sending raised", post.id)
            delivery = Delivery(
                ok=False, chat_id=post.chat_id, error=f"internal error: {exc}", error_kind=ErrorKind.INTERNAL
            )
        now = self.now()
        if not delivery.ok and delivery.error_kind == ErrorKind.SHUTDOWN and not delivery.message_ids:
            # The bot is stopping and nothing went out: hand the fire back; the next start sends it
            # (or reports it missed, past its lateness limit).
            await self.repo.finish_fire(post.id, status=PENDING, next_due=due_at, error=None, now=now)
            log.info("post #%s: not sent because the bot is stopping; it stays scheduled", post.id)
            return None
        unpin_at = None
        if delivery.ok and post.pin and post.unpin_after_min:
            unpin_at = now + post.unpin_after_min * 60
        status = SENT if delivery.ok else FAILED
        error = None if delivery.ok else (delivery.error or "unknown error")
        nxt = self._next_due(post, max(now, due_at))
        run_id = await self.repo.add_run(
            post.id,
            due_at=due_at,
            status=status,
            chat_id=delivery.chat_id or post.chat_id,
            thread_id=post.thread_id,
            message_ids=list(delivery.message_ids),
            error=error,
            late_s=late,
            unpin_at=unpin_at,
            now=now,
        )
        if post.recurring and nxt is not None:
            await self.repo.finish_fire(post.id, status=PENDING, next_due=nxt, error=error, now=now)
        else:
            await self.repo.finish_fire(
                post.id, status=status, next_due=None if delivery.ok else due_at, error=error, now=now
            )
        fresh = await self.repo.get(post.id)
        if fresh is not None:
            self.arm(fresh)
        pin_note = None
        if delivery.ok and post.pin and delivery.message_id is not None:
            pinned = await self.sender.pin(delivery.chat_id, delivery.message_id, silent=True, priority=Priority.BULK)
            if not pinned.ok:
                pin_note = pinned.error or "unknown error"
            elif unpin_at is not None:
                run = PostRun(
                    run_id,
                    post.id,
                    due_at,
                    status,
                    delivery.chat_id,
                    post.thread_id,
                    delivery.message_id,
                    None,
                    late,
                    unpin_at,
                    0,
                    0,
                    now,
                )
                self._arm_unpin(run)
        run = PostRun(
            run_id,
            post.id,
            due_at,
            status,
            delivery.chat_id or post.chat_id,
            post.thread_id,
            delivery.message_id,
            error,
            late,
            unpin_at,
            0,
            0,
            now,
        )
        await self._receipt(post, run, pin_note=pin_note, next_due=nxt if post.recurring else None)
        return run

    async def _missed(self, post: Post, now: int, late: int) -> PostRun | None:
        nxt = self._next_due(post, now)
        if post.recurring and nxt is not None:
            changed = await self.repo.set_status(post.id, PENDING, now, expect=(PENDING,), due_at=nxt)
        else:
            changed = await self.repo.set_status(
                post.id, MISSED, now, expect=(PENDING,), error="missed while the bot was offline"
            )
        if not changed:
            return None
        run_id = await self.repo.add_run(
            post.id,
            due_at=post.due_at or now,
            status=MISSED,
            chat_id=post.chat_id,
            thread_id=post.thread_id,
            message_ids=[],
            error="missed",
            late_s=late,
            unpin_at=None,
            now=now,
        )
        fresh = await self.repo.get(post.id)
        if fresh is not None:
            self.arm(fresh)
        log.warning("post #%s missed by %ss (limit %ss)", post.id, late, post.lateness_s)
        run = PostRun(
            run_id,
            post.id,
            post.due_at or now,
            MISSED,
            post.chat_id,
            post.thread_id,
            None,
            "missed",
            late,
            None,
            0,
            0,
            now,
        )
        await self._receipt(post, run, next_due=nxt if post.recurring else None)
        return run

    async def _send(self, post: Post, chat_id: int, thread_id: int | None, *, priority: Priority) -> Delivery:
        common: dict[str, Any] = {
            "thread_id": thread_id,
            "keyboard": post.keyboard,
            "silent": post.silent,
            "protect": post.protect,
            "priority": priority,
        }
        if post.media_kind == "photo" and post.media:
            return await self.sender.send_photo(chat_id, post.media, caption=post.text or None, **common)
        if post.media_kind == "document" and post.media:
            return await self.sender.send_document(chat_id, post.media, caption=post.text or None, **common)
        return await self.sender.send_message(chat_id, post.text, disable_preview=False, **common)

    async def preview(self, post: Post, chat_id: int) -> Delivery:
        """Send the post exactly as it will look, to ``chat_id`` (a manager's private chat)."""
        return await self._send(post, chat_id, None, priority=Priority.REPLY)

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

    # ------------------------------------------------------------------ receipts

    async def receipts_mode(self) -> str:
        """'all' or 'failures': the managers' choice (/receipts), else the config."""
        if self.state is not None:
            chosen = await self.state.get(RECEIPTS_KEY)
            if chosen in ("all", "failures"):
                return chosen
        return self.receipts

    async def set_receipts_mode(self, mode: str) -> None:
        if mode not in ("all", "failures"):
            raise PostError("receipts: all or failures")
        if self.state is None:
            raise PostError("receipts: cannot be changed here; set managers.receipts in the config")
        await self.state.set(RECEIPTS_KEY, mode)

    def _chat_name(self, community: Community | None, chat_id: int) -> str:
        title = community.title if community is not None and community.title else str(chat_id)
        return f"<b>{html.escape(title)}</b>"

    async def _notify(self, text: str, keyboard: Keyboard | None = None) -> bool:
        """True when at least one copy reached the managers' destination."""
        try:
            return bool(await self.desk.post(text, keyboard=keyboard))
        except Exception:
            log.exception("could not send a receipt to the managers")
            return False

    async def _receipt(
        self, post: Post, run: PostRun, *, pin_note: str | None = None, next_due: int | None = None
    ) -> bool:
        """Tell the managers how this run went; True when it reached them (or needed no receipt)."""
        community = await self.communities.get(post.chat_id)
        mode = await self.receipts_mode()
        if community is not None:
            mode = community_setting(community, "managers.receipts", mode)
        chat = self._chat_name(community, post.chat_id)
        keyboard: Keyboard | None = None
        if run.status == SENT:
            if mode == "failures" and pin_note is None:
                return True
            link = None
            if run.message_id is not None:
                link = message_link_or_none(
                    run.chat_id,
                    run.message_id,
                    username=community.username if community is not None else None,
                    thread_id=run.thread_id,
                )
            text = self.t("✅ Post #{id} is out in {chat}.", id=post.id, chat=chat)
            if link:
                text += " " + self.t('<a href="{link}">Open it</a>.', link=html.escape(link, quote=True))
            if run.late_s >= 60:
                text += " " + self.t("It went out {minutes} min late (the bot was offline).", minutes=run.late_s // 60)
            if pin_note:
                text += "\n" + self.t("It could not be pinned: {reason}.", reason=html.escape(pin_note))
        elif run.status == FAILED:
            text = self.t(
                "❌ Post #{id} could not be posted in {chat}: {reason}.",
                id=post.id,
                chat=chat,
                reason=html.escape(run.error or "unknown error"),
            )
            text += "\n" + self.t("Fix the cause, then press Send now, or cancel it.")
            keyboard = [
                [
                    Button(self.t("Send now"), callback_data=self.buttons.post(PostAct.NOW, post.id)),
                    Button(self.t("Cancel"), callback_data=self.buttons.post(PostAct.CANCEL, post.id)),
                ]
            ]
        elif run.status == MISSED:
            due_local = from_epoch(run.due_at).astimezone(zone(post.timezone)).strftime("%Y-%m-%d %H:%M")
            text = self.t(
                "⏰ Post #{id} for {chat} was due at {due} ({tz}) but the bot was offline for longer than "
                "its lateness limit ({limit} min), so it was not posted.",
                id=post.id,
                chat=chat,
                due=due_local,
                tz=html.escape(post.timezone),
                limit=post.lateness_s // 60,
            )
            if not post.recurring:
                keyboard = [
                    [
                        Button(self.t("Send now"), callback_data=self.buttons.post(PostAct.NOW, post.id)),
                        Button(self.t("Cancel"), callback_data=self.buttons.post(PostAct.CANCEL, post.id)),
                    ]
                ]
        elif run.status == UNCERTAIN:
            text, keyboard = self._uncertain_text(post, community)
        else:
            return True
        if next_due is not None:
            nxt = from_epoch(next_due).astimezone(zone(post.timezone)).strftime("%Y-%m-%d %H:%M")
            text += "\n" + self.t("Next: {when} ({tz}).", when=nxt, tz=html.escape(post.timezone))
        if not await self._notify(text, keyboard):
            log.warning(
                "post #%s: the %s receipt did not reach the managers; will retry at the next start", post.id, run.status
            )
            return False
        await self.repo.mark_reported(run.id)
        return True

    # ------------------------------------------------------------------ engagement

    async def on_message(self, ctx: MessageContext) -> None:
        """Community listener: count replies to our posts."""
        reply_to = ctx.msg.reply_to_message_id
        if reply_to is None or not ctx.msg.replies_to_bot:
            return
        run = await self.repo.run_for_message(ctx.msg.chat_id, reply_to)
        if run is not None:
            await self.repo.add_reply(run.id)

    async def on_reaction_count(self, chat_id: int, message_id: int, counts: dict[str, int]) -> bool:
        """A ``message_reaction_count`` update: store the latest counts if it is one of our posts."""
        run = await self.repo.run_for_message(chat_id, message_id)
        if run is None:
            return False
        await self.repo.set_reactions(run, counts, self.now())
        return True

    async def close(self, *, timeout: float = 10.0) -> None:
        """Let fires in progress record their outcome (call after the outbox closed, before the
        database does), then stop the helper tasks."""
        if self._firing:
            _done, pending = await asyncio.wait(set(self._firing), timeout=timeout)
            if pending:
                log.warning(
                    "%d post fires did not finish; they will be marked uncertain at the next start", len(pending)
                )
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)


class _HtmlCheck(HTMLParser):
    """Telegram's HTML subset: known tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.problem = self.problem or "<br> is not supported; use a line break"
        elif tag not in TELEGRAM_TAGS:
            self.problem = self.problem or f"<{tag}> is not supported by Telegram"
        else:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problem = self.problem or f"</{tag}> does not close the open tag"
        else:
            self.stack.pop()


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse this HTML, or None."""
    checker = _HtmlCheck()
    try:
        checker.feed(text)
        checker.close()
    except Exception as exc:  # HTMLParser is lenient; this is a safety net
        return str(exc)
    if checker.problem:
        return checker.problem
    if checker.stack:
        return f"<{checker.stack[-1]}> is never closed"
    return None


def validate(post: Post) -> None:
    """Raise PostError naming the field when a post cannot be sent as described."""
    problem = html_problem(post.text)
    if problem:
        raise PostError(f"text: {problem} (escape a literal < as &lt;)")
    if post.media_kind not in (None, "photo", "document"):
        raise PostError(f"media: must be photo or document, not {post.media_kind!r}")
    if post.media_kind is not None and not post.media:
        raise PostError("media: a file_id or URL is required")
    if not post.text.strip() and post.media_kind is None:
        raise PostError("text: the post is empty")
    if len(post.text) > MAX_TEXT * 4:
        raise PostError("text: too long (more than 16384 characters)")
    for row in post.buttons:
        for button in row:
            if not isinstance(button, dict) or not button.get("text") or not button.get("url"):
                raise PostError("buttons: each button needs a text and a url")
            if not str(button["url"]).startswith(("https://", "http://", "tg://")):
                raise PostError(f"buttons: {button['url']!r} is not a link (https://…)")
            if len(str(button["text"])) > 64:
                raise PostError("buttons: a button text is longer than 64 characters")
    if post.unpin_after_min is not None and post.unpin_after_min < 1:
        raise PostError("unpin_after: must be at least 1 minute")
    if post.unpin_after_min is not None and not post.pin:
        raise PostError("unpin_after: only for pinned posts (set pin = true)")
    if post.lateness_s < 0:
        raise PostError("late: cannot be negative")
    if post.thread_id is not None and post.thread_id < 1:
        raise PostError("topic: must be a forum topic id (a positive number)")
    if post.cron is not None:
        try:
            Cron.parse(post.cron)
        except ScheduleError as exc:
            raise PostError(f"cron: {exc}") from None
