"""/dashboard in a private chat: a sign-in link for the managers' dashboard, and a button that opens it in Telegram."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.domain import Button, Priority
from bot.services.dashboard import DashboardService
from bot.telegram.outbox import Outbox


def build_router() -> Router:
    router = Router(name="dashboard")
    router.message.filter(F.chat.type == "private")

    @router.message(Command("dashboard"))
    async def dashboard_link(message: Message, dashboard: DashboardService, outbox: Outbox, settings: Settings) -> None:
        user = message.from_user
        if user is None:
            return
        if not settings.dashboard.enabled:
            text = _("The dashboard is not enabled on this server ([dashboard] enabled in the config).")
            await outbox.send_message(message.chat.id, text, priority=Priority.REPLY)
            return
        sign_in = await dashboard.sign_in_link(user.id, user.language_code)
        if sign_in is None:
            text = _("The dashboard is for the managers and for the admins of a group Steward serves.")
            await outbox.send_message(message.chat.id, text, priority=Priority.REPLY)
            return
        text = _(
            'Your sign-in link for the dashboard: <a href="{link}">open the dashboard</a>\n'
            "It works once, in one browser, for 10 minutes. Do not forward it."
        ).format(link=html.escape(sign_in.link, quote=True))
        keyboard = [[Button(_("Open in Telegram"), web_app=sign_in.mini_app)]] if sign_in.mini_app else None
        await outbox.send_message(message.chat.id, text, keyboard=keyboard, priority=Priority.REPLY)

    return router
