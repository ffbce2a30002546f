"""Plain types and constants shared by the moderation and spam services, their handlers and the API port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.domain.buttons import ModAct

# Card button actions (bot.domain.buttons.ModAct), named here for the services' code.
DELETE, DELETE_LAST, WARN = ModAct.DELETE.value, ModAct.DELETE_LAST.value, ModAct.WARN.value
MUTE_HOUR, MUTE_DAY, MUTE_WEEK = ModAct.MUTE_HOUR.value, ModAct.MUTE_DAY.value, ModAct.MUTE_WEEK.value
BAN, UNMUTE, UNBAN = ModAct.BAN.value, ModAct.UNMUTE.value, ModAct.UNBAN.value
SPAM, NOT_SPAM = ModAct.SPAM.value, ModAct.NOT_SPAM.value
CARD_ACTIONS = tuple(a.value for a in ModAct)
MUTE_SECONDS = {MUTE_HOUR: 3600, MUTE_DAY: 86_400, MUTE_WEEK: 7 * 86_400}

POLICIES = ("observe", "delete", "delete_and_mute")
ANONYMOUS_ADMIN_ID = 1087968824  # GroupAnonymousBot: "from" of anonymous admins' messages
CHANNEL_BOT_ID = 136817688  # Channel_Bot: "from" of messages sent on behalf of a channel
TELEGRAM_ID = 777000  # "from" of the linked channel's automatic forwards


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """What one action needs: the bot's right, whether it targets the author, its name in the log."""

    right: str | None  # "delete" | "restrict" | None
    against_author: bool
    log_name: str


PLANS = {
    DELETE: ActionPlan("delete", False, "delete"),
    DELETE_LAST: ActionPlan("delete", True, "delete_last"),
    WARN: ActionPlan(None, True, "warn"),
    MUTE_HOUR: ActionPlan("restrict", True, "mute"),
    MUTE_DAY: ActionPlan("restrict", True, "mute"),
    MUTE_WEEK: ActionPlan("restrict", True, "mute"),
    "mute": ActionPlan("restrict", True, "mute"),
    BAN: ActionPlan("restrict", True, "ban"),
    UNMUTE: ActionPlan("restrict", False, "unmute"),
    UNBAN: ActionPlan("restrict", False, "unban"),
    SPAM: ActionPlan(None, False, "spam"),
    NOT_SPAM: ActionPlan(None, False, "ham"),
}


@dataclass(frozen=True, slots=True)
class BotRights:
    """What the bot may do in a chat (read with getChatMember for the bot itself)."""

    known: bool
    is_admin: bool = False
    can_delete: bool = False
    can_restrict: bool = False


@dataclass(frozen=True, slots=True)
class TargetMessage:
    """A message someone reported, or that the spam check looked at."""

    chat_id: int
    message_id: int
    user_id: int
    name: str
    text: str
    thread_id: int | None = None  # forum topic
    sender_chat_id: int | None = None
    is_automatic_forward: bool = False


Result = tuple[bool, str | None]


class ModerationApi(Protocol):
    """The Bot API calls moderation makes (bot.telegram.moderation_api.TelegramModeration)."""

    async def bot_rights(self, chat_id: int) -> BotRights: ...
    async def delete_messages(self, chat_id: int, message_ids: list[int]) -> Result: ...
    async def mute(self, chat_id: int, user_id: int, until: int | None) -> Result: ...
    async def unmute(self, chat_id: int, user_id: int) -> Result: ...
    async def ban(self, chat_id: int, user_id: int, until: int | None) -> Result: ...
    async def unban(self, chat_id: int, user_id: int) -> Result: ...
    async def ban_sender_chat(self, chat_id: int, sender_chat_id: int) -> Result: ...
    async def unban_sender_chat(self, chat_id: int, sender_chat_id: int) -> Result: ...
    async def hold_media(self, chat_id: int, user_id: int, until: int) -> Result: ...
    async def approve_join(self, chat_id: int, user_id: int) -> Result: ...
    async def decline_join(self, chat_id: int, user_id: int) -> Result: ...


def parse_duration(raw: str) -> int | None:
    """``90m``, ``2h``, ``3d``, ``1w`` (or plain minutes) → seconds, 1 minute to 366 days; None if invalid.

    No regex: a digit run and one optional unit letter."""
    text = raw.strip().lower()
    if not text or len(text) > 8:
        return None
    unit = text[-1]
    digits = text[:-1] if unit.isalpha() else text
    factor = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}.get(unit, 60 if not unit.isalpha() else 0)
    if not factor or not digits.isascii() or not digits.isdigit():
        return None
    seconds = int(digits) * factor
    return seconds if 60 <= seconds <= 366 * 86_400 else None
