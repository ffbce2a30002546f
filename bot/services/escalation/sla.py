"""The escalation check, run by the scheduler every ``check_seconds``.

It wakes snoozed cases, reminds the managers of cases past their first-answer target (the SLA), judges
threads whose wait is over, expires quiet shadow cases, and tells managers whose Reply expired.
"""

from __future__ import annotations

import asyncio
import html
import logging

from bot.domain import Community, Priority
from bot.domain.cases import Case
from bot.services.escalation.base import title_of
from bot.services.escalation.cards import CaseCards
from bot.services.escalation.context import Context, Part
from bot.services.escalation.thread import ThreadEscalation

log = logging.getLogger(__name__)


class SlaCheck(Part):
    def __init__(self, ctx: Context, cards: CaseCards, thread: ThreadEscalation) -> None:
        super().__init__(ctx)
        self.cards = cards
        self.thread = thread
        self._tick_lock = asyncio.Lock()

    async def tick(self) -> None:
        """Wake snoozes, remind past the SLA, judge waiting threads, expire; one run at a time."""
        if self._tick_lock.locked():
            return
        async with self._tick_lock:
            try:
                await self._tick()
            except Exception:
                log.exception("escalation check failed")

    async def _tick(self) -> None:
        t = self.t
        now = self.clock()
        communities: dict[int, Community | None] = {}

        async def community_of(chat_id: int) -> Community | None:
            if chat_id not in communities:
                communities[chat_id] = await self.communities.get(chat_id)
            return communities[chat_id]

        for case in await self.cases.active():
            if case.state == "snoozed":
                if case.snoozed_until is not None and case.snoozed_until <= now and await self.cases.wake(case, now):
                    await self.cards.refresh(case.id)
                    await self.cards.notify(case.id, t("💤 Case #{id} is back from snooze.").format(id=case.id))
                continue
            if case.first_response_at is not None or case.state not in ("open", "taken"):
                continue
            await self._remind(case, await community_of(case.chat_id), now)
        await self.thread.check_watches(now)
        for case in await self.cases.active(shadow=True):
            settings = self.config.policy_settings(await community_of(case.chat_id))
            if case.last_activity_at < now - settings.window_seconds:
                await self.cases.close(case.id, "expired", None, None, now)
        for pending in await self.cases.take_expired_pending(now):
            await self.outbox.send_message(
                pending.chat_id,
                t(
                    "Your Reply to case #{id} expired before you wrote the answer; nothing was posted. "
                    "Press Reply again when ready."
                ).format(id=pending.case_id),
                priority=Priority.NORMAL,
            )

    async def _remind(self, case: Case, community: Community | None, now: int) -> None:
        """A case past its SLA with no answer: remind under its cards, every ``reminder_minutes``."""
        sla = self.config.sla_seconds(community)
        interval = self.config.minutes(community, "reminder_minutes")
        age = now - case.opened_at
        if age < sla:
            return
        if case.last_reminded_at is not None and now - case.last_reminded_at < interval:
            return
        duration = self.words.duration
        text = self.t("⏰ Case #{id} in {title} has waited {age} without an answer (target {sla}).").format(
            id=case.id, title=html.escape(title_of(community, case.chat_id)), age=duration(age), sla=duration(sla)
        )
        if case.taken_by_name:
            text += " " + self.t("Taken by {name}.").format(name=html.escape(case.taken_by_name))
        await self.cases.reminded(case.id, now)
        await self.cards.notify(case.id, text)
        await self.cards.refresh(case.id)
