"""The `steward` command line (also `python -m bot`): the parser and the dispatch to one module per subcommand."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.cli import check, run
from bot.cli.common import Registrar
from bot.config import ConfigError
from bot.logs import redact, redacted_std_streams

EXIT_CONFIG = 2
EXIT_ERROR = 1

Command = Callable[[argparse.Namespace], int]

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
    # Feature commands import their services (aiogram, numpy, matplotlib): `run` and `check`
    # skip them so a config error is reported at once.
    for register in [run.register, check.register, *(feature_commands() if with_features else [])]:
        register(sub, common)
    return parser


def feature_commands() -> list[Registrar]:
    """The subcommands past the core ones, one module each in bot/cli."""
    from bot.cli import analyze, cases, communities, dashboard, demo, faq, posts, stats

    return [
        posts.register,
        stats.register,
        faq.register,
        analyze.register,
        demo.register,
        cases.register,
        communities.register,
        dashboard.register,
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
