"""In-process Steward for corpus and authorisation tests: the real dispatcher and services, a mocked
Telegram that answers at once (chat admins per chat), fake models, and helpers that build raw updates."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiogram import Dispatcher
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import GetChat, GetChatAdministrators, GetChatMember, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import ChatFullInfo, ChatInviteLink, ChatMemberAdministrator, ChatMemberMember, ChatMemberOwner

from bot.app import Steward, feed_raw_update
from bot.config import Settings
from bot.sandbox import CHAT_INFO_DEFAULTS
from bot.sandbox.state import REQUIRED_ADMIN_RIGHTS
from tests.fakes import FakeClassifier, HashingEncoder
from tests.mocked_bot import MockedBot, MockedSession

MANAGER = 500
DESK = -1009000000009
ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot
TELEGRAM = 777000  # the linked channel's automatic forwards come "from" Telegram
DATE = 1_767_225_600
BOT_ID = 42  # the token below is "42:TEST"
ADMIN_RIGHT_FIELDS = REQUIRED_ADMIN_RIGHTS  # what the bot, an admin, has in every chat


class AdminsSession(MockedSession):
    """Answers getChatAdministrators from ``admins`` and getChat with a plain supergroup."""

    def __init__(self, admins: dict[int, set[int]]) -> None:
        super().__init__()
        self.admins = admins
        self.anonymous: set[int] = set()  # admins who post as the group (getChatMember says is_anonymous)

    def auto_response(self, method: TelegramMethod[Any]) -> Response[Any]:
        if isinstance(method, GetChatAdministrators):
            members = [
                ChatMemberOwner(user={"id": uid, "is_bot": False, "first_name": f"A{uid}"}, is_anonymous=False)
                for uid in sorted(self.admins.get(int(method.chat_id), set()))
            ]
            return Response[Any](ok=True, result=members)
        if isinstance(method, GetChatMember) and int(method.user_id) == BOT_ID:
            rights = dict.fromkeys(ADMIN_RIGHT_FIELDS, True)
            bot_member = ChatMemberAdministrator(
                user={"id": BOT_ID, "is_bot": True, "first_name": "Steward"},
                can_be_edited=False,
                is_anonymous=False,
                **rights,
            )
            return Response[Any](ok=True, result=bot_member)
        if isinstance(method, GetChatMember):
            uid = int(method.user_id)
            person = {"id": uid, "is_bot": False, "first_name": f"A{uid}"}
            if uid in self.admins.get(int(method.chat_id), set()):
                return Response[Any](ok=True, result=ChatMemberOwner(user=person, is_anonymous=uid in self.anonymous))
            return Response[Any](ok=True, result=ChatMemberMember(user=person))
        if isinstance(method, GetChat):
            info = ChatFullInfo.model_validate(
                {
                    "id": int(method.chat_id),
                    "type": "supergroup",
                    "title": "A group",
                    **CHAT_INFO_DEFAULTS,
                }
            )
            return Response[Any](ok=True, result=info)
        if type(method).__name__ in ("CreateChatInviteLink", "EditChatInviteLink", "RevokeChatInviteLink"):
            link = ChatInviteLink(
                invite_link="https://t.me/+abc",
                creator={"id": 42, "is_bot": True, "first_name": "Steward"},
                creates_join_request=False,
                is_primary=False,
                is_revoked=False,
                name=getattr(method, "name", None),
            )
            return Response[Any](ok=True, result=link)
        return super().auto_response(method)


class ErrorLog(logging.Handler):
    """Collects ERROR records (a listener that failed logs with exc_info instead of raising)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in self.records]


@asynccontextmanager
async def steward(tmp_path: Path, admins: dict[int, set[int]], **sections: Any) -> Iterator[Steward]:
    data: dict[str, Any] = {
        "telegram": {"token": "42:TEST"},
        "database": {"path": str(tmp_path / "steward.db")},
        "managers": {"ids": [MANAGER], "chat_id": DESK},
        "sentiment": {"max_wait_ms": 1.0},
        "scheduler": {"enabled": False},
        "growth": {"digest_enabled": False},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    bot = MockedBot(auto_respond=True)
    bot.session = AdminsSession(admins)
    bot.session.auto_respond = True
    classifier, encoder = FakeClassifier(), HashingEncoder()
    app = Steward(
        Settings(**data),
        bot=bot,
        classifier_loader=lambda: classifier,
        faq_encoder_loader=lambda: (encoder, f"HashingEncoder:{encoder.dim}"),
    )
    await app.start()
    # Telegram's limits are the outbox's own tests' business; here every reply goes out at once.
    app.outbox.set_group_rate(10**6, period_s=1.0)
    app.outbox.set_private_rate(10**6)
    app.outbox.set_global_rate(10**6)
    try:
        yield app  # type: ignore[misc]
    finally:
        await app.stop(drain_timeout=5)


_ids = itertools.count(1)
_message_ids = itertools.count(1000)


def user(uid: int, name: str = "Member") -> dict[str, Any]:
    return {"id": uid, "is_bot": uid in (ANONYMOUS_ADMIN, TELEGRAM), "first_name": name}


def group(chat_id: int, *, forum: bool = False, kind: str = "supergroup") -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
    if forum:
        chat["is_forum"] = True
    return chat


def private(uid: int) -> dict[str, Any]:
    return {"id": uid, "type": "private", "first_name": "Member"}


def message(chat: dict[str, Any], sender: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message_id": next(_message_ids), "date": DATE, "chat": chat, "from": user(sender)}
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            body["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0]) if text.split() else 1}
            ]
    body.update(extra)
    return body


def update(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": next(_ids), kind: payload}


def callback(chat: dict[str, Any], sender: int, data: str, *, message_id: int = 1) -> dict[str, Any]:
    return update(
        "callback_query",
        {
            "id": f"q{next(_ids)}",
            "from": user(sender),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": DATE,
                "chat": chat,
                "from": user(42, "Steward"),
                "text": "card",
            },
        },
    )


async def feed(app: Steward, raw: dict[str, Any]) -> BaseException | None:
    try:
        await feed_raw_update(app, raw)
        await app.escalation.cards_settled()  # cards go out in the background
    except Exception as exc:  # what escaped a handler
        return exc
    return None


def commands(dp: Dispatcher) -> set[str]:
    """Every command some message handler of the dispatcher filters on."""
    found: set[str] = set()
    for router in dp.chain_tail:
        for handler in router.message.handlers:
            for flt in handler.filters or []:
                if isinstance(flt.callback, Command):
                    for cmd in flt.callback.commands:
                        found.add(cmd if isinstance(cmd, str) else getattr(cmd, "command", str(cmd)))
    return found


def callback_prefixes() -> dict[str, type[CallbackData]]:
    """Every typed CallbackData class of the handlers, by prefix."""
    import handlers  # noqa: F401  (the routers are imported by Steward already)

    out: dict[str, type[CallbackData]] = {}
    stack = list(CallbackData.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("handlers"):
            out[cls.__prefix__] = cls
    return out
