"""What the managers' dashboard (bot/dashboard) may show and do for one person, over the bot's own services.

No business logic of its own: the queue and every action are the :class:`EscalationService`'s (the same calls
the Telegram buttons make, so the Telegram card is edited), and every read and write first asks
:meth:`RoleService.can_manage` about the community the object belongs to. Managers see every community; a
group's admin sees that group only. A refusal and an object that does not exist look the same (None), so a
guessed id tells nothing.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import Community
from bot.domain.cases import Case, CaseEvent, ThreadLine
from bot.domain.faq import StoredEntry
from bot.services.community_settings import SPECS, TIMEZONE, CommunitySettingsService, SettingChange, SettingSpec
from bot.services.dashboard_auth import DashboardAuth
from bot.services.escalation import EscalationService
from bot.services.escalation.base import Actor, Outcome
from bot.services.faq import FaqService
from bot.services.roles import RoleService
from bot.storage.communities import CommunityRepository

MAX_REPLY_CHARS = 4000


class CaseAction(StrEnum):
    TAKE = "take"
    REPLY = "reply"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    SNOOZE = "snooze"


STATUSES = ("open", "taken", "answered", "snoozed")
# The settings page's keys, in its order (all validated by CommunitySettingsService).
SETTING_KEYS = (
    "faq.mode",
    "faq.answer_threshold",
    "faq.suggest_threshold",
    "faq.margin",
    "growth.welcome_enabled",
    "growth.welcome_text",
    "managers.receipts",
    TIMEZONE,
)


@dataclass(frozen=True, slots=True)
class SettingRow:
    key: str
    spec: SettingSpec
    value: object  # as stored; None: the config file's default


@dataclass(frozen=True, slots=True)
class SettingsView:
    community: Community
    rows: list[SettingRow]


@dataclass(frozen=True, slots=True)
class QueueItem:
    case: Case
    priority: int
    community_title: str


@dataclass(frozen=True, slots=True)
class CaseView:
    case: Case
    community_title: str
    thread: list[ThreadLine]
    timeline: list[CaseEvent]
    sla_due_at: int
    answered_in_time: bool | None  # None: not answered yet


@dataclass(frozen=True, slots=True)
class SignIn:
    link: str  # single-use, 10 minutes
    mini_app: str | None  # the Mini App's address for a web_app button (Telegram wants https)


@dataclass(frozen=True, slots=True)
class FaqView:
    community: Community
    entries: list[tuple[StoredEntry, tuple[int, int] | None]]  # with (helpful, unhelpful) votes


@dataclass(frozen=True, slots=True)
class FaqTry:
    text: str
    band: str  # answer, suggest or abstain
    candidates: list[tuple[float, float, float, StoredEntry | None]]  # score, semantic, lexical, entry


class DashboardService:
    def __init__(
        self,
        roles: RoleService,
        communities: CommunityRepository,
        escalation: EscalationService,
        auth: DashboardAuth,
        settings: CommunitySettingsService,
        faq: FaqService,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.roles = roles
        self.communities = communities
        self.escalation = escalation
        self.auth = auth
        self.settings = settings
        self.faq = faq
        self._clock = clock

    async def sign_in_link(self, user_id: int, lang: str | None = None) -> SignIn | None:
        """/dashboard and ``steward dashboard-link``: a sign-in link for someone who manages at least one
        community (a manager, or a group's admin); None for anyone else."""
        if not self.roles.is_manager(user_id) and not await self.communities_for(user_id):
            return None
        url = self.auth.mini_app_url()
        return SignIn(self.auth.sign_in_url(user_id, lang), url if url.startswith("https://") else None)

    async def may_manage(self, user_id: int, community_id: int) -> bool:
        return await self.roles.can_manage(community_id, user_id)

    async def communities_for(self, user_id: int) -> list[Community]:
        """The communities ``user_id`` may manage (every one for a manager), by title."""
        found = [c for c in await self.communities.list() if await self.roles.can_manage(c.chat_id, user_id)]
        return sorted(found, key=lambda c: c.title.lower())

    async def queue(
        self, user_id: int, *, community_id: int | None = None, status: str | None = None
    ) -> list[QueueItem]:
        """Open live cases the user may manage, most urgent first (then the oldest), as /queue orders them."""
        titles = {c.chat_id: c.title for c in await self.communities_for(user_id)}
        out = []
        for case, priority in await self.escalation.queue():
            if case.chat_id not in titles or (community_id is not None and case.chat_id != community_id):
                continue
            if status and case.state != status:
                continue
            out.append(QueueItem(case, priority, titles[case.chat_id]))
        return out

    async def _allowed_case(self, user_id: int, case_id: int) -> Case | None:
        case = await self.escalation.case(case_id)
        if case is None or not await self.roles.can_manage(case.chat_id, user_id):
            return None
        return case

    async def case_view(self, user_id: int, case_id: int) -> CaseView | None:
        case = await self._allowed_case(user_id, case_id)
        if case is None:
            return None
        community = await self.communities.get(case.chat_id)
        due = await self.escalation.sla_due_at(case)
        in_time = None if case.first_response_at is None else case.first_response_at <= due
        return CaseView(
            case,
            community.title if community is not None else str(case.chat_id),
            await self.escalation.thread_lines(case),
            await self.escalation.timeline(case.id),
            due,
            in_time,
        )

    async def act(self, user_id: int, name: str, case_id: int, action: CaseAction, text: str = "") -> Outcome | None:
        """One action on a case, through the same EscalationService call as the card's button; None: refused
        (no such case, or not the user's to manage)."""
        if await self._allowed_case(user_id, case_id) is None:
            return None
        actor = Actor(user_id, name)
        esc = self.escalation
        if action is CaseAction.TAKE:
            return await esc.take(case_id, actor)
        if action is CaseAction.RESOLVE:
            return await esc.resolve(case_id, actor)
        if action is CaseAction.DISMISS:
            return await esc.dismiss(case_id, actor)
        if action is CaseAction.SNOOZE:
            return await esc.snooze(case_id, actor)
        text = text.strip()
        if not text:
            return Outcome(False, esc.t("Write the answer first."))
        if len(text) > MAX_REPLY_CHARS:
            return Outcome(False, esc.t("The answer is too long (at most {n} characters).").format(n=MAX_REPLY_CHARS))
        # The dashboard's text is plain: escaped into the HTML the outbox sends.
        return await esc.reply_now(case_id, actor, html.escape(text, quote=False))

    # ------------------------------------------------------------------ settings

    async def settings_view(self, user_id: int, community_id: int) -> SettingsView | None:
        """The community's settings page; None when it is unknown or not the user's to manage."""
        if not await self.roles.can_manage(community_id, user_id):
            return None
        community = await self.settings.get(community_id)
        if community is None:
            return None
        rows = [
            SettingRow(key, SPECS[key], community.timezone if key == TIMEZONE else community.settings.get(key))
            for key in SETTING_KEYS
        ]
        return SettingsView(community, rows)

    async def change_setting(self, user_id: int, community_id: int, key: str, value: object) -> SettingChange | None:
        """One setting changed through CommunitySettingsService (which validates it and explains a refusal);
        None when the community is not the user's to manage. Only the settings page's keys."""
        if key not in SETTING_KEYS or not await self.roles.can_manage(community_id, user_id):
            return None
        return await self.settings.set(community_id, key, value)

    # ------------------------------------------------------------------ knowledge base

    async def _community(self, user_id: int, community_id: int) -> Community | None:
        if not await self.roles.can_manage(community_id, user_id):
            return None
        return await self.communities.get(community_id)

    async def faq_view(self, user_id: int, community_id: int) -> FaqView | None:
        community = await self._community(user_id, community_id)
        if community is None:
            return None
        own = [(e, v) for e, v in await self.faq.entries_with_votes(community_id) if e.chat_id == community_id]
        return FaqView(community, own)

    async def faq_add(self, user_id: int, community_id: int, questions: list[str], answer: str) -> str | None:
        """A new entry of the community ("" when saved, else why not); None: not the user's community."""
        if await self._community(user_id, community_id) is None:
            return None
        if (left := await self.faq.entries_left(community_id)) is not None and left <= 0:
            return "this community has as many entries as its quota allows"
        try:
            await self.faq.add_entry(community_id, questions, answer, created_by=user_id)
        except ValueError as exc:
            return str(exc)
        return ""

    async def faq_delete(self, user_id: int, community_id: int, entry_id: int) -> bool | None:
        """Delete one of the community's own entries; None: not the user's community or not its entry."""
        if await self._community(user_id, community_id) is None:
            return None
        if await self.faq.entry_of(community_id, entry_id, global_too=False) is None:
            return None
        return await self.faq.delete(entry_id)

    async def faq_try(self, user_id: int, community_id: int, text: str) -> FaqTry | None:
        """What the bot would do with ``text`` in the community, and the top entries with their scores."""
        community = await self._community(user_id, community_id)
        if community is None:
            return None
        match = await self.faq.try_question(community, text)
        entries = {e.id: e for e, _votes in await self.faq.entries_with_votes(community_id)}
        rows = [(c.score, c.semantic, c.lexical, entries.get(c.entry_id)) for c in match.candidates]
        return FaqTry(text, match.band, rows)
