"""A case's life from a group's messages: each message opens, joins or moves its thread's one active case.

:meth:`CaseLifecycle.on_message` runs for every recorded group message (``CommunityService`` listener)
under the thread's lock; the other sources of a case (a member's report, a moderation action, a spam check)
come in through ``EscalationService.open_or_join`` under the same lock (:meth:`CaseLifecycle.in_thread`),
so a thread never gets a second card while its case is active. The card's edit runs outside the lock (``CaseCards``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from bot.domain import MessageContext
from bot.domain.cases import Case
from bot.services.escalation.cards import CaseCards
from bot.services.escalation.context import Context, Part
from bot.services.escalation.opening import CaseOpener
from bot.services.escalation.policy import Decision, EscalationPolicy, PolicySettings, WindowMessage
from bot.services.escalation.thread import ThreadEscalation
from bot.services.locks import KeyedLocks
from bot.timeutil import to_epoch

log = logging.getLogger(__name__)

T = TypeVar("T")


class CaseLifecycle(Part):
    def __init__(
        self,
        ctx: Context,
        opener: CaseOpener,
        thread: ThreadEscalation,
        cards: CaseCards,
        policy: EscalationPolicy,
        *,
        bot_id: int | None,
        managers_chat_id: int | None,
    ) -> None:
        super().__init__(ctx)
        self.opener, self.thread, self.cards, self.policy = opener, thread, cards, policy
        self.bot_id = bot_id
        self.managers_chat_id = managers_chat_id
        self._thread_locks = KeyedLocks()
        self._member_locks = KeyedLocks()  # taken inside a thread lock, never the other way round

    async def on_message(self, ctx: MessageContext) -> None:
        msg = ctx.msg
        if msg.is_edit or msg.author.is_bot or msg.chat_id == self.managers_chat_id:
            return
        if not self.config.enabled(ctx.community):
            return
        changed = await self._thread_locks.run((msg.chat_id, ctx.thread_key), lambda: self._on_thread_message(ctx))
        if changed is not None:
            # Outside the thread's lock: a throttled edit must not hold up the thread's next messages.
            await self.cards.card_work(self.cards.refresh(changed))

    async def in_thread(self, chat_id: int, thread_key: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` under the thread's lock (``EscalationService.open_or_join``, the other sources of a case)."""
        return await self._thread_locks.run((chat_id, thread_key), work)

    async def _on_thread_message(self, ctx: MessageContext) -> int | None:
        """Open or update the thread's case; return the id of a live case whose card needs an edit."""
        msg = ctx.msg
        now = self.clock()
        case = await self.cases.active_for_thread(msg.chat_id, ctx.thread_key)
        settings = self.config.policy_settings(ctx.community)
        if (
            case is not None
            and case.shadow
            and (case.last_activity_at < now - settings.window_seconds or not self.config.observe(ctx.community))
        ):
            # A shadow case ends when its thread goes quiet (the next trip is a new would-be case) or
            # when the community went live (so a live case can open for the thread).
            await self.cases.close(case.id, "expired", None, None, now)
            case = None
        if self.thread.uses_thread_policy(ctx.community):
            is_staff = await self.opener.from_staff(ctx)
            if case is not None:
                # The thread already has its case: the message moves the reply target and the card.
                return await self._update(case, ctx, Decision((), "thread message"), is_staff, now)
            if is_staff and await self.thread.watches.get(msg.chat_id, ctx.thread_key) is None:
                return None  # a staff message can settle a waiting thread; it never raises one
            if await self.thread.on_thread_message(ctx, to_epoch(msg.date)):
                return None
            # The encoder is not multilingual-e5: this and later messages go by the message rules.
        is_negative = ctx.sentiment.label.value == "negative" and ctx.sentiment.score >= settings.negative
        keyword_hit = ctx.sentiment.label.value != "positive" and settings.keyword_matcher.find(msg.text)
        if case is None and not is_negative and not keyword_hit:
            return None  # cannot trip: every rule needs a negative message or a keyword
        staff = await self.opener.staff_ids(msg.chat_id)
        is_staff = msg.author.user_id in staff or msg.author.sender_chat_id == msg.chat_id
        if case is not None and not is_negative and not keyword_hit:
            # A calm message in a thread with a case: it only moves the reply target and the card.
            return await self._update(case, ctx, Decision((), "calm message"), is_staff, now)
        described = await self.config.description(msg.chat_id)
        if described:
            settings = replace(settings, about=f"{settings.about}\n{described}".strip())
        decision = await self._decide(ctx, settings, staff)
        if case is not None:
            return await self._update(case, ctx, decision, is_staff, now)
        if not decision.escalate:
            log.debug("thread %s/%s: no case (%s)", msg.chat_id, ctx.thread_key, decision.detail)
            return None
        if is_staff:
            await self.opener.open_for_message(ctx, decision, now)
            return None

        async def open_within_limit() -> None:
            # Serialised per member: two of their threads tripping at once must not both pass the count.
            if not await self.opener.member_over_limit(msg.chat_id, msg.author.user_id, now):
                await self.opener.open_for_message(ctx, decision, now)

        await self._member_locks.run((msg.chat_id, msg.author.user_id), open_within_limit)
        return None

    async def _decide(self, ctx: MessageContext, settings: PolicySettings, staff: set[int]) -> Decision:
        msg = ctx.msg
        # The window ends at this message (not at our clock): a backlog delivered after downtime is
        # judged as it happened, and a sender clock a second ahead cannot push the message out.
        now = to_epoch(msg.date)
        stored = await self.messages.thread_window(
            msg.chat_id, ctx.thread_key, since=now - settings.window_seconds, limit=100
        )
        handled = await self.cases.last_closed_message(msg.chat_id, ctx.thread_key)
        window = [
            WindowMessage(
                s.message_id, s.user_id, s.text, s.date, s.sentiment_label, s.sentiment_score, s.reply_to_user_id
            )
            for s in stored
            if handled is None or s.message_id > handled
        ]
        return self.policy.decide(window, settings, now=now, staff_ids=frozenset(staff), bot_id=self.bot_id)

    async def _update(
        self, case: Case, ctx: MessageContext, decision: Decision, is_staff: bool, now: int
    ) -> int | None:
        """A message in a thread with a case: note it (and a staff answer); the id of a live card to edit."""
        msg = ctx.msg
        reasons = list(case.reasons)
        for reason in decision.reasons:
            if reason.value not in reasons:
                reasons.append(reason.value)
        await self.cases.note_activity(
            case.id,
            last_message_id=msg.message_id,
            at=now,
            severity=decision.severity,
            negative_members=decision.negative_members,
            reasons=reasons,
            keyword=decision.keyword,
        )
        if is_staff and not case.shadow and case.first_response_at is None:
            # A manager or admin answered right in the thread: that is the first response.
            await self.cases.answer(
                case.id, msg.author.user_id, msg.author.display_name, now, note="answered in the chat"
            )
        return None if case.shadow else case.id
