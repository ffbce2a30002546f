"""What the subcommands share: declaring a subcommand, the settings, and the services offline."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from bot.config import Settings, load_settings
from bot.logs import add_secret

if TYPE_CHECKING:
    from bot.composition import EncoderLoader, Services

# _SubParsersAction is not subscriptable at run time: the alias is a string, resolved by the type checker.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Registrar: TypeAlias = Callable[[SubParsers, argparse.ArgumentParser], None]

EXIT_INPUT = 1
NO_DATABASE_HINT = "set database.path or use --config"


def add_command(
    sub: SubParsers,
    common: argparse.ArgumentParser,
    name: str,
    help: str,
    description: str | None = None,
    *,
    verbatim: bool = False,
) -> argparse.ArgumentParser:
    """A subcommand that takes ``--config`` and ``-v`` too; ``verbatim`` keeps the description's layout."""
    return sub.add_parser(
        name,
        parents=[common],
        help=help,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter if verbatim else argparse.HelpFormatter,
    )


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings ``--config`` names; the token is a secret for every line printed from now on."""
    settings = load_settings(args.config)
    if settings.telegram.token is not None:
        add_secret(settings.telegram.token.get_secret_value())
    return settings


def complain(command: str, text: str) -> int:
    print(f"steward {command}: {text}", file=sys.stderr)
    return EXIT_INPUT


async def no_database(settings: Settings, command: str, *, hint: str = NO_DATABASE_HINT) -> int | None:
    """The exit code when the configured database does not exist (said on stderr), else None."""
    path = settings.database.path
    if await asyncio.to_thread(Path(path).exists):
        return None
    return complain(command, f"no database at {path} ({hint})")


@asynccontextmanager
async def offline_services(
    settings: Settings, command: str, *, faq_encoder_loader: EncoderLoader | None = None
) -> AsyncIterator[Services]:
    """The bot's services (bot.composition) on an open database, with no Telegram behind them."""
    from bot.cli.offline import offline_ports
    from bot.composition import COMMAND_LINE, Loaders, build_services

    ports = offline_ports(command, managers_chat_id=settings.managers.chat_id)
    services = build_services(settings, ports, front_end=COMMAND_LINE, loaders=Loaders(faq_encoder=faq_encoder_loader))
    await services.db.open()
    try:
        yield services
    finally:
        await services.db.close()


def utc_text(seconds: int | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if seconds is None else datetime.fromtimestamp(seconds, UTC).strftime(fmt)
