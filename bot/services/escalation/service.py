"""Escalation: negative threads become cases that managers work from Telegram.

:class:`EscalationService` is the one object the bot, the handlers, moderation and the CLI hold. It builds
its parts and hands each call to the part that owns it:

- ``config`` (settings.py): the settings of each community, and their parsing;
- ``lifecycle`` (lifecycle.py): each group message opens, joins or moves its thread's case, and
  ``open_or_join`` is the one entry point for every other source of a case, under the thread's lock;
- ``opener`` (opening.py): the one place a case row is opened or joined; who counts as staff;
- ``thread`` (thread.py): the thread judgment with the encoder's signals, and threads that wait;
- ``cards`` (cards.py): drawing, posting and editing the cards, queued off the member's path;
- ``actions`` (actions.py): take, reply, resolve, dismiss, snooze, why;
- ``tuning`` (tuning.py): settings changed by a manager, or raised after a false alarm;
- ``reports`` (reports.py): /queue, /shadow_report, the settings text;
- ``sla`` (sla.py): the scheduler's check (snoozes, SLA reminders, waiting threads, expiry);
- ``words`` (words.py): the names of states, reasons and durations in the managers' language.

Never imports aiogram: the outbox and the managers' desk are reached through ``bot.services.ports``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.config import EscalationSettings
from bot.domain import Community, Keyboard, MessageContext, Priority
from bot.domain.buttons import ButtonPort
from bot.domain.cases import Case, CaseEvent, PendingReply, ThreadLine
from bot.i18n import Translator
from bot.services.escalation.actions import CaseActions
from bot.services.escalation.base import (
    Actor,
    CardExtension,
    DescribeChat,
    EpochClock,
    Outcome,
    Roles,
    SettingsCache,
)
from bot.services.escalation.cards import CaseCards
from bot.services.escalation.context import Context
from bot.services.escalation.lifecycle import CaseLifecycle
from bot.services.escalation.opening import CaseOpener, CaseReason
from bot.services.escalation.policy import EscalationPolicy, PolicySettings
from bot.services.escalation.reports import Reports
from bot.services.escalation.settings import EscalationConfig
from bot.services.escalation.sla import SlaCheck
from bot.services.escalation.thread import Embedder, ThreadEscalation
from bot.services.escalation.tuning import Tuning
from bot.services.escalation.words import Words
from bot.services.ports import Desk, Sender
from bot.storage.cases import CaseRepository
from bot.storage.communities import CommunityRepository
from bot.storage.messages import MessageRepository
from bot.timeutil import epoch_now

log = logging.getLogger(__name__)


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
        self.managers_chat_id = managers_chat_id
        self.t = Translator(locale)
        self.config = EscalationConfig(settings, clock=clock, describe_chat=describe_chat)
        self.words = Words(self.t)
        ctx = Context(self.config, cases, messages, communities, outbox, desk, self.words, clock)
        self._outbox = outbox
        # Cards wait for the managers' chat's rate limit (20 a minute): on a member's message they are sent in
        # the background, so the FAQ answer and the next updates never wait behind them.
        self.cards = CaseCards(ctx, buttons=buttons, cards_in_background=cards_in_background)
        self.opener = CaseOpener(ctx, roles, self.cards)
        # The thread policy: encoder signals (embed: the FAQ's multilingual encoder) and waiting threads.
        self.thread = ThreadEscalation(ctx, self.opener, bot_id=bot_id, embed=embed)
        self.lifecycle = CaseLifecycle(
            ctx,
            self.opener,
            self.thread,
            self.cards,
            policy or EscalationPolicy(),
            bot_id=bot_id,
            managers_chat_id=managers_chat_id,
        )
        self.tuning = Tuning(ctx, settings_cache=settings_cache)
        self.actions = CaseActions(ctx, self.cards, self.tuning)
        self.reports = Reports(ctx, self.thread)
        self.sla = SlaCheck(ctx, self.cards, self.thread)

    # ------------------------------------------------------------------ settings

    @property
    def settings(self) -> EscalationSettings:
        return self.config.settings

    @settings.setter
    def settings(self, settings: EscalationSettings) -> None:
        self.config.settings = settings

    @property
    def describe_chat(self) -> DescribeChat | None:
        return self.config.describe_chat

    @describe_chat.setter
    def describe_chat(self, describe: DescribeChat | None) -> None:
        self.config.describe_chat = describe

    def policy_settings(self, community: Community | None) -> PolicySettings:
        return self.config.policy_settings(community)

    async def set_community_setting(self, chat_id: int, key: str, raw: str, actor: Actor) -> Outcome:
        return await self.tuning.set_community_setting(chat_id, key, raw, actor)

    async def store_setting(self, chat_id: int, key: str, old: Any, new: Any, actor: Actor) -> None:
        """Another feature's community setting (moderation.*): stored, cache dropped, in the tuning log."""
        await self.tuning.store(chat_id, {key: (old, new)}, actor=actor.user_id, reason=f"set by {actor.name}")

    async def settings_text(self, chat_id: int) -> str:
        return await self.reports.settings_text(chat_id)

    # ------------------------------------------------------------------ messages and opening

    async def on_message(self, ctx: MessageContext) -> None:
        await self.lifecycle.on_message(ctx)

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
        moderation action), under the thread's lock: a thread never gets a second card while its case is
        active. ``live`` opens a live case whatever the observe mode; ``before_card`` runs before the card
        is drawn.
        """
        return await self.lifecycle.in_thread(
            chat_id,
            thread_key,
            lambda: self.opener.open_or_join(
                chat_id=chat_id,
                thread_key=thread_key,
                topic_id=topic_id,
                reason=reason,
                last_message_id=last_message_id,
                at=at,
                live=live,
                before_card=before_card,
            ),
        )

    # ------------------------------------------------------------------ cards

    @property
    def card_extensions(self) -> list[CardExtension]:
        return self.cards.extensions

    async def card_work(self, work: Awaitable[None]) -> None:
        await self.cards.card_work(work)

    @property
    def cards_pending(self) -> int:
        return self.cards.pending

    async def cards_settled(self) -> None:
        """Wait until no card work is queued (tests and the CLI; the bot itself never waits)."""
        await self.cards.settled()

    async def close(self, timeout: float = 10.0) -> None:
        """Let queued card work finish (the outbox is still open), then cancel what is left."""
        await self.cards.close(timeout)

    async def render(self, case: Case, community: Community | None = None) -> tuple[str, Keyboard | None]:
        return await self.cards.render(case, community)

    async def refresh(self, case_id: int) -> None:
        await self.cards.refresh(case_id)

    async def show(self, case_id: int, chat_id: int, thread_id: int | None = None) -> Outcome:
        return await self.cards.show(case_id, chat_id, thread_id)

    async def reply(self, chat_id: int, text: str, *, thread_id: int | None, reply_to: int | None) -> None:
        """An answer to a command in the managers' chat or a group (logged when it cannot be sent)."""
        delivery = await self._outbox.send_message(
            chat_id, text, thread_id=thread_id, reply_to=reply_to, priority=Priority.REPLY
        )
        if not delivery.ok:
            log.warning("could not reply in %s: %s", chat_id, delivery.error)

    # ------------------------------------------------------------------ actions

    async def case(self, case_id: int) -> Case | None:
        return await self.actions.case(case_id)

    async def why(self, case_id: int) -> Outcome:
        return await self.actions.why(case_id)

    async def take(self, case_id: int, actor: Actor) -> Outcome:
        return await self.actions.take(case_id, actor)

    async def begin_reply(self, case_id: int, actor: Actor, chat_id: int) -> Outcome:
        return await self.actions.begin_reply(case_id, actor, chat_id)

    async def pending_reply(self, user_id: int, chat_id: int) -> PendingReply | None:
        return await self.actions.pending_reply(user_id, chat_id)

    async def cancel_reply(self, user_id: int, chat_id: int) -> bool:
        return await self.actions.cancel_reply(user_id, chat_id)

    async def submit_reply(self, actor: Actor, chat_id: int, html_text: str) -> Outcome:
        return await self.actions.submit_reply(actor, chat_id, html_text)

    async def resolve(self, case_id: int, actor: Actor) -> Outcome:
        return await self.actions.resolve(case_id, actor)

    async def dismiss(self, case_id: int, actor: Actor) -> Outcome:
        return await self.actions.dismiss(case_id, actor)

    async def snooze(self, case_id: int, actor: Actor) -> Outcome:
        return await self.actions.snooze(case_id, actor)

    # ------------------------------------------------------------------ reports and timed work

    async def queue(self) -> list[tuple[Case, int]]:
        return await self.reports.queue()

    async def queue_text(self, limit: int = 30) -> str:
        return await self.reports.queue_text(limit)

    async def shadow_report(self, days: int = 7) -> str:
        return await self.reports.shadow_report(days)

    async def tick(self) -> None:
        """Run by the scheduler every ``check_seconds`` (see :class:`SlaCheck`)."""
        await self.sla.tick()

    def duration(self, seconds: float) -> str:
        return self.words.duration(seconds)

    # ------------------------------------------------------------------ the dashboard (bot/dashboard)

    async def thread_lines(self, case: Case, limit: int = 50) -> list[ThreadLine]:
        """The case's thread, oldest first, each message with its sentiment."""
        return await self.actions.cases.thread_lines(case.chat_id, case.thread_key, limit=limit)

    async def timeline(self, case_id: int) -> list[CaseEvent]:
        """What happened to the case, oldest first (opened, taken, answered, snoozed, closed …)."""
        return await self.actions.cases.events(case_id)

    async def sla_due_at(self, case: Case) -> int:
        """When the first answer is due (epoch seconds), by the community's SLA setting."""
        return case.opened_at + self.config.sla_seconds(await self.actions.communities.get(case.chat_id))

    async def reply_now(self, case_id: int, actor: Actor, html_text: str) -> Outcome:
        """Reply where the answer comes with the press (the dashboard): the same begin and submit as the card's
        Reply, on the actor's own pending slot for the dashboard (chat 0, which no Telegram chat has)."""
        begun = await self.actions.begin_reply(case_id, actor, DASHBOARD_CHAT)
        if not begun.ok:
            return begun
        return await self.actions.submit_reply(actor, DASHBOARD_CHAT, html_text)


DASHBOARD_CHAT = 0  # the pending-reply slot of an answer written in the dashboard
