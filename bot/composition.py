"""The one composition root of Steward's services, shared by every front-end.

:class:`bot.app.Steward` (the Telegram bot) and the command line (:mod:`bot.cli`) both call
:func:`build_services`: the same repositories and services, wired the same way, each receiving its
collaborators through its constructor. What a front-end supplies is what it talks to: the Telegram side
(:class:`TelegramPorts`: the bot's outbox and desk, or the command line's offline ones) and a
:class:`FrontEnd` that says which of the bot's running concerns apply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings
from bot.domain.faq import GLOBAL
from bot.services.access import AccessService
from bot.services.cas import CasClient
from bot.services.community import CommunityCache, CommunityService
from bot.services.community_settings import CommunitySettingsService
from bot.services.dashboard import DashboardService
from bot.services.dashboard_auth import DashboardAuth
from bot.services.escalation import EscalationService
from bot.services.faq import FaqService
from bot.services.feeds import FeedService
from bot.services.gate import GateService
from bot.services.growth import GrowthService, InviteLinkMaker
from bot.services.inference import Classifier, SentimentService
from bot.services.languages import LanguageTracker
from bot.services.moderation import ModerationService
from bot.services.moderation_types import ModerationApi
from bot.services.ports import Desk, Sender
from bot.services.posts import PostService
from bot.services.questions import is_question
from bot.services.raids import RaidMode
from bot.services.retention import Retention
from bot.services.roles import AdminFetcher, RoleService
from bot.services.spam import Scorer, SpamMemory, SpamService
from bot.services.stats import StatsService
from bot.storage.cases import CaseRepository
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.faq import FaqRepository
from bot.storage.feeds import FeedRepository
from bot.storage.growth import GrowthRepository
from bot.storage.members import ManagerRepository, MemberRepository, StateRepository
from bot.storage.messages import MessageRepository
from bot.storage.moderation import ModerationRepository
from bot.storage.posts import PostRepository
from handlers.callbacks import BUTTONS

log = logging.getLogger(__name__)

ClassifierLoader = Callable[[], Classifier]
EncoderLoader = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class TelegramPorts:
    """What the services need from Telegram, in the services' own port types."""

    bot_id: int | None
    sender: Sender  # every outbound message (bot.telegram.outbox.Outbox in the bot)
    make_desk: Callable[[ManagerRepository], Desk]  # the managers' destination
    moderation_api: ModerationApi
    fetch_admins: AdminFetcher
    describe_chat: Callable[[int], Awaitable[str | None]]
    make_invite_link: InviteLinkMaker | None


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """What differs between the running bot and the operator's command line."""

    timers: bool  # posts and feeds arm the scheduler
    quotas: bool  # the per-community quotas bound what group admins do through Telegram; not the operator
    faq_adapters: bool  # the bot trains and stores knowledge-base adapters and the English view
    locale: str | None  # the services' texts: None for the configured community language


@dataclass(frozen=True, slots=True)
class Loaders:
    """Model loaders a test brings instead of the configured models (None: the configured one)."""

    classifier: ClassifierLoader | None = None
    faq_encoder: EncoderLoader | None = None


BOT = FrontEnd(timers=True, quotas=True, faq_adapters=True, locale=None)
# The command line imports, exports and reports; it prints English, as the rest of its output.
COMMAND_LINE = FrontEnd(timers=False, quotas=False, faq_adapters=False, locale="en")


def default_classifier_loader(settings: Settings) -> ClassifierLoader:
    name = settings.sentiment.model

    def load() -> Classifier:
        from models import sentiment
        from models._runtime import limit_torch_threads

        limit_torch_threads()
        return sentiment.load_default() if name == "default" else sentiment.load(name)

    return load


def default_spam_loader(settings: Settings) -> Callable[[], Scorer]:
    def load() -> Scorer:
        from models.spam_lexical import DEFAULT_PATH, SpamModel

        return SpamModel.load(settings.moderation.model_path or DEFAULT_PATH)

    return load


def faq_adapter_dir(settings: Settings) -> Path | None:
    """Knowledge-base adapters live next to the database (none for an in-memory database)."""
    path = settings.database.path
    return None if str(path) == ":memory:" else path.parent / "faq-adapters"


def default_faq_encoder_loader(settings: Settings) -> EncoderLoader:
    def load() -> Any:
        from bot.services.faq import load_encoder
        from models._runtime import limit_torch_threads

        limit_torch_threads()
        return load_encoder(settings.faq.encoder)

    return load


