"""What managers do with a case: take it, reply through Steward, resolve, dismiss, snooze, ask why.

The same methods serve the card's buttons and the commands (and a dashboard later); each returns an
:class:`Outcome` with a line for the person and refreshes the case's cards.
"""

from __future__ import annotations

import html
import logging

from bot.domain import Priority
from bot.domain.cases import Case, PendingReply
from bot.services.escalation.base import Actor, Outcome, title_of
from bot.services.escalation.cards import CaseCards
from bot.services.escalation.context import Context, Part
from bot.services.escalation.tuning import Tuning
from bot.telegram.links import message_link_or_none

log = logging.getLogger(__name__)

_MAX_CASE_ID = 2**63  # SQLite's integers: a forged button can carry any number


class CaseActions(Part):
    def __init__(self, ctx: Context, cards: CaseCards, tuning: Tuning) -> None:
        super().__init__(ctx)
        self.cards = cards
        self.tuning = tuning

    async def case(self, case_id: int) -> Case | None:
        """The case with this id, or None (also for ids no case can have, as a forged button carries)."""
        return await self.cases.get(case_id) if 0 < case_id < _MAX_CASE_ID else None

    async def why(self, case_id: int) -> Outcome:
        """/case ID why: the signals behind the case and what each contributed."""
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, self.words.no_case(case_id))
        return Outcome(True, self.words.why_text(case), case)

    async def take(self, case_id: int, actor: Actor) -> Outcome:
        t = self.t
        now = self.clock()
        if await self.cases.take(case_id, actor.user_id, actor.name, now):
            await self.cards.refresh(case_id)
            return Outcome(True, t("Case #{id} is yours.").format(id=case_id), await self.cases.get(case_id))
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, self.words.no_case(case_id))
        if case.taken_by is not None and not case.is_closed:
            if case.taken_by == actor.user_id:
                return Outcome(False, t("You already took case #{id}.").format(id=case_id), case)
            return Outcome(
                False,
                t("{name} already took case #{id}.").format(name=case.taken_by_name or case.taken_by, id=case_id),
                case,
            )
        return Outcome(False, self.words.not_now(case), case)

    async def begin_reply(self, case_id: int, actor: Actor, chat_id: int) -> Outcome:
        """Reply pressed: the actor's next message in ``chat_id`` becomes the answer (stored in the DB)."""
        t = self.t
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, self.words.no_case(case_id))
        if case.is_closed or case.shadow:
            return Outcome(False, self.words.not_now(case), case)
        now = self.clock()
        minutes = int(self.config.settings.reply_timeout_minutes)
        await self.cases.set_pending(actor.user_id, chat_id, case_id, now, now + 60 * minutes)
        community = await self.communities.get(case.chat_id)
        title = title_of(community, case.chat_id)
        prompt = t(
            "{name}, write your answer to case #{id} as your next message here. Steward will post it in "
            "{title} as a reply to the thread's last message. /cancel to stop (expires in {minutes} min)."
        ).format(name=html.escape(actor.name), id=case_id, title=html.escape(title), minutes=minutes)
        if chat_id < 0:
            # With privacy mode on and no admin rights, a bot still sees replies to its own messages.
            prompt += "\n" + t("If I am not an admin in this group, answer by replying to this message.")
        return Outcome(True, prompt, case)

    async def pending_reply(self, user_id: int, chat_id: int) -> PendingReply | None:
        return await self.cases.pending(user_id, chat_id)

    async def cancel_reply(self, user_id: int, chat_id: int) -> bool:
        return await self.cases.clear_pending(user_id, chat_id)

    async def submit_reply(self, actor: Actor, chat_id: int, html_text: str) -> Outcome:
        """Post the pending answer in the community, in the thread's topic, as a reply; mark it answered."""
        t = self.t
        pending = await self.cases.pending(actor.user_id, chat_id)
        if pending is None:
            return Outcome(False, t("No answer is pending here. Press Reply on a case card first."))
        now = self.clock()
        if pending.expires_at <= now:
            await self.cases.clear_pending(actor.user_id, chat_id)
            return Outcome(
                False,
                t("Your answer to case #{id} was not sent: the Reply expired. Press Reply again.").format(
                    id=pending.case_id
                ),
            )
        case = await self.cases.get(pending.case_id)
        if case is None or case.is_closed:
            await self.cases.clear_pending(actor.user_id, chat_id)
            state = self.words.state_name(case.state) if case is not None else "?"
            return Outcome(
                False,
                t("Your answer was not sent: case #{id} is already {state}.").format(id=pending.case_id, state=state),
                case,
            )
        if not html_text.strip():
            return Outcome(False, t("Send the answer as text (or /cancel)."), case)
        delivery = await self.outbox.send_message(
            case.chat_id,
            html_text,
            thread_id=case.topic_id,
            reply_to=case.last_message_id,
            priority=Priority.REPLY,
        )
        if not delivery.ok:
            # Keep the pending reply: the manager can try again or /cancel.
            log.warning("case #%s: the answer could not be posted: %s", case.id, delivery.error)
            return Outcome(
                False,
                t("Could not post your answer to case #{id}: {error}. Send it again or /cancel.").format(
                    id=case.id, error=html.escape(delivery.error or "?")
                ),
                case,
            )
        await self.cases.clear_pending(actor.user_id, chat_id)
        await self.cases.answer(case.id, actor.user_id, actor.name, self.clock(), note=html_text[:1000])
        await self.cards.refresh(case.id)
        community = await self.communities.get(case.chat_id)
        link = (
            message_link_or_none(
                delivery.chat_id,
                delivery.message_id or 0,
                username=community.username if community is not None else None,
                thread_id=case.topic_id,
            )
            if delivery.message_id
            else None
        )
        text = t("Posted your answer to case #{id}.").format(id=case.id)
        if link:
            text += " " + t('<a href="{link}">Open it</a>').format(link=html.escape(link, quote=True))
        return Outcome(True, text, await self.cases.get(case.id))

    async def resolve(self, case_id: int, actor: Actor) -> Outcome:
        return await self._close(case_id, actor, "resolved")

    async def dismiss(self, case_id: int, actor: Actor) -> Outcome:
        return await self._close(case_id, actor, "dismissed")

    async def _close(self, case_id: int, actor: Actor, state: str) -> Outcome:
        t = self.t
        now = self.clock()
        if not await self.cases.close(case_id, state, actor.user_id, actor.name, now):
            case = await self.cases.get(case_id)
            if case is None:
                return Outcome(False, self.words.no_case(case_id))
            return Outcome(False, self.words.not_now(case), case)
        case = await self.cases.get(case_id)
        assert case is not None
        await self.cards.refresh(case_id)
        feedback = await self.cases.count_feedback(case.chat_id, state, now)
        if state == "dismissed":
            await self.tuning.after_dismiss(case, actor, feedback, now)
            return Outcome(True, t("Case #{id} dismissed as a false alarm.").format(id=case_id), case)
        return Outcome(True, t("Case #{id} resolved.").format(id=case_id), case)

    async def snooze(self, case_id: int, actor: Actor) -> Outcome:
        t = self.t
        now = self.clock()
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, self.words.no_case(case_id))
        community = await self.communities.get(case.chat_id)
        minutes = int(self.config.value(community, "snooze_minutes"))
        if not await self.cases.snooze(case_id, actor.user_id, actor.name, now, now + 60 * minutes):
            return Outcome(False, self.words.not_now(case), case)
        await self.cards.refresh(case_id)
        return Outcome(
            True,
            t("Case #{id} snoozed for {time}.").format(id=case_id, time=self.words.duration(60 * minutes)),
            await self.cases.get(case_id),
        )
