"""Case cards: drawn from the case, posted to the managers' desk, kept current, and queued off the hot path.

A card waits for the managers' chat's rate limit (20 a minute), so on a member's message its send or edit
goes through :meth:`CaseCards.card_work`: in the background when ``cards_in_background`` (the bot), so the
FAQ answer and the next updates never wait behind it; awaited otherwise (tests, the CLI).
:meth:`CaseCards.cards_settled` waits for the queue; :meth:`CaseCards.close` drains it at shutdown.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

from bot.domain import Button, Community, Keyboard, Priority
from bot.domain.buttons import ButtonPort
from bot.domain.cases import CardCopy, Case
from bot.services.escalation.base import (
    DISMISS,
    REPLY,
    RESOLVE,
    SNOOZE,
    TAKE,
    CardExtension,
    Outcome,
    title_of,
)
from bot.services.escalation.context import Context, Part
from bot.services.escalation.policy import case_priority, priority_label
from bot.telegram.links import message_link_or_none

log = logging.getLogger(__name__)

_STATE_ICON = {
    "open": "🔴",
    "taken": "🟠",
    "answered": "🟡",
    "snoozed": "💤",
    "resolved": "✅",
    "dismissed": "⚪",
    "expired": "⚪",
}
_SENTIMENT_ICON = {"negative": "😠", "neutral": "😐", "positive": "🙂"}
_MAX_LINE = 300


def priority_of(case: Case, sla_seconds: int, now: int) -> int:
    """The case's priority now: its age counts until the first answer."""
    return case_priority(
        severity=case.severity,
        negative_members=case.negative_members,
        age_seconds=(now - case.opened_at) if case.first_response_at is None else 0,
        sla_seconds=sla_seconds,
        reasons=case.reasons,
    )


def thread_link(case: Case, community: Community | None) -> str | None:
    """A link to the message that opened the case (None where the group has no message links)."""
    return message_link_or_none(
        case.chat_id,
        case.first_message_id,
        username=community.username if community is not None else None,
        thread_id=case.topic_id,
    )


