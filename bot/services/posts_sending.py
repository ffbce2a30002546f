"""Sending a scheduled post exactly once: claim the row, send through the outbox, record the run and
the next due time; and, at start, resolve interrupted sends and catch up what came due meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.domain import Delivery, ErrorKind, Priority
from bot.domain.posts import FAILED, MISSED, PENDING, SENT, UNCERTAIN, Post, PostRun
from bot.services.posts_core import PostCore, log


class PostSending(PostCore):
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
