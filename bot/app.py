"""The running bot: Steward's services (built by bot.composition, the one composition root) on Telegram.

This module composes only the Telegram side: the Bot, the outbox and the desk the services talk
through, the dispatcher with its routers, and the timers. Production and tests build the same one.

Start order: database → model → outbox → scheduler → dispatcher. Stop is the reverse, after
the updates already being handled have finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
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
from aiohttp.web import AppRunner

from bot.composition import BOT, ClassifierLoader, EncoderLoader, Loaders, Services, TelegramPorts
from bot.config import Settings
from bot.domain import ChatInfo
from bot.services.ledger import UpdateLedger
from bot.services.stats import digest_trigger_args
from bot.storage.members import ManagerRepository
from bot.telegram.confirm import CONCURRENCY_LIMIT, ConfirmWhenStored, InFlight
from bot.telegram.fsm import DatabaseStorage
from bot.telegram.inline_filters import inline_magic_filters
from bot.telegram.invites import invite_link_maker
from bot.telegram.managers import ManagerDesk
from bot.telegram.moderation_api import TelegramModeration
from bot.telegram.outbox import Outbox

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


def build_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None and settings.telegram.api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    return Bot(
        token=settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True),
    )


def telegram_ports(settings: Settings, bot: Bot, outbox: Outbox) -> TelegramPorts:
    """The services' Telegram side in the running bot: every message through the outbox."""

    async def fetch_admins(chat_id: int) -> set[int]:
        admins = await bot.get_chat_administrators(chat_id)
        return {admin.user.id for admin in admins}

    async def describe_chat(chat_id: int) -> str | None:
        chat = await bot.get_chat(chat_id)
        return chat.description

    def make_desk(managers: ManagerRepository) -> ManagerDesk:
        return ManagerDesk(bot, outbox, managers, manager_ids=settings.manager_ids, chat_id=settings.managers.chat_id)

    return TelegramPorts(
        bot_id=bot.id,
        sender=outbox,
        make_desk=make_desk,
        moderation_api=TelegramModeration(outbox, bot.id),
        fetch_admins=fetch_admins,
        describe_chat=describe_chat,
        make_invite_link=invite_link_maker(outbox),
    )


class Steward(Services):
    """The running bot: Steward's services (bot.composition) on Telegram, with the dispatcher and the timers."""

    def __init__(
        self,
        settings: Settings,
        *,
        bot: Bot | None = None,
        session: BaseSession | None = None,
        classifier_loader: ClassifierLoader | None = None,
        faq_encoder_loader: EncoderLoader | None = None,
    ) -> None:
        self.bot = bot if bot is not None else build_bot(settings, session)
        self.outbox = Outbox(self.bot, on_forbidden=self._on_forbidden, on_migrated=self._on_migrated)
        ports = telegram_ports(settings, self.bot, self.outbox)
        super().__init__(settings, ports, front_end=BOT, loaders=Loaders(classifier_loader, faq_encoder_loader))
        self._posts_catch_up: asyncio.Task[Any] | None = None
        self.ledger = UpdateLedger(self.state)
        self.in_flight = InFlight(self.ledger)
        self.bot.session.middleware(ConfirmWhenStored(self.in_flight))
        self._flusher: asyncio.Task[None] | None = None
        self.fsm_storage = self._build_fsm_storage()
        self.dispatcher = self._build_dispatcher()
        self._dashboard: AppRunner | None = None
        self._started = False

    # --- wiring -------------------------------------------------------------------------

    async def _moderation_tick(self) -> None:
        await self.moderation.tick()  # self-deleting notices
        try:
            await self.gate.tick()  # join checks nobody answered
        except Exception:
            log.exception("join gate check failed")

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
            "dashboard": self.dashboard,
        }

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
            self._every("escalation-check", self.escalation.tick, seconds=self.settings.escalation.check_seconds)
        if self.settings.moderation.enabled:
            # Group notices delete themselves; the due times live in the DB.
            self._every("moderation-check", self._moderation_tick, seconds=self.settings.moderation.check_seconds)
        if self.settings.scheduler.enabled:
            # Rows a crash left in 'sending' become uncertain before anything can claim a row;
            # the catch-up (late sends, missed reports, re-arming) runs in the background.
            stuck = await self.posts.resolve_interrupted()
            self._posts_catch_up = asyncio.create_task(self.posts.catch_up(stuck), name="posts-catch-up")
            self.feeds.start()
        if self.settings.dashboard.enabled and self.settings.telegram.mode == "polling":
            from bot.dashboard.web import serve

            self._dashboard = await serve(self)  # webhook mode: bot/webhook.py mounts it on its server
        self._started = True

    async def stop(self, *, drain_timeout: float = 10.0) -> None:
        if not self._started:
            await self.db.close()
            return
        self._started = False
        if self._dashboard is not None:
            await self._dashboard.cleanup()
            self._dashboard = None
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
        self._every("growth-welcome-delete", self.growth.delete_due, seconds=60, next_run_time=datetime.now(UTC))
        if self.retention.enabled:
            # Daily, first a few minutes after the start (not in the middle of catching up).
            self._every(
                "retention", self.retention.run, hours=24, next_run_time=datetime.now(UTC) + timedelta(minutes=5)
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

    def _every(self, job_id: str, job: Callable[[], Awaitable[Any]], **interval: Any) -> None:
        """An interval job that never runs twice at once and skips the runs it missed."""
        self.scheduler.add_job(
            job, "interval", id=job_id, replace_existing=True, coalesce=True, max_instances=1, **interval
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
                await self._dashboard_menu_button(manager_id)
        except Exception as exc:  # a menu is a convenience; never stop the bot for it
            log.warning("could not set the command menus: %s", exc)

    async def _dashboard_menu_button(self, manager_id: int) -> None:
        """The dashboard as the managers' menu button (Telegram opens Mini Apps from https addresses only)."""
        url = self.settings.dashboard.base_url()
        if not self.settings.dashboard.enabled or not url.startswith("https://"):
            return
        from aiogram.types import MenuButtonWebApp, WebAppInfo

        button = MenuButtonWebApp(text="Dashboard", web_app=WebAppInfo(url=f"{url}/app/"))
        await self.bot.set_chat_menu_button(chat_id=manager_id, menu_button=button)

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


async def feed_raw_update(app: Steward, update: dict[str, Any]) -> Any:
    """Handle one update outside polling (tests and benchmarks)."""
    return await app.dispatcher.feed_update(app.bot, Update.model_validate(update, context={"bot": app.bot}))
