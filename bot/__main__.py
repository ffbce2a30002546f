"""The `steward` command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import add_secret, redact, redacted_std_streams

EXIT_CONFIG = 2
EXIT_ERROR = 1

Command = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if settings.telegram.token is not None:
        add_secret(settings.telegram.token.get_secret_value())
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    token = settings.require_token()

    from bot.app import Steward
    from bot.logs import setup_logging
    from bot.webhook import run_webhook

    setup_logging(level=logging.DEBUG if args.verbose else logging.INFO, secrets=[token])

    async def main() -> None:
        app = Steward(settings)
        await app.start()
        try:
            if settings.telegram.mode == "webhook":
                await run_webhook(app)
            else:
                await app.run_polling()
        finally:
            await app.stop()
            await app.close_session()

    asyncio.run(main())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.check import run_check

    settings = _settings(args)
    return asyncio.run(run_check(settings, args.config))


Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]", argparse.ArgumentParser], None]


CORE_COMMANDS = {"run", "check"}


def requested_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in argv, skipping options (and --config's value)."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--config":
            next(tokens, None)
        elif not token.startswith("-"):
            return token
    return None


def build_parser(*, with_features: bool = True) -> argparse.ArgumentParser:
    # --config and -v are accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="TOML config file (or STEWARD_CONFIG)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging")
    parser = argparse.ArgumentParser(
        prog="steward",
        description="Steward: an assistant for community managers on Telegram.",
        parents=[common],
    )
    parser.set_defaults(config=None, verbose=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run the bot (long polling or webhook, as configured)")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", parents=[common], help="validate the config, the database and the bot's rights")
    check.set_defaults(func=cmd_check)

    # Feature commands import their services (aiogram, numpy, matplotlib): `run` and `check`
    # skip them so a config error is reported at once.
    for register in feature_commands() if with_features else []:
        register(sub, common)
    return parser


def feature_commands() -> list[Registrar]:
    """Subcommands that live next to their features (faq, posts, stats, analyze, demo)."""
    from bot import communities_cli, escalation_cli, faq_cli, posts_io, stats_cli
    from bot.analyze import cli as analyze_cli
    from bot.demo import cli as demo_cli

    return [
        posts_io.register,
        stats_cli.register,
        faq_cli.register,
        analyze_cli.register,
        demo_cli.register,
        escalation_cli.register,
        communities_cli.register,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(with_features=requested_command(arguments) not in CORE_COMMANDS)
    args = parser.parse_args(arguments)
    func: Command | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_CONFIG
    # Whatever goes wrong, the token is not printed: every line of output passes the redactor,
    # and an unexpected error is one redacted line (its traceback too, redacted, with -v).
    with redacted_std_streams():
        try:
            return func(args)
        except ConfigError as exc:
            print(f"steward: config error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        except KeyboardInterrupt:
            return 130
        except Exception as exc:
            if args.verbose:
                traceback.print_exc(file=sys.stderr)
            print(f"steward: {args.command} failed: {redact(f'{type(exc).__name__}: {exc}')}", file=sys.stderr)
            return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
