"""Escalation: negative threads become cases that managers work from Telegram.

The service listens to every recorded group message (``CommunityService.add_listener``), asks the pure
:class:`EscalationPolicy` about the thread's window, opens or updates the thread's one active case,
and keeps its card in the managers' destination current. Buttons, the reply flow, SLA reminders,
shadow mode and feedback tuning live here too; handlers only translate Telegram in and out.

Never imports aiogram: the outbox and the managers' desk are reached through the Protocols below.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.config import EscalationSettings
from bot.domain import Button, Community, Keyboard, MessageContext, Priority
from bot.domain.buttons import ButtonPort, CaseAct
from bot.i18n import Translator
from bot.services.escalation_policy import (
    ANONYMOUS_ADMIN_ID,
    DEFAULT_OUTSIDE_TOPICS,
    Decision,
    EscalationPolicy,
    PolicySettings,
    Reason,
    WindowMessage,
    case_priority,
    priority_label,
)
from bot.services.escalation_thread import CaseReason, Embedder, ThreadEscalation
from bot.services.ports import Desk, Sender
from bot.services.settings import community_setting
from bot.storage.cases import CardCopy, Case, CaseRepository, Feedback, PendingReply, TuningChange
from bot.storage.communities import CommunityRepository
from bot.storage.messages import MessageRepository
from bot.telegram.links import message_link_or_none
from bot.timeutil import epoch_now, to_epoch

log = logging.getLogger(__name__)

EpochClock = Callable[[], int]
DescribeChat = Callable[[int], Awaitable[str | None]]
DESCRIPTION_TTL = 6 * 3600

# Button actions (kept short: they travel in callback data).
TAKE, REPLY, RESOLVE, DISMISS, SNOOZE = CaseAct.TAKE, CaseAct.REPLY, CaseAct.RESOLVE, CaseAct.DISMISS, CaseAct.SNOOZE
ACTIONS = tuple(CaseAct)

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
_PRIORITY_ICON = {"high": "🔥", "medium": "⚠️", "low": "·"}
_MAX_LINE = 300


class Roles(Protocol):
    manager_ids: frozenset[int]

    def is_manager(self, user_id: int) -> bool: ...
    async def chat_admins(self, chat_id: int) -> set[int]: ...


class SettingsCache(Protocol):
    def invalidate(self, chat_id: int) -> None: ...


class CardExtension(Protocol):
    """Another feature's part of a case card (moderation): extra lines and button rows."""

    async def extend_card(self, case: Case) -> tuple[list[str], Keyboard]: ...


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer to a button press or a command: ``ok`` and a line for the person."""

    ok: bool
    text: str
    case: Case | None = None


class _KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[object, tuple[asyncio.Lock, int]] = {}

    async def run(self, key: object, fn: Callable[[], Any]) -> Any:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                return await fn()
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


__all__ = ["Actor", "CaseReason", "EscalationService", "Outcome"]


class EscalationService:
    def __init__(
        self,
        settings: EscalationSettings,
        cases: CaseRepository,
        messages: MessageRepository,
        communities: CommunityRepository,
        roles: Roles,
        outbox: Sender,
        desk: Desk,
        *,
        bot_id: int | None,
        managers_chat_id: int | None,
        locale: str = "en",
        buttons: ButtonPort,
        clock: EpochClock = epoch_now,
        settings_cache: SettingsCache | None = None,
        policy: EscalationPolicy | None = None,
        describe_chat: DescribeChat | None = None,
        embed: Embedder | None = None,
        cards_in_background: bool = False,
    ) -> None:
        self.settings = settings
        self.cases = cases
        self.messages = messages
        self.communities = communities
        self.roles = roles
        self.outbox = outbox
        self.desk = desk
        self.bot_id = bot_id
        self.managers_chat_id = managers_chat_id
        self.t = Translator(locale)
        self.buttons = buttons
        self.clock = clock
        self.settings_cache = settings_cache
        self.policy = policy or EscalationPolicy()
        # The group's own Telegram description says what it is about; read it now and then.
        self.describe_chat = describe_chat
        self._descriptions: dict[int, tuple[int, str]] = {}
        self._thread_locks = _KeyedLocks()
        self._member_locks = _KeyedLocks()  # taken inside a thread lock, never the other way round
        self._refreshing: set[int] = set()
        self._dirty: set[int] = set()
        self._tick_lock = asyncio.Lock()
        self.card_extensions: list[CardExtension] = []
        # Cards wait for the managers' chat's rate limit (20 a minute): on a member's message they are sent in
        # the background, so the FAQ answer and the next updates never wait behind them.
        self.cards_in_background = cards_in_background
        self._card_work: set[asyncio.Task[None]] = set()
        # The thread policy: encoder signals (embed: the FAQ's multilingual encoder) and waiting threads.
        self.thread = ThreadEscalation(self, embed)

    # ------------------------------------------------------------------ settings

    def _setting(self, community: Community | None, key: str, default: Any) -> Any:
        if community is None:
            return default
        return community_setting(community, f"escalation.{key}", default)

    def policy_settings(self, community: Community | None) -> PolicySettings:
        s = self.settings
        outside = self._setting(community, "outside_topics", list(s.outside_topics or DEFAULT_OUTSIDE_TOPICS))
        return PolicySettings(
            very_negative=float(self._setting(community, "very_negative", s.very_negative)),
            negative=float(self._setting(community, "negative", s.negative)),
            pile_on_members=int(self._setting(community, "pile_on_members", s.pile_on_members)),
            window_seconds=60 * int(self._setting(community, "window_minutes", s.window_minutes)),
            keywords=tuple(str(k) for k in self._setting(community, "keywords", list(s.keywords))),
            about=str(self._setting(community, "about", s.about)),
            about_keywords=tuple(str(k) for k in self._setting(community, "about_keywords", list(s.about_keywords))),
            outside_topics=tuple(str(k) for k in outside),
        )

    async def description(self, chat_id: int) -> str:
        """The community's Telegram description (cached for hours; empty when unknown)."""
        if self.describe_chat is None:
            return ""
        now = self.clock()
        cached = self._descriptions.get(chat_id)
        if cached is not None and now - cached[0] < DESCRIPTION_TTL:
            return cached[1]
        try:
            text = await self.describe_chat(chat_id) or ""
        except Exception as exc:  # the API may refuse; the policy works without it
            log.warning("could not read the description of chat %s: %s", chat_id, exc)
            text = cached[1] if cached is not None else ""
        self._descriptions[chat_id] = (now, text)
        return text

    def observe(self, community: Community | None) -> bool:
        return bool(self._setting(community, "observe", self.settings.observe))

    def enabled(self, community: Community | None) -> bool:
        return bool(self._setting(community, "enabled", self.settings.enabled))

    def sla_seconds(self, community: Community | None) -> int:
        return 60 * int(self._setting(community, "sla_minutes", self.settings.sla_minutes))

    async def staff_ids(self, chat_id: int) -> set[int]:
        staff = set(self.roles.manager_ids)
        staff |= await self.roles.chat_admins(chat_id)
        staff.add(ANONYMOUS_ADMIN_ID)
        return staff

    # ------------------------------------------------------------------ messages

    async def on_message(self, ctx: MessageContext) -> None:
        msg = ctx.msg
        if msg.is_edit or msg.author.is_bot or msg.chat_id == self.managers_chat_id:
            return
        if not self.enabled(ctx.community):
            return
        changed = await self._thread_locks.run((msg.chat_id, ctx.thread_key), lambda: self._on_thread_message(ctx))
        if changed is not None:
            # Outside the thread's lock: a throttled edit must not hold up the thread's next messages.
            await self.card_work(self.refresh(changed))

    async def card_work(self, work: Awaitable[None]) -> None:
        """Send or edit a card now, or in the background when ``cards_in_background`` (see __init__)."""
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
    def cards_pending(self) -> int:
        return len(self._card_work)

    async def cards_settled(self) -> None:
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

    async def _on_thread_message(self, ctx: MessageContext) -> int | None:
        """Open or update the thread's case; return the id of a live case whose card needs an edit."""
        msg = ctx.msg
        now = self.clock()
        case = await self.cases.active_for_thread(msg.chat_id, ctx.thread_key)
        settings = self.policy_settings(ctx.community)
        if (
            case is not None
            and case.shadow
            and (case.last_activity_at < now - settings.window_seconds or not self.observe(ctx.community))
        ):
            # A shadow case ends when its thread goes quiet (the next trip is a new would-be case) or
            # when the community went live (so a live case can open for the thread).
            await self.cases.close(case.id, "expired", None, None, now)
            case = None
        if self.thread.uses_thread_policy(ctx.community):
            is_staff = await self._from_staff(ctx)
            if case is not None:
                # The thread already has its case: the message moves the reply target and the card.
                await self._update(case, ctx, Decision((), "thread message"), is_staff, now)
                return None if case.shadow else case.id
            if is_staff and await self.thread.watches.get(msg.chat_id, ctx.thread_key) is None:
                return None  # a staff message can settle a waiting thread; it never raises one
            if await self.thread.on_thread_message(ctx, to_epoch(msg.date)):
                return None
            # The encoder is not multilingual-e5: this and later messages go by the message rules.
        is_negative = ctx.sentiment.label.value == "negative" and ctx.sentiment.score >= settings.negative
        keyword_hit = ctx.sentiment.label.value != "positive" and settings.keyword_matcher.find(msg.text)
        if case is None and not is_negative and not keyword_hit:
            return None  # cannot trip: every rule needs a negative message or a keyword
        staff = await self.staff_ids(msg.chat_id)
        is_staff = msg.author.user_id in staff or msg.author.sender_chat_id == msg.chat_id
        if case is not None and not is_negative and not keyword_hit:
            # A calm message in a thread with a case: it only moves the reply target and the card.
            await self._update(case, ctx, Decision((), "calm message"), is_staff, now)
            return None if case.shadow else case.id
        described = await self.description(msg.chat_id)
        if described:
            settings = replace(settings, about=f"{settings.about}\n{described}".strip())
        decision = await self._decide(ctx, settings, staff)
        if case is not None:
            await self._update(case, ctx, decision, is_staff, now)
            return None if case.shadow else case.id
        if not decision.escalate:
            log.debug("thread %s/%s: no case (%s)", msg.chat_id, ctx.thread_key, decision.detail)
            return None
        if is_staff:
            await self._open(ctx, decision, now)
            return None

        async def open_within_limit() -> None:
            # Serialised per member: two of their threads tripping at once must not both pass the count.
            if not await self._member_over_limit(msg.chat_id, msg.author.user_id, now):
                await self._open(ctx, decision, now)

        await self._member_locks.run((msg.chat_id, msg.author.user_id), open_within_limit)
        return None

    async def open_or_join(
        self,
        *,
        chat_id: int,
        thread_key: str,
        topic_id: int | None,
        reason: CaseReason,
        last_message_id: int | None = None,
        at: int | None = None,
        live: bool = False,
        before_card: Callable[[Case], Awaitable[None]] | None = None,
    ) -> tuple[Case, bool]:
        """Open the thread's case for ``reason`` or add the reason to its active case; (case, created).

        The one entry point for every source of a case (the thread judgment, a member's /report, a
        moderation action): a thread never gets a second card while its case is active. ``live`` opens a
        live case whatever the observe mode; ``before_card`` runs before the card is drawn.
        """

        async def run() -> tuple[Case, bool]:
            return await self.thread.open_or_join(
                chat_id=chat_id,
                thread_key=thread_key,
                topic_id=topic_id,
                reason=reason,
                last_message_id=last_message_id,
                at=at,
                live=live,
                before_card=before_card,
            )

        result: tuple[Case, bool] = await self._thread_locks.run((chat_id, thread_key), run)
        return result

    async def why(self, case_id: int) -> Outcome:
        """/case ID why: the signals behind the case and what each contributed."""
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, self.t("There is no case #{id}.").format(id=case_id))
        return Outcome(True, self.thread.why_text(case), case)

    async def _from_staff(self, ctx: MessageContext) -> bool:
        msg = ctx.msg
        return msg.author.user_id in await self.staff_ids(msg.chat_id) or msg.author.sender_chat_id == msg.chat_id

    async def _member_over_limit(self, chat_id: int, user_id: int, now: int) -> bool:
        """One account must not flood the queue: it opens at most member_cases_per_hour new cases."""
        limit = self.settings.member_cases_per_hour
        opened = await self.cases.opened_by_member(chat_id, user_id, since=now - 3600)
        if opened < limit:
            return False
        log.warning(
            "member %s opened %d cases in chat %s within the hour; not opening another", user_id, opened, chat_id
        )
        return True

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

    async def _open(self, ctx: MessageContext, decision: Decision, now: int) -> None:
        msg = ctx.msg
        shadow = self.observe(ctx.community)
        case, created = await self.cases.open(
            chat_id=msg.chat_id,
            thread_key=ctx.thread_key,
            topic_id=msg.thread_id if msg.is_topic_message else None,
            shadow=shadow,
            reasons=[r.value for r in decision.reasons],
            detail=decision.detail,
            keyword=decision.keyword,
            severity=decision.severity,
            negative_members=decision.negative_members,
            first_message_id=decision.trigger_message_id or msg.message_id,
            last_message_id=msg.message_id,
            message_count=1,
            at=now,
        )
        if not created:
            return
        log.info(
            "case #%s opened%s in %s (%s): %s",
            case.id,
            " in shadow mode" if shadow else "",
            msg.chat_id,
            ctx.thread_key,
            decision.detail,
        )
        if shadow:
            return
        await self.card_work(self.announce(case, ctx.community))

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
        title = community.title if community is not None else str(case.chat_id)
        topic = await self.desk.open_topic(self.t("Case #{id} · {title}", id=case.id, title=title)[:128])
        posted = await self.desk.post(text, keyboard=keyboard, thread_id=topic, priority=Priority.NORMAL)
        for copy in posted:
            await self.cases.add_card(case.id, CardCopy(copy.chat_id, copy.message_id, copy.thread_id))
        if not posted:
            log.warning("case #%s: no managers could be notified; it waits in /queue", case.id)

    async def _update(self, case: Case, ctx: MessageContext, decision: Decision, is_staff: bool, now: int) -> None:
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

    # ------------------------------------------------------------------ cards

    async def render(self, case: Case, community: Community | None = None) -> tuple[str, Keyboard | None]:
        """The card: text and the buttons that fit the case's state."""
        t = self.t
        now = self.clock()
        community = community or await self.communities.get(case.chat_id)
        title = community.title if community is not None else str(case.chat_id)
        sla = self.sla_seconds(community)
        age = now - case.opened_at
        priority = case_priority(
            severity=case.severity,
            negative_members=case.negative_members,
            age_seconds=age if case.first_response_at is None else 0,
            sla_seconds=sla,
            reasons=case.reasons,
        )
        level = priority_label(priority)
        lines = [
            t("{icon} <b>Case #{id}</b> · {state} · {level} priority ({priority})").format(
                icon=_STATE_ICON.get(case.state, "•"),
                id=case.id,
                state=self.state_name(case.state),
                level=self.level_name(level),
                priority=priority,
            )
        ]
        link = message_link_or_none(
            case.chat_id,
            case.first_message_id,
            username=community.username if community is not None else None,
            thread_id=case.topic_id,
        )
        where = f"<b>{html.escape(title)}</b>"
        if link:
            where += " · " + t('<a href="{link}">open the thread</a>').format(link=html.escape(link, quote=True))
        else:
            where += " · " + t("(this group has no message links)")
        lines.append(where)
        lines.append(t("Reason: {reasons}").format(reasons=self.reasons_text(case)))
        opened = datetime.fromtimestamp(case.opened_at, UTC).strftime("%Y-%m-%d %H:%M")
        age_line = t("Opened {opened} UTC, {age} ago · first answer due within {sla}").format(
            opened=opened, age=self.duration(age), sla=self.duration(sla)
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
                    time=self.duration(case.response_seconds or 0),
                )
            )
        if case.state == "snoozed" and case.snoozed_until is not None:
            until = datetime.fromtimestamp(case.snoozed_until, UTC).strftime("%H:%M")
            lines.append(t("Snoozed until {time} UTC").format(time=until))
        if case.closed_at is not None:
            by = html.escape(case.closed_by_name or (str(case.closed_by) if case.closed_by else "Steward"))
            lines.append(t("{state} by {name}").format(state=self.state_name(case.state).capitalize(), name=by))
        limit = int(self._setting(community, "card_messages", self.settings.card_messages))
        thread = await self.cases.thread_lines(case.chat_id, case.thread_key, limit=limit)
        if thread:
            lines.append("")
            lines.append(t("<b>Last messages</b>"))
            for line in thread:
                text = line.text if len(line.text) <= _MAX_LINE else line.text[: _MAX_LINE - 1] + "…"
                label = line.label or "unclassified"
                mood = self.sentiment_name(label)
                if line.score is not None and label != "unclassified":
                    mood += f" {line.score:.2f}"
                lines.append(
                    f"{_SENTIMENT_ICON.get(label, '❔')} <b>{html.escape(line.name)}</b> ({mood}): "
                    f"{html.escape(text) or '…'}"
                )
        keyboard = self.keyboard(case)
        for extension in self.card_extensions:
            extra_lines, rows = await extension.extend_card(case)
            if extra_lines:
                lines.append("")
                lines.extend(extra_lines)
            if rows:
                keyboard = [*rows, *(keyboard or [])]
        return "\n".join(lines), keyboard

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
            return Outcome(False, self.t("There is no case #{id}.").format(id=case_id))
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

    # ------------------------------------------------------------------ actions

    async def take(self, case_id: int, actor: Actor) -> Outcome:
        t = self.t
        now = self.clock()
        if await self.cases.take(case_id, actor.user_id, actor.name, now):
            await self.refresh(case_id)
            return Outcome(True, t("Case #{id} is yours.").format(id=case_id), await self.cases.get(case_id))
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, t("There is no case #{id}.").format(id=case_id))
        if case.taken_by is not None and not case.is_closed:
            if case.taken_by == actor.user_id:
                return Outcome(False, t("You already took case #{id}.").format(id=case_id), case)
            return Outcome(
                False,
                t("{name} already took case #{id}.").format(name=case.taken_by_name or case.taken_by, id=case_id),
                case,
            )
        return Outcome(False, self._not_now(case), case)

    def _not_now(self, case: Case) -> str:
        return self.t("Case #{id} is {state}; nothing changed.").format(id=case.id, state=self.state_name(case.state))

    async def begin_reply(self, case_id: int, actor: Actor, chat_id: int) -> Outcome:
        """Reply pressed: the actor's next message in ``chat_id`` becomes the answer (stored in the DB)."""
        t = self.t
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, t("There is no case #{id}.").format(id=case_id))
        if case.is_closed or case.shadow:
            return Outcome(False, self._not_now(case), case)
        now = self.clock()
        minutes = int(self.settings.reply_timeout_minutes)
        await self.cases.set_pending(actor.user_id, chat_id, case_id, now, now + 60 * minutes)
        community = await self.communities.get(case.chat_id)
        title = community.title if community is not None else str(case.chat_id)
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
            state = self.state_name(case.state) if case is not None else "?"
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
        await self.refresh(case.id)
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
                return Outcome(False, t("There is no case #{id}.").format(id=case_id))
            return Outcome(False, self._not_now(case), case)
        case = await self.cases.get(case_id)
        assert case is not None
        await self.refresh(case_id)
        feedback = await self.cases.count_feedback(case.chat_id, state, now)
        if state == "dismissed":
            await self._tune_after_dismiss(case, actor, feedback, now)
            return Outcome(True, t("Case #{id} dismissed as a false alarm.").format(id=case_id), case)
        return Outcome(True, t("Case #{id} resolved.").format(id=case_id), case)

    async def snooze(self, case_id: int, actor: Actor) -> Outcome:
        t = self.t
        now = self.clock()
        case = await self.cases.get(case_id)
        if case is None:
            return Outcome(False, t("There is no case #{id}.").format(id=case_id))
        community = await self.communities.get(case.chat_id)
        minutes = int(self._setting(community, "snooze_minutes", self.settings.snooze_minutes))
        if not await self.cases.snooze(case_id, actor.user_id, actor.name, now, now + 60 * minutes):
            return Outcome(False, self._not_now(case), case)
        await self.refresh(case_id)
        return Outcome(
            True,
            t("Case #{id} snoozed for {time}.").format(id=case_id, time=self.duration(60 * minutes)),
            await self.cases.get(case_id),
        )

    # ------------------------------------------------------------------ feedback

    async def _tune_after_dismiss(self, case: Case, actor: Actor, feedback: Feedback, now: int) -> None:
        """A false alarm in a chat whose precision is below target raises the thresholds that tripped."""
        s = self.settings
        precision = feedback.precision
        community = await self.communities.get(case.chat_id)
        if community is None or precision is None:
            return
        target = float(self._setting(community, "tune_target_precision", s.tune_target_precision))
        if feedback.closed < s.tune_min_cases or precision >= target:
            return
        current = self.policy_settings(community)
        changes: dict[str, Any] = {}
        notes: list[str] = []
        if "thread" in case.reasons:
            # The thread judgment: a false alarm asks for more evidence before the next case.
            old_score = float(self._setting(community, "open_score", s.open_score))
            new_score = round(min(old_score + 0.1, s.max_open_score), 2)
            if new_score > old_score:
                changes["escalation.open_score"] = (old_score, new_score)
            else:
                notes.append(self.t("the open score is at its bound ({value})").format(value=new_score))
        if Reason.VERY_NEGATIVE.value in case.reasons:
            new = round(min(current.very_negative + 0.02, s.max_very_negative), 2)
            if new > current.very_negative:
                changes["escalation.very_negative"] = (current.very_negative, new)
            else:
                notes.append(self.t("the very-negative threshold is at its bound ({value})").format(value=new))
        if Reason.PILE_ON.value in case.reasons:
            new_members = min(current.pile_on_members + 1, s.max_pile_on_members)
            if new_members > current.pile_on_members:
                changes["escalation.pile_on_members"] = (current.pile_on_members, new_members)
            else:
                notes.append(self.t("the pile-on size is at its bound ({value})").format(value=new_members))
        if Reason.REPLY_TO_STAFF.value in case.reasons:
            new = round(min(current.negative + 0.05, s.max_negative), 2)
            if new > current.negative:
                changes["escalation.negative"] = (current.negative, new)
            else:
                notes.append(self.t("the negative threshold is at its bound ({value})").format(value=new))
        if Reason.KEYWORD.value in case.reasons and case.keyword:
            notes.append(
                self.t("keyword “{keyword}” caused it; remove it with /escalation keywords if it misfires").format(
                    keyword=html.escape(case.keyword)
                )
            )
        if changes:
            await self.communities.update_settings(case.chat_id, {key: new for key, (_, new) in changes.items()})
            if self.settings_cache is not None:
                self.settings_cache.invalidate(case.chat_id)
        reason = (
            f"case #{case.id} dismissed; precision {precision:.0%} over {feedback.closed} closed cases "
            f"is below {target:.0%}"
        )
        for key, (old, new) in changes.items():
            change = TuningChange(case.chat_id, now, actor.user_id, case.id, key, str(old), str(new), reason)
            await self.cases.log_tuning(change)
            log.info("tuning %s in %s: %s → %s (%s)", key, case.chat_id, old, new, reason)
        if not changes and not notes:
            return
        lines = [
            self.t(
                "🔧 <b>{title}</b>: case #{id} was dismissed. "
                "Precision {precision} ({resolved} real of {closed} closed)."
            ).format(
                title=html.escape(community.title),
                id=case.id,
                precision=f"{precision:.0%}",
                resolved=feedback.resolved,
                closed=feedback.closed,
            )
        ]
        for key, (old, new) in changes.items():
            lines.append(
                self.t("Raised {setting}: {old} → {new}").format(
                    setting=key.removeprefix("escalation."), old=old, new=new
                )
            )
        lines.extend(f"• {note}" for note in notes)
        await self.desk.post("\n".join(lines), priority=Priority.NORMAL)

    async def set_community_setting(self, chat_id: int, key: str, raw: str, actor: Actor) -> Outcome:
        """/escalation <key> <value> in a community: validated, stored, logged."""
        t = self.t
        community = await self.communities.get(chat_id)
        if community is None:
            return Outcome(False, t("This chat is not a community I serve yet."))
        s = self.settings
        value: Any
        raw = raw.strip()
        try:
            if key == "policy":
                if raw.lower() not in ("thread", "message"):
                    raise ValueError(t("use thread or message"))
                value = raw.lower()
            elif key in ("open_score", "need_margin", "urgent_margin"):
                value = round(float(raw.replace(",", ".")), 3)
                top = 5.0 if key == "open_score" else 0.2
                if not 0.0 < value <= top:
                    raise ValueError(t("use a number above 0 and at most {top}").format(top=top))
            elif key in ("wait_minutes", "min_words"):
                value = int(raw)
                if not 0 <= value <= 1440:
                    raise ValueError(t("use a whole number from {low}").format(low=0))
            elif key in ("observe", "enabled"):
                if raw.lower() not in ("on", "off", "true", "false", "yes", "no", "1", "0"):
                    raise ValueError(t("use on or off"))
                value = raw.lower() in ("on", "true", "yes", "1")
            elif key in ("very_negative", "negative"):
                value = round(float(raw.replace(",", ".")), 3)
                if not 0.0 < value <= 1.0:
                    raise ValueError(t("use a number between 0 and 1, such as 0.9"))
            elif key in ("pile_on_members", "window_minutes", "sla_minutes", "reminder_minutes", "snooze_minutes"):
                value = int(raw)
                low = 2 if key == "pile_on_members" else 1
                if not low <= value <= 10_080:
                    raise ValueError(t("use a whole number from {low}").format(low=low))
            elif key in ("keywords", "about_keywords", "outside_topics"):
                value = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
                if len(value) > 100 or any(len(v) > 64 for v in value):
                    raise ValueError(t("at most 100 terms of up to 64 characters"))
            elif key == "about":
                value = raw[:1000]
            else:
                raise KeyError(key)
        except KeyError:
            return Outcome(
                False, t("Unknown setting {key}. See /escalation for the list.").format(key=html.escape(key))
            )
        except ValueError as exc:
            message = str(exc) if str(exc) and not str(exc).startswith(("could not", "invalid")) else t("not valid")
            return Outcome(False, t("{key}: {problem}.").format(key=html.escape(key), problem=message))
        full = f"escalation.{key}"
        old = community.settings.get(full, getattr(s, key, None))
        await self.communities.update_settings(chat_id, {full: value})
        if self.settings_cache is not None:
            self.settings_cache.invalidate(chat_id)
        await self.cases.log_tuning(
            TuningChange(chat_id, self.clock(), actor.user_id, None, full, str(old), str(value), f"set by {actor.name}")
        )
        log.info("%s set %s in %s: %r → %r", actor.user_id, full, chat_id, old, value)
        if isinstance(value, list):
            shown = ", ".join(value)
        elif isinstance(value, bool):
            shown = "on" if value else "off"
        else:
            shown = str(value)
        await self.desk.post(
            t("⚙️ {name} set {key} = {value} in {title}.").format(
                name=html.escape(actor.name),
                key=key,
                value=html.escape(shown or "—"),
                title=html.escape(community.title),
            ),
            priority=Priority.NORMAL,
        )
        return Outcome(True, t("{key} is now {value}.").format(key=key, value=html.escape(shown or "—")))

    async def settings_text(self, chat_id: int) -> str:
        t = self.t
        community = await self.communities.get(chat_id)
        p = self.policy_settings(community)
        s = self.settings
        feedback = await self.cases.feedback(chat_id)
        precision = "—" if feedback.precision is None else f"{feedback.precision:.0%}"
        lines = [
            t("<b>Escalation settings here</b>"),
            t("observe (shadow mode): {value}").format(value="on" if self.observe(community) else "off"),
            t("policy: {value}").format(value=self._setting(community, "policy", s.policy)),
            t("wait_minutes: {value}").format(value=self._setting(community, "wait_minutes", s.wait_minutes)),
            t("open_score: {value}").format(value=self._setting(community, "open_score", s.open_score)),
            t("need_margin: {value}").format(value=self._setting(community, "need_margin", s.need_margin)),
            t("very_negative: {value}").format(value=p.very_negative),
            t("negative: {value}").format(value=p.negative),
            t("pile_on_members: {value}").format(value=p.pile_on_members),
            t("window_minutes: {value}").format(value=p.window_seconds // 60),
            t("sla_minutes: {value}").format(value=self.sla_seconds(community) // 60),
            t("reminder_minutes: {value}").format(
                value=self._setting(community, "reminder_minutes", self.settings.reminder_minutes)
            ),
            t("keywords: {value}").format(value=html.escape(", ".join(p.keywords) or "—")),
            t("about: {value}").format(value=html.escape(p.about or "—")),
            t("about_keywords: {value}").format(value=html.escape(", ".join(p.about_keywords) or "—")),
            t("Precision: {precision} ({resolved} resolved, {dismissed} dismissed)").format(
                precision=precision, resolved=feedback.resolved, dismissed=feedback.dismissed
            ),
            "",
            t("Change one with /escalation &lt;setting&gt; &lt;value&gt;, for example /escalation observe on"),
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------------ queue and reports

    async def queue(self) -> list[tuple[Case, int]]:
        """Active live cases with their priority, most urgent first (then the oldest)."""
        now = self.clock()
        out: list[tuple[Case, int]] = []
        communities: dict[int, Community | None] = {}
        for case in await self.cases.active():
            if case.chat_id not in communities:
                communities[case.chat_id] = await self.communities.get(case.chat_id)
            sla = self.sla_seconds(communities[case.chat_id])
            priority = case_priority(
                severity=case.severity,
                negative_members=case.negative_members,
                age_seconds=(now - case.opened_at) if case.first_response_at is None else 0,
                sla_seconds=sla,
                reasons=case.reasons,
            )
            out.append((case, priority))
        out.sort(key=lambda item: (-item[1], item[0].opened_at))
        return out

    async def queue_text(self, limit: int = 30) -> str:
        t = self.t
        items = await self.queue()
        if not items:
            return t("The queue is empty: no open cases.")
        now = self.clock()
        titles: dict[int, str] = {}
        lines = [t("<b>Open cases</b> ({count}), most urgent first:").format(count=len(items))]
        for case, priority in items[:limit]:
            if case.chat_id not in titles:
                community = await self.communities.get(case.chat_id)
                titles[case.chat_id] = community.title if community is not None else str(case.chat_id)
            level = priority_label(priority)
            lines.append(
                t("{icon} #{id} · {priority} · {title} · {state} · {members} unhappy · {age}").format(
                    icon=_PRIORITY_ICON[level],
                    id=case.id,
                    priority=priority,
                    title=html.escape(titles[case.chat_id]),
                    state=self.state_name(case.state),
                    members=case.negative_members,
                    age=self.duration(now - case.opened_at),
                )
            )
        if len(items) > limit:
            lines.append(t("… and {n} more").format(n=len(items) - limit))
        lines.append("")
        lines.append(t("Open one with /case &lt;number&gt;."))
        return "\n".join(lines)

    async def shadow_report(self, days: int = 7) -> str:
        t = self.t
        now = self.clock()
        cases = await self.cases.shadow_since(now - days * 86400)
        lines = [t("<b>Shadow report</b>, last {days} days").format(days=days)]
        if not cases:
            lines.append(t("Nothing would have been escalated."))
        by_chat: dict[int, list[Case]] = {}
        for case in cases:
            by_chat.setdefault(case.chat_id, []).append(case)
        for chat_id, chat_cases in by_chat.items():
            community = await self.communities.get(chat_id)
            title = community.title if community is not None else str(chat_id)
            reasons: dict[str, int] = {}
            for case in chat_cases:
                for reason in case.reasons:
                    reasons[reason] = reasons.get(reason, 0) + 1
            p = self.policy_settings(community)
            lines.append("")
            lines.append(
                t("<b>{title}</b>: {n} would-be cases ({reasons})").format(
                    title=html.escape(title),
                    n=len(chat_cases),
                    reasons=", ".join(f"{self.reason_name(r)}: {n}" for r, n in sorted(reasons.items())),
                )
            )
            if self.thread.uses_thread_policy(community):
                lines.append(
                    t("now: thread policy, open_score {s}, wait {w} min, need_margin {m}; observe {o}").format(
                        s=self._setting(community, "open_score", self.settings.open_score),
                        w=self._setting(community, "wait_minutes", self.settings.wait_minutes),
                        m=self._setting(community, "need_margin", self.settings.need_margin),
                        o="on" if self.observe(community) else "off",
                    )
                )
            else:
                lines.append(
                    t("now: very_negative {v}, negative {n}, pile_on_members {p}, window {w} min; observe {o}").format(
                        v=p.very_negative,
                        n=p.negative,
                        p=p.pile_on_members,
                        w=p.window_seconds // 60,
                        o="on" if self.observe(community) else "off",
                    )
                )
            for case in chat_cases[-5:]:
                link = message_link_or_none(
                    case.chat_id,
                    case.first_message_id,
                    username=community.username if community is not None else None,
                    thread_id=case.topic_id,
                )
                opened = datetime.fromtimestamp(case.opened_at, UTC).strftime("%m-%d %H:%M")
                ref = f'<a href="{html.escape(link, quote=True)}">#{case.id}</a>' if link else f"#{case.id}"
                lines.append(f"• {ref} {opened} · {html.escape(case.detail)}")
        feedback = await self.cases.all_feedback()
        if feedback:
            lines.append("")
            lines.append(t("<b>Precision of live cases</b> (resolved ÷ resolved + dismissed)"))
            for fb in feedback:
                community = await self.communities.get(fb.chat_id)
                title = community.title if community is not None else str(fb.chat_id)
                precision = "—" if fb.precision is None else f"{fb.precision:.0%}"
                lines.append(f"• {html.escape(title)}: {precision} ({fb.resolved}/{fb.closed})")
        return "\n".join(lines)

    # ------------------------------------------------------------------ timed work

    async def tick(self) -> None:
        """Run by the scheduler every ``check_seconds``: wake snoozes, remind past the SLA, expire."""
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
                    await self.refresh(case.id)
                    await self._to_cards(case.id, t("💤 Case #{id} is back from snooze.").format(id=case.id))
                continue
            if case.first_response_at is not None or case.state not in ("open", "taken"):
                continue
            community = await community_of(case.chat_id)
            sla = self.sla_seconds(community)
            interval = 60 * int(self._setting(community, "reminder_minutes", self.settings.reminder_minutes))
            age = now - case.opened_at
            if age < sla:
                continue
            if case.last_reminded_at is not None and now - case.last_reminded_at < interval:
                continue
            title = community.title if community is not None else str(case.chat_id)
            text = t("⏰ Case #{id} in {title} has waited {age} without an answer (target {sla}).").format(
                id=case.id, title=html.escape(title), age=self.duration(age), sla=self.duration(sla)
            )
            if case.taken_by_name:
                text += " " + t("Taken by {name}.").format(name=html.escape(case.taken_by_name))
            await self.cases.reminded(case.id, now)
            await self._to_cards(case.id, text)
            await self.refresh(case.id)
        await self.thread.check_watches(now)
        for case in await self.cases.active(shadow=True):
            settings = self.policy_settings(await community_of(case.chat_id))
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

    async def _to_cards(self, case_id: int, text: str) -> None:
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

    # ------------------------------------------------------------------ words

    def state_name(self, state: str) -> str:
        t = self.t
        names = {
            "open": t("open"),
            "taken": t("taken"),
            "answered": t("answered"),
            "snoozed": t("snoozed"),
            "resolved": t("resolved"),
            "dismissed": t("dismissed"),
            "expired": t("expired"),
        }
        return names.get(state, state)

    def level_name(self, level: str) -> str:
        t = self.t
        return {"high": t("high"), "medium": t("medium"), "low": t("low")}.get(level, level)

    def sentiment_name(self, label: str) -> str:
        t = self.t
        return {
            "negative": t("negative"),
            "neutral": t("neutral"),
            "positive": t("positive"),
            "unclassified": t("unclassified"),
        }.get(label, label)

    def reason_name(self, reason: str) -> str:
        t = self.t
        return {
            "very_negative": t("very negative message"),
            "pile_on": t("pile-on"),
            "reply_to_staff": t("negative reply to the bot or a manager"),
            "keyword": t("keyword"),
            "report": t("reported by members"),
            "spam": t("possible spam"),
            "thread": t("thread judgment"),
            "billing": t("money or billing problem"),
            "refund": t("refund or cancellation requested"),
            "outage": t("service not working"),
            "data_loss": t("lost data or work"),
            "no_show": t("staff or service did not show up"),
            "leave_threat": t("threat to leave or go public"),
            "harassment": t("harassment or abuse"),
            "safety": t("safety concern"),
            "staff_question": t("question only the team can answer"),
            "chasing": t("asked again without an answer"),
        }.get(reason, self.thread.signal_name(reason))

    def reasons_text(self, case: Case) -> str:
        if "thread" in case.reasons:
            return self.thread.reason_text(case) or html.escape(case.detail)  # the judgment's plain words
        parts: list[str] = []
        for reason in case.reasons:
            if reason == Reason.PILE_ON.value:
                parts.append(self.t("pile-on: {n} members negative").format(n=case.negative_members))
            elif reason == Reason.KEYWORD.value and case.keyword:
                parts.append(self.t("keyword “{keyword}”").format(keyword=html.escape(case.keyword)))
            elif reason == Reason.VERY_NEGATIVE.value:
                parts.append(self.t("very negative message ({score})").format(score=f"{case.severity:.2f}"))
            else:
                parts.append(self.reason_name(reason))
        return "; ".join(parts) or "—"

    def duration(self, seconds: float) -> str:
        t = self.t
        minutes = max(0, int(seconds // 60))
        if minutes < 60:
            return t("{n} min").format(n=minutes)
        hours, rest = divmod(minutes, 60)
        if hours < 48:
            return t("{h} h {m} min").format(h=hours, m=rest) if rest else t("{h} h").format(h=hours)
        return t("{d} days").format(d=hours // 24)
