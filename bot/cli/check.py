"""`steward check`: validate the config, the database and the rights that can be verified.

A core command: importing this module stays light (aiogram and the storage load when it runs), so a
config error is reported at once.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.common import SubParsers, add_command, settings_of
from bot.config import Settings
from bot.domain import Community
from bot.logs import redact


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.problems = 0

    # Error texts can carry the request URL, and with it the token: every line is redacted.
    def ok(self, text: str) -> None:
        self.lines.append(f"  ok    {redact(text)}")

    def warn(self, text: str) -> None:
        self.lines.append(f"  warn  {redact(text)}")

    def fail(self, text: str) -> None:
        self.problems += 1
        self.lines.append(f"  FAIL  {redact(text)}")

    def section(self, title: str) -> None:
        self.lines.append(f"\n{title}")


async def run_check(settings: Settings, config_path: Path | None) -> int:
    from bot.storage.communities import CommunityRepository
    from bot.storage.db import Database

    report = Report()
    report.section("Configuration")
    report.ok(f"loaded from {config_path}" if config_path else "loaded from defaults and environment")
    if settings.telegram.token is None:
        report.fail("telegram.token is missing (config, STEWARD_TELEGRAM__TOKEN or BOT_TOKEN)")
    else:
        report.ok("telegram.token is set")
    report.ok(f"mode: {settings.telegram.mode}; API: {settings.telegram.api_base or 'api.telegram.org'}")
    if settings.managers.ids:
        report.ok(f"{len(settings.managers.ids)} manager(s) by user id")
    else:
        report.warn("managers.ids is empty: only chat admins can manage their own chats")
    if settings.managers.chat_id is None:
        report.warn("managers.chat_id is unset: cases and receipts go to managers in private")

    report.section("Database")
    db = Database(settings.database.path)
    communities: list[Community] = []
    try:
        await db.open()
        report.ok(f"{settings.database.path} at schema version {await db.schema_version()}")
        integrity = await db.integrity_check()
        (report.ok if integrity == "ok" else report.fail)(f"integrity check: {integrity}")
        communities = await CommunityRepository(db).list()
        report.ok(f"{len(communities)} active communit{'y' if len(communities) == 1 else 'ies'}")
    except Exception as exc:
        report.fail(f"cannot open {settings.database.path}: {exc}")
    finally:
        await db.close()

    report.section("Model")
    model = settings.sentiment.model
    report.ok(f"sentiment model: {'bundled default' if model == 'default' else model}")
    from bot.services.languages import weak_language_note

    for community in communities:
        detected = community.settings.get("detected_language")
        note = weak_language_note(detected if isinstance(detected, str) else community.language, model)
        if note:
            report.warn(f"{community.title}: {note}")

    report.section("Telegram")
    if settings.telegram.token is not None:
        await _check_telegram(settings, communities, report)
    print("Steward check" + "\n".join(["", *report.lines]))
    print(f"\n{'All good.' if report.problems == 0 else f'{report.problems} problem(s) found.'}")
    return 0 if report.problems == 0 else 1


async def _check_telegram(settings: Settings, communities: list[Community], report: Report) -> None:
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
    from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

    from bot.app import build_bot

    bot = build_bot(settings)
    try:
        me = await bot.get_me()
        report.ok(f"bot @{me.username} (id {me.id})")
        if not me.can_read_all_group_messages:
            report.warn("privacy mode is on: the bot must be an admin to read group messages")
        for community in communities:
            try:
                member = await bot.get_chat_member(community.chat_id, me.id)
            except TelegramAPIError as exc:
                report.fail(f"{community.title} ({community.chat_id}): {exc.message}")
                continue
            if isinstance(member, ChatMemberOwner | ChatMemberAdministrator):
                report.ok(f"{community.title}: admin")
            elif me.can_read_all_group_messages:
                report.warn(f"{community.title}: member only (no pinning, invite links or join tracking)")
            else:
                report.fail(f"{community.title}: cannot read messages (not admin, privacy mode on)")
    except TelegramNetworkError as exc:
        report.fail(f"cannot reach the Bot API: {exc.message}")
    except TelegramAPIError as exc:
        report.fail(f"the Bot API refused the token: {exc.message}")
    finally:
        await bot.session.close()


def _cmd_check(args: argparse.Namespace) -> int:
    return asyncio.run(run_check(settings_of(args), args.config))


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    check = add_command(sub, common, "check", "validate the config, the database and the bot's rights")
    check.set_defaults(func=_cmd_check)
