"""/start and /help in private: what the bot does and what this user may do here."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.domain import Author, Priority
from bot.services.roles import RoleService
from bot.telegram.managers import ManagerDesk
from bot.telegram.outbox import Outbox


def group_commands_text() -> str:
    return _(
        "In a group (its admins and the managers):\n"
        "/faq_add, /faq_list, /faq_edit, /faq_del: the FAQ; /faq_mode: off, mention or auto; "
        "/unanswered: questions nobody answered\n"
        "/escalation: escalation settings\n"
        "/welcome, /welcome_rules, /welcome_delete: greeting new members\n"
        "/invite_new NAME, /invites: invite campaigns\n"
        "/feed_add URL: subscribe the group to a news feed\n"
        "/stats: analytics"
    )


def build_router() -> Router:
    router = Router(name="common")
    router.message.filter(F.chat.type == "private")

    @router.message(CommandStart())
    @router.message(Command("help"))
    async def start(message: Message, roles: RoleService, desk: ManagerDesk, outbox: Outbox) -> None:
        user = message.from_user
        if user is None:
            return
        text = _(
            "Hi! I am Steward, an assistant for community managers.\n\n"
            "In your groups I answer frequent questions, notice threads that turn negative "
            "and bring them to the managers, post scheduled content and report analytics.\n\n"
            "To use me, add me to a group and make me an admin (or turn off privacy mode "
            "in @BotFather), so that I can read the conversation."
        )
        if await roles.can_manage(None, user.id):  # a manager: the managers' tools too
            await desk.manager_started(Author(user.id, user.first_name, user.username, user.language_code))
            text += "\n\n" + _(
                "You are a manager. Here you receive case cards, post receipts and news drafts.\n\n"
                "In this chat:\n"
                "/queue: open cases by priority; /case ID: one case\n"
                "/shadow_report: what shadow mode would have escalated\n"
                "/newpost: schedule a post; /posts: the content calendar; /post ID: one post\n"
                "/feeds: news feeds; /stats: analytics\n"
                "/help: this message"
            )
            text += "\n\n" + group_commands_text()
        else:
            text += "\n\n" + _("In a group where you are an admin, you can manage me there:") + "\n"
            text += group_commands_text()
        await outbox.send_message(message.chat.id, text, priority=Priority.REPLY)

    return router