def default_faq_english_loader(settings: Settings) -> EncoderLoader | None:
    """The English encoder of the adapted English view, or None when it is off."""
    name = settings.faq.english_encoder
    if not (settings.faq.adapt and name) or name.lower() == settings.faq.encoder.lower():
        return None

    def load() -> Any:
        from bot.services.faq import load_encoder

        return load_encoder(name)

    return load


class Services:
    """Every repository and service, built in one place (through :func:`build_services`)."""

    def __init__(
        self, settings: Settings, telegram: TelegramPorts, *, front_end: FrontEnd = BOT, loaders: Loaders | None = None
    ) -> None:
        classifier_loader, faq_encoder_loader = (loaders.classifier, loaders.faq_encoder) if loaders else (None, None)
        self.settings = settings
        self.telegram = telegram
        locale = front_end.locale or settings.community.language
        quotas = settings.quotas if front_end.quotas else None
        self.db = Database(settings.database.path)
        self.communities = CommunityRepository(self.db)
        self.messages = MessageRepository(self.db)
        self.members = MemberRepository(self.db)
        self.managers = ManagerRepository(self.db)
        self.state = StateRepository(self.db)
        self.roles = RoleService(
            settings.manager_ids,
            telegram.fetch_admins,
            ttl_s=settings.community.admin_cache_ttl_s,
            max_stale_s=settings.community.admin_cache_max_stale_s,
        )
        self.sentiment: SentimentService | None = None
        if settings.sentiment.enabled:
            self.sentiment = SentimentService(
                classifier_loader or default_classifier_loader(settings),
                max_batch=settings.sentiment.max_batch,
                max_wait_ms=settings.sentiment.max_wait_ms,
                max_queue=settings.sentiment.queue_size,
            )
        self.desk = telegram.make_desk(self.managers)
        # Every service that changes a community's settings drops its row from this one cache.
        self.community_cache = CommunityCache()
        self.languages = LanguageTracker(
            self.communities,
            self.state,
            self.desk.post,
            model=settings.sentiment.model,
            managers_locale=locale,
            on_change=self.community_cache.invalidate,
        )
        self.cases = CaseRepository(self.db)
        self.escalation = self._escalation(locale, thread_policy=faq_encoder_loader is None)
        # Reports, card actions and spam checks; spam runs before escalation and the FAQ see a message.
        self.moderation_repo = ModerationRepository(self.db)
        self.spam_memory = SpamMemory(self.moderation_repo, default_spam_loader(settings))
        self.raids = RaidMode()
        self.moderation = ModerationService(
            settings.moderation,
            self.moderation_repo,
            self.messages,
            self.communities,
            self.roles,
            telegram.sender,
            telegram.moderation_api,
            self.escalation,
            bot_id=telegram.bot_id,
            locale=locale,
            buttons=BUTTONS,
            learner=self.spam_memory,
            raids=self.raids,
        )
        self.spam = SpamService(
            settings.moderation,
            self.moderation,
            self.moderation_repo,
            self.spam_memory,
            managers_chat_id=settings.managers.chat_id,
            cas=CasClient(settings.moderation.cas_url, timeout_s=settings.moderation.cas_timeout_s)
            if settings.moderation.cas
            else None,
        )
        self.gate = GateService(
            settings.moderation, self.moderation, self.moderation_repo, self.desk, buttons=BUTTONS, raids=self.raids
        )
        self.faq_repo = FaqRepository(self.db)
        self.faq = FaqService(
            self.faq_repo,
            settings.faq,
            sender=telegram.sender,
            buttons=BUTTONS,
            roles=self.roles,
            messages=self.messages,
            encoder_loader=faq_encoder_loader or default_faq_encoder_loader(settings),
            # A test that brings its own encoder does not get the real English one behind its back.
            english_loader=None
            if faq_encoder_loader or not front_end.faq_adapters
            else default_faq_english_loader(settings),
            adapter_dir=faq_adapter_dir(settings) if front_end.faq_adapters else None,
            max_entries=quotas.faq_entries if quotas else None,
        )
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # Scheduled posts: our table is the schedule, self.scheduler only the timer.
        self.posts = PostService(
            PostRepository(self.db),
            self.communities,
            telegram.sender,
            self.desk,
            self.scheduler if settings.scheduler.enabled and front_end.timers else None,
            buttons=BUTTONS,
            lateness_s=settings.scheduler.lateness_minutes * 60,
            receipts=settings.managers.receipts,
            default_timezone=settings.community.timezone,
            sync_seconds=settings.scheduler.sync_seconds,
            locale=locale,
            state=self.state,
            max_scheduled=quotas.scheduled_posts if quotas else None,
        )
        # The path of every group message; its listeners run in this order.
        self.community_service = CommunityService(
            self.communities,
            self.messages,
            self.members,
            self.sentiment,
            default_language=settings.community.language,
            default_timezone=settings.community.timezone,
            question_detector=is_question,
            cache=self.community_cache,
            listeners=[self.languages, self.spam, self.moderation, self.escalation, self.faq, self.posts],
        )
        # Every front-end changes a community's settings through this one service (it clears the cache).
        self.community_settings = CommunitySettingsService(self.communities, self.community_cache)
        # Growth: joins, welcomes, invite campaigns; reports (/stats, weekly digest).
        self.growth = GrowthService(
            GrowthRepository(self.db),
            self.members,
            self.community_service,
            telegram.sender,
            settings.growth,
            make_invite_link=telegram.make_invite_link,
        )
        self.stats = StatsService(self.db, self.communities, telegram.sender, self.desk, self.state)
        # News feeds: drafts for the managers, approved items become posts.
        feeds_on = settings.scheduler.enabled and settings.scheduler.feeds_enabled and front_end.timers
        self.feeds = FeedService(
            FeedRepository(self.db),
            self.communities,
            self.posts,
            self.desk,
            settings.scheduler,
            buttons=BUTTONS,
            embed=self.faq.encode_questions if settings.scheduler.encoder != "off" else None,
            topic_texts=self._faq_questions,
            locale=locale,
            scheduler=self.scheduler if feeds_on else None,
            max_feeds=quotas.feeds if quotas else None,
        )
        self.access = AccessService(
            self.communities,
            settings.access,
            manager_ids=settings.manager_ids,
            managers_chat_id=settings.managers.chat_id,
        )
        self.retention = Retention(self.messages, self.faq_repo, settings.database.retain_days)
        # The managers' dashboard (bot/dashboard): its sign-in, and what it may show each person.
        self.dashboard_auth = DashboardAuth(
            settings.require_token,
            self.state,
            init_data_max_age_s=settings.dashboard.init_data_max_age_s,
            session_s=settings.dashboard.session_hours * 3600,
            base_url=settings.dashboard.base_url(),
        )
        self.dashboard = DashboardService(
            self.roles, self.communities, self.escalation, self.dashboard_auth, self.community_settings, self.faq
        )

    def _escalation(self, locale: str, *, thread_policy: bool) -> EscalationService:
        """``thread_policy``: the FAQ runs its own multilingual-e5 loader (not a stand-in), so the thread
        judgment can read messages with it; otherwise the message rules apply."""
        from models.encoder import E5_NAMES

        return EscalationService(
            self.settings.escalation,
            self.cases,
            self.messages,
            self.communities,
            self.roles,
            self.telegram.sender,
            self.desk,
            bot_id=self.telegram.bot_id,
            managers_chat_id=self.settings.managers.chat_id,
            locale=locale,
            buttons=BUTTONS,
            settings_cache=self.community_cache,
            describe_chat=self.telegram.describe_chat,
            embed=self._embed_for_escalation
            if thread_policy and (self.settings.faq.encoder.lower() in E5_NAMES | {"default"})
            else None,
            cards_in_background=True,
        )

    async def _embed_for_escalation(self, texts: list[str], cheap: bool) -> Any:
        """The thread policy's message vectors: the FAQ's multilingual encoder (None until it is loaded)."""
        return await self.faq.embed_plain(texts, cheap)

    async def _faq_questions(self, chat_id: int) -> list[str]:
        """The community's FAQ questions (and the global ones): what news relevance is measured against."""
        entries = await self.faq_repo.list_entries([chat_id, GLOBAL], enabled_only=True)
        return [question for entry in entries for question in entry.questions]


def build_services(
    settings: Settings, telegram: TelegramPorts, *, front_end: FrontEnd = BOT, loaders: Loaders | None = None
) -> Services:
    """Steward's services for one front-end (none started: ``services.db.open()`` and each one's ``start``)."""
    return Services(settings, telegram, front_end=front_end, loaders=loaders)
