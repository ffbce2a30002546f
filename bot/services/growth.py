"""Growth: joins and leaves, welcomes (raid-aware), invite campaigns.

Joins arrive from ``chat_member`` updates (the bot is an admin) and, as a fallback, from
``new_chat_members`` service messages. When both arrive, the storage keeps one join (the
chat_member report completes the row with the invite link), and only the first report
welcomes.

Welcomes: up to ``raid_joins_per_minute`` joins a minute are welcomed one by one. Beyond
that the chat is in a raid: joiners are collected for ``raid_batch_seconds`` and welcomed in
one message ("Welcome, A, B, C and 14 others!"), so a spike costs one message per batch
instead of one per member and the outbox stays far below Telegram's 20 messages a minute.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from bot.domain import Author, Button, ChatInfo, Community, Delivery, Keyboard, Priority
from bot.domain.growth import Campaign, CampaignFigures
from bot.i18n import Translator
from bot.services.ports import Sender
from bot.services.settings import community_setting
from bot.storage.growth import GrowthRepository
from bot.storage.members import MemberRepository
from bot.textsafety import compile_pattern
from bot.timeutil import epoch_now

if TYPE_CHECKING:
    from bot.config import GrowthSettings
    from bot.services.community import CommunityService

log = logging.getLogger(__name__)

CAMPAIGN_NAME = compile_pattern(r"^[\pL\pN_.\- ]{1,32}$", name="growth.campaign_name")
PLACEHOLDER = compile_pattern(r"\{(name|chat)\}", name="growth.placeholder")


# createChatInviteLink(chat_id, name) -> the link; raises InviteLinkError with words for a human.
InviteLinkMaker = Callable[[int, str], Awaitable[str]]


class InviteLinkError(Exception):
    """Telegram refused to make the link. ``no_rights``: the bot lacks the invite right."""

    def __init__(self, detail: str, *, no_rights: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.no_rights = no_rights


class CampaignError(ValueError):
    """A campaign that cannot be made. ``code``: "bad_name" or "unavailable"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Joiner:
    user_id: int
    name: str
    event_id: int


class WelcomeSettings(NamedTuple):
    enabled: bool
    delete_minutes: int
    rules_url: str


@dataclass
class _ChatWelcomes:
    arrivals: deque[float] = field(default_factory=deque)
    batch: list[Joiner] | None = None
    flush: asyncio.Task[None] | None = None


def mention(user_id: int, name: str) -> str:
    return f'<a href="tg://user?id={int(user_id)}">{html.escape(name or str(user_id))}</a>'


def render_template(template_html: str, *, name_html: str, chat_html: str) -> str:
    """Fill {name} and {chat} in an HTML template; other braces stay as they are."""
    values = {"name": name_html, "chat": chat_html}
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template_html)


def names_list(joiners: list[Joiner], t: Translator, *, shown: int) -> str:
    """ "A", "A and B", "A, B and C", or "A, B, C and 14 others" (HTML)."""
    names = [mention(j.user_id, j.name) for j in joiners]
    if len(names) == 1:
        return names[0]
    if len(names) <= shown + 1:  # "and 1 other" would hide a name for nothing
        return t("{names} and {last}", names=", ".join(names[:-1]), last=names[-1])
    rest = len(names) - shown
    return t.plural("{names} and {n} other", "{names} and {n} others", rest, names=", ".join(names[:shown]))


