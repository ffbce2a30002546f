"""Opening a case: the one place a case row is opened or joined, and the guards around it.

Every source of a case (the message rules, the thread judgment, a member's report, a spam check) ends in
:meth:`CaseOpener.open_or_join` or, for the message rules, :meth:`CaseOpener.open_for_message`. A thread's
messages and the other sources hold the thread's lock (``CaseLifecycle.on_message``,
``EscalationService.open_or_join``); the scheduler's check opens the cases of waiting threads. The guards:
who counts as staff in a chat, and how many cases one member may open in an hour.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.domain import Community, MessageContext
from bot.domain.cases import Case
from bot.services.escalation.base import Roles
from bot.services.escalation.cards import CaseCards
from bot.services.escalation.context import Context, Part
from bot.services.escalation.judge import Contribution
from bot.services.escalation.policy import ANONYMOUS_ADMIN_ID, Decision

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaseReason:
    """Why a thread's case opens (or why one more reason joins it): for :meth:`CaseOpener.open_or_join`."""

    reasons: tuple[str, ...]  # short names, e.g. ("thread", "refund", "members", "unanswered") or ("report",)
    detail: str  # plain words for the card: "refund requested by 2 members, no staff reply for 12 min"
    trigger_message_id: int  # the message the card links to
    severity: float = 0.5
    members: int = 1
    keyword: str | None = None
    signals: tuple[Contribution, ...] = ()


def signals_json(contributions: Sequence[Contribution], score: float, open_score: float) -> str:
    return json.dumps(
        {
            "score": score,
            "open_score": open_score,
            "signals": [
                {"signal": c.signal, "value": c.value, "text": c.text, "count": c.count} for c in contributions
            ],
        },
        ensure_ascii=False,
    )


class CaseOpener(Part):
    def __init__(self, ctx: Context, roles: Roles, cards: CaseCards) -> None:
        super().__init__(ctx)
        self.roles = roles
        self.cards = cards

    # ------------------------------------------------------------------ guards

    async def staff_ids(self, chat_id: int) -> set[int]:
        staff = set(self.roles.manager_ids)
        staff |= await self.roles.chat_admins(chat_id)
        staff.add(ANONYMOUS_ADMIN_ID)
        return staff

    async def from_staff(self, ctx: MessageContext) -> bool:
        msg = ctx.msg
        return msg.author.user_id in await self.staff_ids(msg.chat_id) or msg.author.sender_chat_id == msg.chat_id

    async def member_over_limit(self, chat_id: int, user_id: int, now: int) -> bool:
        """One account must not flood the queue: it opens at most member_cases_per_hour new cases."""
        limit = self.config.settings.member_cases_per_hour
        opened = await self.cases.opened_by_member(chat_id, user_id, since=now - 3600)
        if opened < limit:
            return False
        log.warning(
            "member %s opened %d cases in chat %s within the hour; not opening another", user_id, opened, chat_id
        )
        return True

    # ------------------------------------------------------------------ opening

    async def open_or_join(
        self,
        *,
        chat_id: int,
        thread_key: str,
        topic_id: int | None,
        reason: CaseReason,
        community: Community | None = None,
        last_message_id: int | None = None,
        at: int | None = None,
        score: tuple[float, float] | None = None,
        live: bool = False,
        before_card: Callable[[Case], Awaitable[None]] | None = None,
    ) -> tuple[Case, bool]:
        """Open the thread's case for ``reason``, or add ``reason`` to its active case (one card per thread).

        Returns (case, created). A new live case gets its card; a shadow one (observe mode) is recorded only.
        ``live`` opens a live case whatever the observe mode (a member's report, a spam check): a shadow case
        of the thread then expires. ``before_card`` runs before the card is drawn (moderation attaches its
        subject there).
        """
        now = self.clock() if at is None else at
        community = community if community is not None else await self.communities.get(chat_id)
        existing = await self.cases.active_for_thread(chat_id, thread_key)
        if existing is not None and existing.shadow and live:
            await self.cases.close(existing.id, "expired", None, None, now)
            existing = None
        if existing is not None:
            merged = list(existing.reasons) + [r for r in reason.reasons if r not in existing.reasons]
            await self.cases.join(
                existing.id,
                reasons=merged,
                detail=reason.detail,
                at=now,
                severity=reason.severity,
                last_message_id=last_message_id or reason.trigger_message_id,
            )
            if before_card is not None:
                await before_card(existing)
            if not existing.shadow:
                await self.cards.card_work(self.cards.refresh(existing.id))
            joined = await self.cases.get(existing.id)
            assert joined is not None
            return joined, False
        total, threshold = score if score is not None else (sum(c.value for c in reason.signals), 0.0)
        return await self._insert(
            chat_id=chat_id,
            thread_key=thread_key,
            topic_id=topic_id,
            shadow=False if live else self.config.observe(community),
            reason=reason,
            first_message_id=reason.trigger_message_id,
            last_message_id=last_message_id or reason.trigger_message_id,
            at=now,
            signals=signals_json(reason.signals, total, threshold) if reason.signals else "",
            community=community,
            before_card=before_card,
        )

    async def open_for_message(self, ctx: MessageContext, decision: Decision, now: int) -> None:
        """The message rules tripped in a thread without a case: open one."""
        msg = ctx.msg
        reason = CaseReason(
            reasons=tuple(r.value for r in decision.reasons),
            detail=decision.detail,
            trigger_message_id=decision.trigger_message_id or msg.message_id,
            severity=decision.severity,
            members=decision.negative_members,
            keyword=decision.keyword,
        )
        await self._insert(
            chat_id=msg.chat_id,
            thread_key=ctx.thread_key,
            topic_id=msg.thread_id if msg.is_topic_message else None,
            shadow=self.config.observe(ctx.community),
            reason=reason,
            first_message_id=reason.trigger_message_id,
            last_message_id=msg.message_id,
            at=now,
            signals="",
            community=ctx.community,
            before_card=None,
        )

    async def _insert(
        self,
        *,
        chat_id: int,
        thread_key: str,
        topic_id: int | None,
        shadow: bool,
        reason: CaseReason,
        first_message_id: int,
        last_message_id: int,
        at: int,
        signals: str,
        community: Community | None,
        before_card: Callable[[Case], Awaitable[None]] | None,
    ) -> tuple[Case, bool]:
        """A new case row (or the thread's active one, when another got there first); a new live one's card."""
        case, created = await self.cases.open(
            chat_id=chat_id,
            thread_key=thread_key,
            topic_id=topic_id,
            shadow=shadow,
            reasons=list(reason.reasons),
            detail=reason.detail,
            keyword=reason.keyword,
            severity=reason.severity,
            negative_members=reason.members,
            first_message_id=first_message_id,
            last_message_id=last_message_id,
            message_count=1,
            at=at,
            signals=signals,
        )
        if not created:
            return case, created
        log.info(
            "case #%s opened%s in %s (%s): %s",
            case.id,
            " in shadow mode" if shadow else "",
            chat_id,
            thread_key,
            reason.detail,
        )
        if before_card is not None:
            await before_card(case)
        if not shadow:
            await self.cards.card_work(self.cards.announce(case, community))
        return case, created