class CaseCards(Part):
    def __init__(self, ctx: Context, *, buttons: ButtonPort, cards_in_background: bool) -> None:
        super().__init__(ctx)
        self.buttons = buttons
        self.extensions: list[CardExtension] = []
        self.cards_in_background = cards_in_background
        self._card_work: set[asyncio.Task[None]] = set()
        self._refreshing: set[int] = set()
        self._dirty: set[int] = set()

    # ------------------------------------------------------------------ the queue

    async def card_work(self, work: Awaitable[None]) -> None:
        """Send or edit a card now, or in the background when ``cards_in_background`` (see the module)."""
        if not self.cards_in_background:
            await work
            return

        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("a case card could not be sent or edited")

        task = asyncio.create_task(run(), name="case-card")
        self._card_work.add(task)
        task.add_done_callback(self._card_work.discard)

    @property
    def pending(self) -> int:
        return len(self._card_work)

    async def settled(self) -> None:
        """Wait until no card work is queued (tests and the CLI; the bot itself never waits)."""
        while self._card_work:
            await asyncio.gather(*self._card_work, return_exceptions=True)

    async def close(self, timeout: float = 10.0) -> None:
        """Let queued card work finish (the outbox is still open), then cancel what is left."""
        if not self._card_work:
            return
        _done, left = await asyncio.wait(set(self._card_work), timeout=timeout)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    # ------------------------------------------------------------------ posting and editing

    async def announce(self, case: Case, community: Community | None) -> None:
        """Post the new case's card; edits asked for meanwhile follow once it is out."""
        self._refreshing.add(case.id)  # refresh() calls now only mark the case dirty
        try:
            await self._post_card(case, community)
        finally:
            self._refreshing.discard(case.id)
        if case.id in self._dirty:
            await self.refresh(case.id)

    async def _post_card(self, case: Case, community: Community | None) -> None:
        """The new case's card to the managers (a forum topic of its own where the desk has topics)."""
        text, keyboard = await self.render(case, community)
        title = title_of(community, case.chat_id)
        topic = await self.desk.open_topic(self.t("Case #{id} · {title}", id=case.id, title=title)[:128])
        posted = await self.desk.post(text, keyboard=keyboard, thread_id=topic, priority=Priority.NORMAL)
        for copy in posted:
            await self.cases.add_card(case.id, CardCopy(copy.chat_id, copy.message_id, copy.thread_id))
        if not posted:
            log.warning("case #%s: no managers could be notified; it waits in /queue", case.id)

    async def refresh(self, case_id: int) -> None:
        """Edit every copy of the card in place. Concurrent calls collapse into one more edit."""
        if case_id in self._refreshing:
            self._dirty.add(case_id)
            return
        self._refreshing.add(case_id)
        try:
            while True:
                self._dirty.discard(case_id)
                await self._edit_cards(case_id)
                if case_id not in self._dirty:
                    break
        finally:
            self._refreshing.discard(case_id)

    async def _edit_cards(self, case_id: int) -> None:
        case = await self.cases.get(case_id)
        if case is None or case.shadow:
            return
        copies = await self.cases.cards(case_id)
        if not copies:
            return
        text, keyboard = await self.render(case)
        for copy in copies:
            delivery = await self.outbox.edit_text(copy.chat_id, copy.message_id, text, keyboard=keyboard)
            if not delivery.ok:
                log.warning(
                    "could not update card %s/%s of case #%s: %s",
                    copy.chat_id,
                    copy.message_id,
                    case_id,
                    delivery.error,
                )

    async def show(self, case_id: int, chat_id: int, thread_id: int | None = None) -> Outcome:
        """/case <id>: post the card here too (kept current like the others)."""
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, self.words.no_case(case_id))
        text, keyboard = await self.render(case)
        if case.shadow:
            text += "\n\n" + self.t("Shadow mode: recorded only, nobody was notified.")
        delivery = await self.outbox.send_message(
            chat_id, text, thread_id=thread_id, keyboard=keyboard, priority=Priority.REPLY
        )
        if not delivery.ok or delivery.message_id is None:
            return Outcome(False, self.t("Could not show case #{id}: {error}").format(id=case_id, error=delivery.error))
        if not case.shadow:
            await self.cases.add_card(case.id, CardCopy(delivery.chat_id, delivery.message_ids[-1], thread_id))
        return Outcome(True, "", case)

    async def notify(self, case_id: int, text: str) -> None:
        """A notice under each copy of the card (in its forum topic), or to the desk when it has none."""
        copies = await self.cases.cards(case_id)
        if not copies:
            await self.desk.post(text, priority=Priority.NORMAL)
            return
        for copy in copies:
            delivery = await self.outbox.send_message(
                copy.chat_id, text, thread_id=copy.thread_id, reply_to=copy.message_id, priority=Priority.NORMAL
            )
            if not delivery.ok:
                log.warning("could not remind in %s about case #%s: %s", copy.chat_id, case_id, delivery.error)

    # ------------------------------------------------------------------ drawing

    async def render(self, case: Case, community: Community | None = None) -> tuple[str, Keyboard | None]:
        """The card: text and the buttons that fit the case's state."""
        t, words = self.t, self.words
        now = self.clock()
        community = community or await self.communities.get(case.chat_id)
        title = title_of(community, case.chat_id)
        sla = self.config.sla_seconds(community)
        age = now - case.opened_at
        priority = priority_of(case, sla, now)
        level = priority_label(priority)
        lines = [
            t("{icon} <b>Case #{id}</b> · {state} · {level} priority ({priority})").format(
                icon=_STATE_ICON.get(case.state, "•"),
                id=case.id,
                state=words.state_name(case.state),
                level=words.level_name(level),
                priority=priority,
            )
        ]
        link = thread_link(case, community)
        where = f"<b>{html.escape(title)}</b>"
        if link:
            where += " · " + t('<a href="{link}">open the thread</a>').format(link=html.escape(link, quote=True))
        else:
            where += " · " + t("(this group has no message links)")
        lines.append(where)
        lines.append(t("Reason: {reasons}").format(reasons=words.reasons_text(case)))
        opened = datetime.fromtimestamp(case.opened_at, UTC).strftime("%Y-%m-%d %H:%M")
        age_line = t("Opened {opened} UTC, {age} ago · first answer due within {sla}").format(
            opened=opened, age=words.duration(age), sla=words.duration(sla)
        )
        if case.first_response_at is None and not case.is_closed and age >= sla:
            age_line += " · " + t("⏰ overdue")
        lines.append(age_line)
        if case.taken_by is not None:
            lines.append(t("Taken by {name}").format(name=html.escape(case.taken_by_name or str(case.taken_by))))
        if case.first_response_at is not None:
            lines.append(
                t("Answered by {name} after {time}").format(
                    name=html.escape(case.answered_by_name or str(case.answered_by)),
                    time=words.duration(case.response_seconds or 0),
                )
            )
        if case.state == "snoozed" and case.snoozed_until is not None:
            until = datetime.fromtimestamp(case.snoozed_until, UTC).strftime("%H:%M")
            lines.append(t("Snoozed until {time} UTC").format(time=until))
        if case.closed_at is not None:
            by = html.escape(case.closed_by_name or (str(case.closed_by) if case.closed_by else "Steward"))
            lines.append(t("{state} by {name}").format(state=words.state_name(case.state).capitalize(), name=by))
        lines += await self._thread_lines(case, community)
        keyboard = self.keyboard(case)
        for extension in self.extensions:
            extra_lines, rows = await extension.extend_card(case)
            if extra_lines:
                lines.append("")
                lines.extend(extra_lines)
            if rows:
                keyboard = [*rows, *(keyboard or [])]
        return "\n".join(lines), keyboard

    async def _thread_lines(self, case: Case, community: Community | None) -> list[str]:
        """The thread's last messages, each with its author and mood."""
        limit = int(self.config.value(community, "card_messages"))
        thread = await self.cases.thread_lines(case.chat_id, case.thread_key, limit=limit)
        if not thread:
            return []
        lines = ["", self.t("<b>Last messages</b>")]
        for line in thread:
            text = line.text if len(line.text) <= _MAX_LINE else line.text[: _MAX_LINE - 1] + "…"
            label = line.label or "unclassified"
            mood = self.words.sentiment_name(label)
            if line.score is not None and label != "unclassified":
                mood += f" {line.score:.2f}"
            lines.append(
                f"{_SENTIMENT_ICON.get(label, '❔')} <b>{html.escape(line.name)}</b> ({mood}): "
                f"{html.escape(text) or '…'}"
            )
        return lines

    def keyboard(self, case: Case) -> Keyboard | None:
        t = self.t
        if case.is_closed or case.shadow:
            return None
        first: list[Button] = []
        if case.state in ("open", "snoozed"):
            first.append(Button(t("Take"), callback_data=self.buttons.case(TAKE, case.id)))
        first.append(Button(t("Reply"), callback_data=self.buttons.case(REPLY, case.id)))
        first.append(Button(t("Resolve"), callback_data=self.buttons.case(RESOLVE, case.id)))
        second = [Button(t("Dismiss"), callback_data=self.buttons.case(DISMISS, case.id))]
        if case.state != "snoozed":
            second.append(Button(t("Snooze"), callback_data=self.buttons.case(SNOOZE, case.id)))
        return [first, second]
