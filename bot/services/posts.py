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

from dataclasses import dataclass

from bot.domain import Community, MessageContext
from bot.domain.posts import CANCELLED, FAILED, MISSED, PAUSED, PENDING, SENT, UNCERTAIN, Post, PostRun
from bot.services.posts_core import KeyValue as KeyValue
from bot.services.posts_core import log
from bot.services.posts_receipts import PostReceipts
from bot.services.posts_rules import MAX_TEXT as MAX_TEXT
from bot.services.posts_rules import Clock as Clock
from bot.services.posts_rules import PostError as PostError
from bot.services.posts_rules import html_problem as html_problem
from bot.services.posts_rules import utc_clock as utc_clock
from bot.services.posts_rules import validate
from bot.services.posts_sending import PostSending
from bot.services.posts_timer import PostTimer
from bot.services.schedule import Cron, parse_schedule, zone
from bot.timeutil import from_epoch, to_epoch

OPEN_STATUSES = (PENDING, PAUSED, UNCERTAIN, FAILED, MISSED)

__all__ = [
    "PAUSED",
    "PENDING",
    "SENT",
    "Post",
    "PostCard",
    "PostError",
    "PostRun",
    "PostService",
    "utc_clock",
    "validate",
]


class PostService(PostReceipts, PostSending, PostTimer):
    """Scheduled posts: create and edit them here; the parts send them (see the module docstring)."""

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
        now = self.now()
        due, at_local, cron = self._schedule(when, tz_name, now)
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

    def _schedule(self, when: str, tz_name: str, now: int) -> tuple[int | None, str | None, str | None]:
        """(first due time, local time, cron) for "now", a local time, a friendly form or cron."""
        tz = zone(tz_name)
        if when.strip().lower() == "now":
            return now, from_epoch(now).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), None
        schedule = parse_schedule(when, tz)
        first = schedule.first_due(from_epoch(now), tz)
        due = to_epoch(first) if first is not None else None
        if schedule.at is not None and due is not None and due < now - 60:
            raise PostError("at: " + self.t("{when} ({tz}) has already passed", when=when.strip(), tz=tz_name))
        if schedule.cron is not None and due is None:
            raise PostError(self.t("the cron expression never fires"))
        return due, schedule.at_local, schedule.cron

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
            tz_name = await self.timezone_of(current.chat_id)
            due, at_local, cron = self._schedule(when, tz_name, self.now())
            edited = edited.with_(at_local=at_local, cron=cron, due_at=due, timezone=tz_name)
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

    async def edit_content(
        self, post_id: int, text: str, media_kind: str | None = None, media: str | None = None
    ) -> Post | None:
        """New text (and, with ``media_kind``, new media) for a post; None when it no longer exists."""
        post = await self.repo.get(post_id)
        if post is None:
            return None
        if media_kind:
            return await self.update(post.with_(text=text, media_kind=media_kind, media=media))
        return await self.update(post.with_(text=text))

    async def reschedule(self, post_id: int, when: str) -> Post | None:
        """A new time or rubric for a post; None when it no longer exists."""
        post = await self.repo.get(post_id)
        return None if post is None else await self.update(post, when=when)

    # ------------------------------------------------------------------ reading, for the front-ends

    async def get(self, post_id: int) -> Post | None:
        return await self.repo.get(post_id)

    async def card(self, post_id: int, *, with_runs: bool = True) -> PostCard | None:
        """A post with its community's title (and its runs): what a post card shows."""
        post = await self.repo.get(post_id)
        if post is None:
            return None
        runs = await self.repo.runs(post.id) if with_runs else []
        return PostCard(post, await self._title(post.chat_id), runs)

    async def open_posts(self, *, limit: int = 50) -> list[PostCard]:
        """Posts still to do or needing a look (pending, paused, uncertain, failed, missed), without runs."""
        items = await self.repo.list_posts(statuses=OPEN_STATUSES, limit=limit)
        if not items:
            return []
        titles = {c.chat_id: c.title for c in await self.communities.list(active_only=False)}
        return [PostCard(post, titles.get(post.chat_id, str(post.chat_id)), []) for post in items]

    async def destinations(self, *, exclude: int | None) -> list[Community]:
        """The groups a post can go to (not the managers' chat ``exclude``)."""
        return [c for c in await self.communities.list() if c.chat_id < 0 and c.chat_id != exclude]

    async def community(self, chat_id: int) -> Community | None:
        return await self.communities.get(chat_id)

    async def _title(self, chat_id: int) -> str:
        community = await self.communities.get(chat_id)
        return community.title if community else str(chat_id)

    async def busy_slots(self, chat_id: int, start: int, end: int) -> set[int]:
        """Due times already taken by this community's posts between ``start`` and ``end``."""
        return await self.repo.busy_slots(chat_id, start, end)


@dataclass(frozen=True, slots=True)
class PostCard:
    post: Post
    title: str  # the community's title
    runs: list[PostRun]