class GrowthService:
    def __init__(
        self,
        repo: GrowthRepository,
        members: MemberRepository,
        community_service: CommunityService,
        outbox: Sender,
        settings: GrowthSettings,
        *,
        make_invite_link: InviteLinkMaker | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], int] = epoch_now,
    ) -> None:
        self.repo = repo
        self.members = members
        self.community_service = community_service
        self.outbox = outbox
        self.settings = settings
        self.make_invite_link = make_invite_link
        self._monotonic = monotonic
        self._now = now
        self._chats: dict[int, _ChatWelcomes] = {}
        self._closing = False

    # --- joins and leaves ------------------------------------------------------------

    async def on_join(
        self,
        chat: ChatInfo,
        user: Author,
        at: int,
        *,
        source: str,
        invite_link: str | None = None,
        via: str | None = None,
    ) -> bool:
        """Record a join (once, whichever report comes first) and welcome it. Returns whether
        this report was the first one for that join."""
        if user.is_bot:
            return False
        community = await self.community_service.community_for(chat)
        recorded = await self.repo.record_join(
            chat.chat_id, user.user_id, at, source=source, invite_link=invite_link, via=via
        )
        await self.members.set_status(chat.chat_id, user, "member", at, invite_link=invite_link)
        if recorded.campaign is not None:
            log.info("join in %s through campaign %r", chat.chat_id, recorded.campaign.name)
        if not recorded.is_new:
            return False
        if self._should_welcome(community, at):
            await self._welcome(community, Joiner(user.user_id, user.display_name, recorded.event_id))
        return True

    async def on_leave(self, chat: ChatInfo, user: Author, at: int, *, source: str, status: str = "left") -> bool:
        if user.is_bot:
            return False
        await self.community_service.community_for(chat)
        recorded = await self.repo.record_leave(chat.chat_id, user.user_id, at, source=source)
        await self.members.set_status(chat.chat_id, user, status, at)
        return recorded.is_new

    # --- welcomes --------------------------------------------------------------------

    def _should_welcome(self, community: Community, at: int) -> bool:
        if self._closing or not community.is_active:
            return False
        if not community_setting(community, "growth.welcome_enabled", self.settings.welcome_enabled):
            return False
        max_age = self.settings.welcome_max_age_minutes * 60
        if self._now() - at > max_age:
            log.info("join in %s is %ss old: counted, not welcomed", community.chat_id, self._now() - at)
            return False
        return True

    async def _welcome(self, community: Community, joiner: Joiner) -> None:
        state = self._chats.setdefault(community.chat_id, _ChatWelcomes())
        now = self._monotonic()
        state.arrivals.append(now)
        while state.arrivals and state.arrivals[0] <= now - 60.0:
            state.arrivals.popleft()
        if state.batch is not None:
            state.batch.append(joiner)
            return
        threshold = community_setting(community, "growth.raid_joins_per_minute", self.settings.raid_joins_per_minute)
        if len(state.arrivals) > max(1, threshold):
            log.info("join spike in %s: batching welcomes", community.chat_id)
            state.batch = [joiner]
            state.flush = asyncio.create_task(self._flush_later(community.chat_id), name="steward-welcome-batch")
            return
        await self.send_welcome(community, [joiner])

    async def _flush_later(self, chat_id: int) -> None:
        try:
            await asyncio.sleep(self.settings.raid_batch_seconds)
        except asyncio.CancelledError:
            return
        await self._flush(chat_id)

    async def _flush(self, chat_id: int) -> None:
        state = self._chats.get(chat_id)
        if state is None or not state.batch:
            return
        joiners, state.batch, state.flush = state.batch, None, None
        community = await self.community_service.communities.get(chat_id)
        if community is None or not community.is_active:
            return
        try:
            await self.send_welcome(community, joiners)
        except Exception:
            log.exception("batched welcome in %s failed", chat_id)

    def welcome_text(self, community: Community, joiners: list[Joiner]) -> str:
        t = Translator(community.language)
        template = community_setting(community, "growth.welcome_text", self.settings.welcome_text).strip()
        if not template:
            template = html.escape(t("Welcome, {name}! Glad to have you in {chat}."), quote=False)
        shown = self.settings.batch_names
        return render_template(
            template,
            name_html=names_list(joiners, t, shown=shown),
            chat_html=html.escape(community.title),
        )

    def welcome_settings(self, community: Community) -> WelcomeSettings:
        """This community's welcome: its own choices, else the config's."""
        s = self.settings
        return WelcomeSettings(
            community_setting(community, "growth.welcome_enabled", s.welcome_enabled),
            community_setting(community, "growth.welcome_delete_minutes", s.welcome_delete_minutes),
            community_setting(community, "growth.rules_url", s.rules_url),
        )

    def stats_in_group(self, community: Community) -> bool:
        """Whether /stats answers in the group itself (else in private)."""
        return community_setting(community, "growth.stats_in_group", self.settings.stats_in_group)

    def welcome_keyboard(self, community: Community) -> Keyboard | None:
        url = community_setting(community, "growth.rules_url", self.settings.rules_url).strip()
        if not url:
            return None
        return [[Button(Translator(community.language)("📜 Rules"), url=url)]]

    async def send_welcome(self, community: Community, joiners: list[Joiner]) -> Delivery:
        delivery = await self.outbox.send_message(
            community.chat_id,
            self.welcome_text(community, joiners),
            keyboard=self.welcome_keyboard(community),
            priority=Priority.BULK,
        )
        if not delivery.ok or delivery.message_id is None:
            log.warning("welcome in %s failed: %s", community.chat_id, delivery.error)
            return delivery
        minutes = community_setting(community, "growth.welcome_delete_minutes", self.settings.welcome_delete_minutes)
        sent_at = self._now()
        for message_id in delivery.message_ids:
            await self.repo.add_welcome(
                delivery.chat_id,
                message_id,
                members=len(joiners),
                sent_at=sent_at,
                delete_at=sent_at + minutes * 60 if minutes > 0 else None,
            )
        await self.repo.mark_welcomed([j.event_id for j in joiners])
        return delivery

    async def delete_due(self, now: int | None = None) -> int:
        """Delete welcomes whose time is up; returns how many were handled. Runs every minute."""
        moment = self._now() if now is None else now
        handled = 0
        for record in await self.repo.due_welcomes(moment):
            delivery = await self.outbox.delete(record.chat_id, record.message_id, priority=Priority.BULK)
            if not delivery.ok:
                # Gone already, or no right to delete: either way, stop trying.
                log.info("welcome %s/%s not deleted: %s", record.chat_id, record.message_id, delivery.error)
            await self.repo.welcome_deleted(record.chat_id, record.message_id, moment)
            handled += 1
        return handled

    async def close(self) -> None:
        """Send the batches still collecting, then stop welcoming."""
        self._closing = True
        for chat_id, state in list(self._chats.items()):
            if state.flush is not None:
                state.flush.cancel()
            if state.batch:
                await self._flush(chat_id)

    # --- campaigns -------------------------------------------------------------------

    async def create_campaign(self, chat_id: int, name: str, *, created_by: int | None) -> tuple[Campaign, bool]:
        """A named invite link for ``chat_id``. Returns (campaign, created); an existing
        campaign of that name is returned as it is."""
        name = " ".join(name.split())
        if not CAMPAIGN_NAME.match(name):
            raise CampaignError("bad_name")
        existing = await self.repo.campaign_by_name(chat_id, name)
        if existing is not None:
            return existing, False
        if self.make_invite_link is None:
            raise CampaignError("unavailable")
        link = await self.make_invite_link(chat_id, name)
        campaign = await self.repo.add_campaign(chat_id, name, link, created_by=created_by, at=self._now())
        log.info("campaign %r created in %s by %s", name, chat_id, created_by)
        return campaign, True

    async def campaigns(self, chat_id: int) -> list[CampaignFigures]:
        return await self.repo.campaigns(chat_id)
