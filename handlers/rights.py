"""Rights in Telegram: the one way a management command or button reaches ``RoleService.can_manage``.

A handler states what it needs with a flag in its decorator (``flags=rights.FAQ``, ``flags=rights.DESK``…);
``RightsMiddleware``, set on every feature router by ``handlers.build_routers()``, checks it by user id on
every call (commands, dialog steps and buttons alike) and refuses politely: one reply function for
commands, one answerCallbackQuery for buttons, and every refusal text in ``refusal_text``. Handlers
without a flag (members' commands, votes, picks) are not checked.

Two scopes. ``GROUP``: the community is the chat the command is sent in (a group's admins, anonymous
admins included, and the managers; in a private chat that leaves the managers). ``DESK``: the managers
only, wherever they are (their chat, a private chat).

Buttons that act on one object (a case, an FAQ entry, a moderation subject) check the rights against
that object's community where the object is read, with the same ``RoleService.can_manage``.

``addressed_community`` is the one answer to "which community does this command address": this group;
in a private chat or the managers' chat, the group whose chat id is among the arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import NextMiddlewareType, SkipHandler
from aiogram.dispatcher.flags import get_flag
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.domain import Community
from bot.services.community import CommunityService
from bot.services.roles import RoleService
from bot.telegram.outbox import Outbox
from handlers.convert import GROUP_TYPES, chat_info
from handlers.replies import answer_button, reply

log = logging.getLogger(__name__)


class Scope(StrEnum):
    GROUP = "group"  # this chat's community: its admins and the managers
    DESK = "desk"  # the managers only


class Refusal(StrEnum):
    """Which refusal a refused person gets (the texts are in ``refusal_text``). Five, not one: the tests of
    each feature pin the wording their users have seen (the FAQ's exactly), and the coordinator's rule is
    that no test assertion changes; every new handler should use ``GROUP`` or ``DESK``."""

    GROUP = "group"  # this group's admins and the managers
    DESK = "desk"  # the managers, at their desk
    FAQ = "faq"  # this chat's FAQ
    COMMUNITY = "community"  # this group's admins and the managers (feeds, timezone)
    MANAGERS = "managers"  # the managers (posts, and the buttons of posts and feed drafts)


def refusal_text(refusal: Refusal) -> str:
    """Every refusal of a rights flag, in one place (translated in the reader's language)."""
    texts = {
        Refusal.GROUP: _("Only this group's admins and Steward's managers can do that."),
        Refusal.DESK: _("Only Steward's managers can use this."),
        Refusal.FAQ: _("Only the managers and the admins of this chat can change the FAQ."),
        Refusal.COMMUNITY: _("Only the community managers and this group's admins can do that."),
        Refusal.MANAGERS: _("Only the community managers can do this."),
    }
    return texts[refusal]


@dataclass(frozen=True, slots=True)
class Rights:
    """What a handler needs. ``refusal`` None: a refused update gets no answer; with ``fall_through`` it goes
    on to the next handlers (as a filter that does not match would), otherwise it stops here.
    ``end_dialog``: a refused dialog step ends the sender's dialog (an admin demoted mid-dialog)."""

    scope: Scope
    refusal: Refusal | None
    fall_through: bool = False
    end_dialog: bool = False


def _flag(rights: Rights) -> dict[str, Any]:
    return {"rights": rights}


# The flags handlers use: @router.message(Command("faq_add"), flags=rights.FAQ)
GROUP = _flag(Rights(Scope.GROUP, Refusal.GROUP))
GROUP_QUIET = _flag(Rights(Scope.GROUP, None, fall_through=True))
DESK = _flag(Rights(Scope.DESK, Refusal.DESK))
DESK_QUIET = _flag(Rights(Scope.DESK, None))
FAQ = _flag(Rights(Scope.GROUP, Refusal.FAQ))
FAQ_STEP = _flag(Rights(Scope.GROUP, Refusal.FAQ, end_dialog=True))
FEEDS = _flag(Rights(Scope.GROUP, Refusal.COMMUNITY))
POSTS = _flag(Rights(Scope.DESK, Refusal.MANAGERS))
TIMEZONE = _flag(Rights(Scope.GROUP, Refusal.COMMUNITY))
MANAGERS_BUTTON = _flag(Rights(Scope.DESK, Refusal.MANAGERS))


def community_of(event: TelegramObject, scope: Scope) -> int | None:
    """The community an update speaks for: its group in ``GROUP`` scope; None (managers only) otherwise."""
    if scope is Scope.DESK:
        return None
    message = event.message if isinstance(event, CallbackQuery) else event
    if isinstance(message, Message) and message.chat.type in GROUP_TYPES:
        return message.chat.id
    return None


async def may_manage(roles: RoleService, event: TelegramObject, scope: Scope) -> bool:
    """``RoleService.can_manage`` for the sender of ``event`` (by user id) and the community of ``scope``."""
    user = getattr(event, "from_user", None)
    if user is None:
        return False
    sender_chat = event.sender_chat if isinstance(event, Message) else None
    return await roles.can_manage(
        community_of(event, scope), user.id, sender_chat_id=sender_chat.id if sender_chat is not None else None
    )


async def refuse(outbox: Outbox, event: TelegramObject, text: str) -> None:
    """The one refusal: an alert on a button, a reply to a message (in its forum topic)."""
    if isinstance(event, CallbackQuery):
        await answer_button(outbox, event, text)
    elif isinstance(event, Message):
        await reply(outbox, event, text)


class RightsMiddleware(BaseMiddleware):
    """Inner middleware of messages and buttons on every feature router: checks the handler's ``rights`` flag."""

    async def __call__(
        self, handler: NextMiddlewareType[TelegramObject], event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        needed = get_flag(data, "rights")
        if not isinstance(needed, Rights):
            return await handler(event, data)
        roles: RoleService = data["roles"]
        if await may_manage(roles, event, needed.scope):
            return await handler(event, data)
        user = getattr(event, "from_user", None)
        log.info("user %s was refused %s", user.id if user is not None else None, data["handler"].callback.__name__)
        state: FSMContext | None = data.get("state")
        if needed.end_dialog and state is not None and await state.get_state() is not None:
            await state.clear()
        if needed.refusal is None:
            if needed.fall_through:
                raise SkipHandler
            return None
        await refuse(data["outbox"], event, refusal_text(needed.refusal))
        return None


async def addressed_community(
    message: Message,
    args: str,
    roles: RoleService,
    community_service: CommunityService,
    outbox: Outbox,
    managers_chat_id: int | None,
) -> tuple[Community, str] | None:
    """The community a command addresses, after the rights check, and the arguments without its chat id.

    In a group: that group (its admins and the managers; anyone else is ignored, as everywhere). In a private
    chat or the managers' chat: the group whose chat id (a negative number) is among the arguments, if the
    sender manages it (in the managers' chat, only the managers are answered). None once the sender was told why.
    """
    user = message.from_user
    if user is None:
        return None
    sender_chat_id = message.sender_chat.id if message.sender_chat is not None else None
    desk = message.chat.id == managers_chat_id
    if desk and not await roles.can_manage(None, user.id):
        return None
    if message.chat.type in GROUP_TYPES and not desk:
        if not await roles.can_manage(message.chat.id, user.id, sender_chat_id=sender_chat_id):
            return None
        return await community_service.community_for(chat_info(message.chat)), args
    found = next(((a, b) for a, b in _words(args) if group_chat_id(args[a:b])), None)
    if found is None:
        if message.chat.type == "private" or await roles.can_manage(None, user.id):
            await refuse(
                outbox, message, _("Name the group: the command followed by its chat id, e.g. -1001234567890.")
            )
        return None
    chat_id = int(args[found[0] : found[1]])
    community = await community_service.known(chat_id)
    if community is None or not await roles.can_manage(chat_id, user.id):
        await refuse(outbox, message, _("I do not know a group {chat_id} that you manage.").format(chat_id=chat_id))
        return None
    return community, (args[: found[0]] + args[found[1] :]).strip()


def group_chat_id(word: str) -> bool:
    """A group's chat id: a negative integer within SQLite's 64 bits, ASCII digits only."""
    digits = word[1:] if word.startswith("-") else ""
    return digits.isascii() and digits.isdigit() and len(digits) <= 18


def _words(text: str) -> Iterator[tuple[int, int]]:
    """Where each whitespace-separated word of ``text`` starts and ends (one pass)."""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        j = i
        while j < n and not text[j].isspace():
            j += 1
        if j > i:
            yield i, j
        i = j
