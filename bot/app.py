"""Composition root: builds the same bot, services and dispatcher for production and tests.

Start order: database → model → outbox → scheduler → dispatcher. Stop is the reverse, after
the updates already being handled have finished.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.strategy import FSMStrategy
from aiogram.types import Update
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings
from bot.domain import ChatInfo
from bot.services.access import AccessService
from bot.services.cas import CasClient
from bot.services.community import CommunityService
from bot.services.community_settings import CommunitySettingsService
from bot.services.escalation import EscalationService
from bot.services.faq import FaqService
from bot.services.feeds import FeedService
from bot.services.gate import GateService
from bot.services.growth import GrowthService
from bot.services.inference import Classifier, SentimentService
from bot.services.languages import LanguageTracker
from bot.services.ledger import UpdateLedger
from bot.services.moderation import ModerationService
from bot.services.posts import PostService
from bot.services.retention import Retention
from bot.services.roles import RoleService
from bot.services.spam import Scorer, SpamService
from bot.services.stats import StatsService, digest_trigger_args
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
from bot.telegram.confirm import CONCURRENCY_LIMIT, ConfirmWhenStored, InFlight
from bot.telegram.fsm import DatabaseStorage
from bot.telegram.invites import invite_link_maker
from bot.telegram.managers import ManagerDesk
from bot.telegram.moderation_api import TelegramModeration
from bot.telegram.outbox import Outbox
from handlers.callbacks import BUTTONS

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "chat_member",
    "message_reaction_count",
    "chat_join_request",
]
ClassifierLoader = Callable[[], Classifier]


def build_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None and settings.telegram.api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    return Bot(
        token=settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True),
    )


def default_classifier_loader(settings: Settings) -> ClassifierLoader:
    name = settings.sentiment.model

    def load() -> Classifier:
        from models import sentiment

        limit_torch_threads()
        return sentiment.load_default() if name == "default" else sentiment.load(name)

    return load


def torch_threads() -> int:
    """Intra-op threads for each model thread: half the cores (1 on a 2-core server).

    The sentiment thread, the FAQ encoder thread, the event loop and SQLite share the machine;
    torch's default (every core per call) oversubscribes it, and OpenMP workers then spin while
    waiting for each other. STEWARD_TORCH_THREADS overrides it.
    """
    configured = os.environ.get("STEWARD_TORCH_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, (os.cpu_count() or 1) // 2)


def limit_torch_threads() -> None:
    """Call on the thread that runs the model (torch keeps the setting per thread)."""
    import torch

    torch.set_num_threads(torch_threads())


def default_spam_loader(settings: Settings) -> Callable[[], Scorer]:
    def load() -> Scorer:
        from models.spam_lexical import DEFAULT_PATH, SpamModel

        return SpamModel.load(settings.moderation.model_path or DEFAULT_PATH)

    return load


def faq_adapter_dir(settings: Settings) -> Path | None:
    """Knowledge-base adapters live next to the database (none for an in-memory database)."""
    path = settings.database.path
    return None if str(path) == ":memory:" else path.parent / "faq-adapters"


def default_faq_encoder_loader(settings: Settings) -> Callable[[], Any]:
    def load() -> Any:
        from bot.services.faq import load_encoder

        limit_torch_threads()
        return load_encoder(settings.faq.encoder)

    return load


def default_faq_english_loader(settings: Settings) -> Callable[[], Any] | None:
    """The English encoder of the adapted English view, or None when it is off."""
    name = settings.faq.english_encoder
    if not (settings.faq.adapt and name) or name.lower() == settings.faq.encoder.lower():
        return None

    def load() -> Any:
        from bot.services.faq import load_encoder

        return load_encoder(name)

    return load


class Steward:
    """Everything the running bot owns, built in one place."""

    def __init__(
        self,
        settings: Settings,
        *,
        bot: Bot | None = None,
        session: BaseSession | None = None,
        classifier_loader: ClassifierLoader | None = None,
        faq_encoder_loader: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.bot = bot if bot is not None else build_bot(settings, session)
        self.db = Database(settings.database.path)
        self.communities = CommunityRepository(self.db)
        self.messages = MessageRepository(self.db)
        self.members = MemberRepository(self.db)
        self.managers = ManagerRepository(self.db)
        self.state = StateRepository(self.db)
        self.roles = RoleService(
            settings.manager_ids,
            self._fetch_admins,
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
        self.community_service = CommunityService(
            self.communities,
            self.messages,
            self.members,
            self.sentiment,
            default_language=settings.community.language,
            default_timezone=settings.community.timezone,
        )
        self.community_settings = CommunitySettingsService(self.communities, self.community_service)
        self.outbox = Outbox(self.bot, on_forbidden=self._on_forbidden, on_migrated=self._on_migrated)
        self.desk = ManagerDesk(
            self.bot,
            self.outbox,
            self.managers,
            manager_ids=settings.manager_ids,
            chat_id=settings.managers.chat_id,
        )
        self.languages = LanguageTracker(
            self.communities,
            self.state,
            self.desk.post,
            model=settings.sentiment.model,
            managers_locale=settings.community.language,
            on_change=self.community_service.invalidate,
        )
        self.community_service.add_listener(self.languages)
        self.cases = CaseRepository(self.db)
        self.escalation = self._build_escalation(thread_policy=faq_encoder_loader is None)
        self.community_service.add_listener(self.escalation)
        self._build_moderation()
        self.faq = self._build_faq(faq_encoder_loader)
        self.community_service.add_listener(self.faq)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # Growth: joins, welcomes, invite campaigns; reports (/stats, weekly digest).
        self.growth = GrowthService(
            GrowthRepository(self.db),
            self.members,
            self.community_service,
            self.outbox,
            settings.growth,
            make_invite_link=invite_link_maker(self.outbox),
        )
        self.stats = StatsService(self.db, self.communities, self.outbox, self.desk, self.state)
        # Scheduled posts: our table is the schedule, self.scheduler only the timer.
        self.posts = PostService(
            PostRepository(self.db),
            self.communities,
            self.outbox,
            self.desk,
            self.scheduler if settings.scheduler.enabled else None,
            buttons=BUTTONS,
            lateness_s=settings.scheduler.lateness_minutes * 60,
            receipts=settings.managers.receipts,
            default_timezone=settings.community.timezone,
            sync_seconds=settings.scheduler.sync_seconds,
            locale=settings.community.language,
            state=self.state,
            max_scheduled=settings.quotas.scheduled_posts,
        )
        self.community_service.add_listener(self.posts)
        self._posts_catch_up: asyncio.Task[Any] | None = None
        # News feeds: drafts for the managers, approved items become posts.
        feeds_on = settings.scheduler.enabled and settings.scheduler.feeds_enabled
        self.feeds = FeedService(
            FeedRepository(self.db),
            self.communities,
            self.posts,
            self.desk,
            settings.scheduler,
            buttons=BUTTONS,
            embed=self.faq.encode_questions if settings.scheduler.encoder != "off" else None,
            topic_texts=self._faq_questions,
            locale=settings.community.language,
            scheduler=self.scheduler if feeds_on else None,
        )
        self.feeds.max_feeds = settings.quotas.feeds
        self.access = AccessService(
            self.communities,
            settings.access,
            manager_ids=settings.manager_ids,
            managers_chat_id=settings.managers.chat_id,
        )
        self.retention = Retention(self.messages, FaqRepository(self.db), settings.database.retain_days)
        self.ledger = UpdateLedger(self.state)
        self.in_flight = InFlight(self.ledger)
        self.bot.session.middleware(ConfirmWhenStored(self.in_flight))
        self._flusher: asyncio.Task[None] | None = None
        self.fsm_storage = self._build_fsm_storage()
        self.dispatcher = self._build_dispatcher()
        self._started = False

    # --- wiring -------------------------------------------------------------------------

    def _build_escalation(self, *, thread_policy: bool) -> EscalationService:
        """``thread_policy``: the FAQ runs its own multilingual-e5 loader (not a stand-in), so the thread
        judgment can read messages with it; otherwise the message rules apply."""
        from models.encoder import E5_NAMES

        return EscalationService(
            self.settings.escalation,
            self.cases,
            self.messages,
            self.communities,
            self.roles,
            self.outbox,
            self.desk,
            bot_id=self.bot.id,
            managers_chat_id=self.settings.managers.chat_id,
            locale=self.settings.community.language,
            buttons=BUTTONS,
            settings_cache=self.community_service,
            describe_chat=self._chat_description,
            embed=self._embed_for_escalation
            if thread_policy and (self.settings.faq.encoder.lower() in E5_NAMES | {"default"})
            else None,
            cards_in_background=True,
        )

    def _build_moderation(self) -> None:
        """Reports, card actions and spam checks; spam runs before escalation and the FAQ see a message."""

        self.moderation_repo = ModerationRepository(self.db)
        self.moderation = ModerationService(
            self.settings.moderation,
            self.moderation_repo,
            self.messages,
            self.communities,
            self.roles,
            self.outbox,
            TelegramModeration(self.outbox, self.bot.id),
            self.escalation,
            bot_id=self.bot.id,
            locale=self.settings.community.language,
            buttons=BUTTONS,
        )
        self.spam = SpamService(
            self.settings.moderation,
            self.moderation,
            self.moderation_repo,
            default_spam_loader(self.settings),
            managers_chat_id=self.settings.managers.chat_id,
            cas=CasClient(self.settings.moderation.cas_url, timeout_s=self.settings.moderation.cas_timeout_s)
            if self.settings.moderation.cas
            else None,
        )

        self.gate = GateService(
            self.settings.moderation, self.moderation, self.moderation_repo, self.desk, buttons=BUTTONS
        )
        listeners = self.community_service.listeners
        at = listeners.index(self.escalation)
        listeners[at:at] = [self.spam, self.moderation]

    async def _moderation_tick(self) -> None:
        await self.moderation.tick()  # self-deleting notices
        try:
            await self.gate.tick()  # join checks nobody answered
        except Exception:
            log.exception("join gate check failed")

    async def _embed_for_escalation(self, texts: list[str], cheap: bool) -> Any:
        """The thread policy's message vectors: the FAQ's multilingual encoder (None until it is loaded)."""
        return await self.faq.embed_plain(texts, cheap)

    async def _chat_description(self, chat_id: int) -> str | None:
        chat = await self.bot.get_chat(chat_id)
        return chat.description

    def _build_faq(self, encoder_loader: Callable[[], Any] | None) -> FaqService:
        from bot.services.questions import is_question

        self.community_service.question_detector = is_question
        return FaqService(
            FaqRepository(self.db),
            self.settings.faq,
            sender=self.outbox,
            buttons=BUTTONS,
            roles=self.roles,
            messages=self.messages,
            encoder_loader=encoder_loader or default_faq_encoder_loader(self.settings),
            # A test that brings its own encoder does not get the real English one behind its back.
            english_loader=None if encoder_loader else default_faq_english_loader(self.settings),
            adapter_dir=faq_adapter_dir(self.settings),
            max_entries=self.settings.quotas.faq_entries,
        )

    def _build_fsm_storage(self) -> BaseStorage:
        """Admins' unfinished dialogs: in the database unless the config says otherwise."""
        if self.settings.dialogs.storage == "memory":
            return MemoryStorage()
        return DatabaseStorage(self.db)

    def _build_dispatcher(self) -> Dispatcher:
        from handlers import build_routers
        from handlers.middlewares import setup_middlewares

        # USER_IN_CHAT: a dialog belongs to one user in one chat (anonymous admins: to that group).
        dp = Dispatcher(storage=self.fsm_storage, fsm_strategy=FSMStrategy.USER_IN_CHAT)
        self.dialog_expiry = setup_middlewares(
            dp,
            in_flight=self.in_flight,
            access=self.access,
            community_service=self.community_service,
            outbox=self.outbox,
            language=self.settings.community.language,
            dialog_ttl_s=self.settings.dialogs.ttl_minutes * 60,
        )
        dp.workflow_data.update(self.workflow_data())
        dp.include_routers(*build_routers())
        inline_magic_filters(dp)
        return dp

    def workflow_data(self) -> dict[str, Any]:
        """Dependencies handlers declare as parameters."""
        return {
            "settings": self.settings,
            "roles": self.roles,
            "outbox": self.outbox,
            "desk": self.desk,
            "escalation": self.escalation,
            "moderation": self.moderation,
            "gate": self.gate,
            "cases": self.cases,
            "community_service": self.community_service,
            "community_settings": self.community_settings,
            "communities": self.communities,
            "managers": self.managers,
            "state": self.state,
            "db": self.db,
            "growth": self.growth,
            "stats_service": self.stats,
            "posts": self.posts,
            "feeds": self.feeds,
            "faq": self.faq,
            "access": self.access,
        }

    async def _faq_questions(self, chat_id: int) -> list[str]:
        """The community's FAQ questions (and the global ones): what news relevance is measured against."""
        from bot.storage.faq import GLOBAL

        entries = await FaqRepository(self.db).list_entries([chat_id, GLOBAL], enabled_only=True)
        return [question for entry in entries for question in entry.questions]

    async def _fetch_admins(self, chat_id: int) -> set[int]:
        admins = await self.bot.get_chat_administrators(chat_id)
        return {admin.user.id for admin in admins}

    async def _on_forbidden(self, chat_id: int, description: str) -> None:
        if chat_id < 0:
            log.warning("chat %s refused the bot (%s); marking it inactive", chat_id, description)
            await self.community_service.deactivate(chat_id, bot_status="kicked")

    async def _on_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        old = await self.communities.get(old_chat_id)
        title = old.title if old is not None else str(new_chat_id)
        await self.community_service.migrate(old_chat_id, ChatInfo(new_chat_id, title, "supergroup"))

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await self.db.open()
        await self.ledger.load()
        if isinstance(self.fsm_storage, DatabaseStorage):
            open_dialogs = await self.fsm_storage.load()
            if open_dialogs:
                log.info("%d unfinished dialogs were kept from the last run", open_dialogs)
        self._flusher = asyncio.create_task(self._flush_ledger(), name="ledger-flush")
        if self.sentiment is not None:
            await self.sentiment.start()
        await self.outbox.start()
        if self.settings.faq.enabled or self.escalation.thread.signals.available:
            # The FAQ's encoder thread also reads messages for escalation's thread policy (FAQ answering
            # itself stays off when disabled).
            await self.faq.start()
        if self.settings.moderation.enabled:
            await self.spam.start()
        self.scheduler.start()
        self._start_growth_jobs()
        if self.settings.escalation.enabled:
            # SLA reminders, snooze wake-ups and expired Replies; the timing itself lives in the DB.
            self.scheduler.add_job(
                self.escalation.tick,
                "interval",
                seconds=self.settings.escalation.check_seconds,
                id="escalation-check",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        if self.settings.moderation.enabled:
            # Group notices delete themselves; the due times live in the DB.
            self.scheduler.add_job(
                self._moderation_tick,
                "interval",
                seconds=self.settings.moderation.check_seconds,
                id="moderation-check",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        if self.settings.scheduler.enabled:
            # Rows a crash left in 'sending' become uncertain before anything can claim a row;
            # the catch-up (late sends, missed reports, re-arming) runs in the background.
            stuck = await self.posts.resolve_interrupted()
            self._posts_catch_up = asyncio.create_task(self.posts.catch_up(stuck), name="posts-catch-up")
            self.feeds.start()
        self._started = True

    async def stop(self, *, drain_timeout: float = 10.0) -> None:
        if not self._started:
            await self.db.close()
            return
        self._started = False
        if not await self.in_flight.wait_idle(drain_timeout):
            log.warning("stopping with %d updates still in flight", self.in_flight.count)
        if self._flusher is not None:
            self._flusher.cancel()
            with suppress(asyncio.CancelledError):
                await self._flusher
        await self.ledger.flush()
        with suppress(Exception):
            self.scheduler.shutdown(wait=False)
        await self.growth.close()
        await self.escalation.close(timeout=drain_timeout / 2)
        await self.outbox.close(drain_timeout=drain_timeout)
        if self._posts_catch_up is not None and not self._posts_catch_up.done():
            # With the outbox closed, unsent catch-up posts go back to 'pending' quickly.
            await asyncio.wait({self._posts_catch_up}, timeout=drain_timeout)
            self._posts_catch_up.cancel()
            with suppress(asyncio.CancelledError):
                await self._posts_catch_up
        await self.posts.close()  # after the outbox (sends have ended), before the database
        await self.faq.close()
        if self.sentiment is not None:
            await self.sentiment.close()
        await self.db.close()

    def _start_growth_jobs(self) -> None:
        from datetime import UTC, datetime, timedelta

        from apscheduler.triggers.cron import CronTrigger

        # Self-deleting welcomes: due ones go every minute (and at once after a restart).
        self.scheduler.add_job(
            self.growth.delete_due,
            "interval",
            seconds=60,
            id="growth-welcome-delete",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
        )
        if self.retention.enabled:
            # Daily, first a few minutes after the start (not in the middle of catching up).
            self.scheduler.add_job(
                self.retention.run,
                "interval",
                hours=24,
                id="retention",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                next_run_time=datetime.now(UTC) + timedelta(minutes=5),
            )
        if self.settings.growth.digest_enabled:
            self.scheduler.add_job(
                self.stats.send_digest,
                CronTrigger(**digest_trigger_args(self.settings.growth)),
                id="growth-digest",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=6 * 3600,
            )

    async def _flush_ledger(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.ledger.flush()
            except Exception:
                log.exception("could not record the last handled update id")

    async def announce_commands(self) -> None:
        """The command menus members, group admins and managers see in Telegram."""
        from aiogram.types import (
            BotCommand,
            BotCommandScopeAllChatAdministrators,
            BotCommandScopeAllPrivateChats,
            BotCommandScopeChat,
        )

        def menu(*pairs: tuple[str, str]) -> list[BotCommand]:
            return [BotCommand(command=name, description=text) for name, text in pairs]

        private = menu(("start", "What Steward does"), ("help", "Commands you can use"))
        admins = menu(
            ("faq_add", "Add an FAQ entry"),
            ("faq_list", "List FAQ entries"),
            ("unanswered", "Unanswered questions"),
            ("faq_mode", "FAQ mode: off, mention or auto"),
            ("escalation", "Escalation settings"),
            ("welcome", "Welcome message"),
            ("invite_new", "New campaign invite link"),
            ("stats", "Analytics"),
            ("moderation", "Moderation and spam settings"),
            ("modlog", "Moderation log"),
        )
        managers = menu(
            ("queue", "Open cases"),
            ("newpost", "Schedule a post"),
            ("posts", "Content calendar"),
            ("feeds", "News feeds"),
            ("stats", "Analytics"),
            ("approve", "Approve a community"),
            ("help", "All commands"),
        )
        try:
            await self.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
            await self.bot.set_my_commands(admins, scope=BotCommandScopeAllChatAdministrators())
            for manager_id in await self.managers.reachable_in_private(self.settings.manager_ids):
                await self.bot.set_my_commands(managers, scope=BotCommandScopeChat(chat_id=manager_id))
        except Exception as exc:  # a menu is a convenience; never stop the bot for it
            log.warning("could not set the command menus: %s", exc)

    async def run_polling(self, *, handle_signals: bool = True) -> None:
        """deleteWebhook, then long polling until SIGINT/SIGTERM or stop_polling()."""
        await self.bot.delete_webhook(drop_pending_updates=self.settings.telegram.drop_pending_updates)
        await self.announce_commands()
        await self.dispatcher.start_polling(
            self.bot,
            allowed_updates=ALLOWED_UPDATES,
            polling_timeout=self.settings.telegram.polling_timeout,
            handle_signals=handle_signals,
            close_bot_session=False,
            # Bounded concurrency keeps memory flat under a flood; the rest waits in Telegram.
            tasks_concurrency_limit=CONCURRENCY_LIMIT,
        )

    async def close_session(self) -> None:
        await self.bot.session.close()


def inline_magic_filters(dp: Dispatcher) -> int:
    """Evaluate ``F`` (magic) and FSM ``State`` filters on the event loop; returns how many were changed.

    aiogram calls every synchronous filter through ``asyncio.to_thread``, magic filters included:
    about 25 thread hand-offs for each group message with our routers, a quarter of the
    dispatcher's CPU in benchmarks/pipeline.py. A magic filter only reads attributes of the
    update (a State filter compares a string), so it runs inline. Call it after the last include_router.
    """
    from aiogram.fsm.state import State

    def inline(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return call

    changed = 0
    for router in dp.chain_tail:
        for observer in router.observers.values():
            handlers = [getattr(observer, "_handler", None), *observer.handlers]
            for handler in handlers:
                for flt in (handler.filters or []) if handler is not None else []:
                    if not flt.awaitable and (flt.magic is not None or isinstance(flt.callback, State)):
                        flt.callback = inline(flt.callback)
                        flt.awaitable = True
                        changed += 1
    return changed


async def feed_raw_update(app: Steward, update: dict[str, Any]) -> Any:
    """Handle one update outside polling (tests and benchmarks)."""
    return await app.dispatcher.feed_update(app.bot, Update.model_validate(update, context={"bot": app.bot}))
