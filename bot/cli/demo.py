"""``steward demo [--out DIR] [--fast]``: the README's first command; needs no Telegram token."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.common import SubParsers, add_command

__all__ = ["cmd_demo", "register"]

HELP = "run the real bot against a local sandbox Telegram on a scripted community (no token needed)"
DESCRIPTION = (
    "Runs Steward (real polling loop, bundled model, fresh SQLite) against the sandbox Bot API "
    "on 127.0.0.1 and prints a transcript. The database and the charts stay in the output folder; the last "
    "line printed is that folder."
)


def _default_out() -> Path:
    return Path("demo-output") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo.runner import hold_forever, run_demo
    from bot.signals import run_until_signalled

    out_dir: Path = args.out or _default_out()
    if out_dir.exists() and any(out_dir.iterdir()):
        print(f"steward demo: {out_dir} is not empty; pick a new folder with --out", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    # The bot's own log goes to a file so the transcript stays readable.
    handler = logging.FileHandler(out_dir / "demo.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    ok = False
    try:
        # SIGINT / SIGTERM stop the demo cleanly even when it was started with SIGINT ignored (bot.signals).
        stopped, result = asyncio.run(
            run_until_signalled(
                run_demo(
                    out_dir,
                    fast=args.fast,
                    stream=sys.stdout,
                    dashboard=hold_forever if args.dashboard else None,
                    dashboard_port=args.port,
                )
            )
        )
        if stopped or result is None:
            print("steward demo: stopped by a signal", flush=True)
            print(out_dir.resolve(), flush=True)
            return 130
        ok = result.ok
    except Exception as exc:  # the sandbox or the bot could not start: say why, keep the folder
        logging.getLogger(__name__).exception("the demo stopped")
        print(f"steward demo: stopped: {type(exc).__name__}: {exc} (details in {out_dir / 'demo.log'})", flush=True)
    finally:
        root.removeHandler(handler)
        handler.close()
    print(out_dir.resolve(), flush=True)
    return 0 if ok else 1


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    p = add_command(sub, common, "demo", HELP, DESCRIPTION)
    p.add_argument("--out", type=Path, default=None, help="output folder (default demo-output/<UTC timestamp>)")
    p.add_argument("--fast", action="store_true", help="keyword stand-ins instead of the bundled models (seconds)")
    p.add_argument(
        "--dashboard",
        action="store_true",
        help="leave the demo's case open, serve the managers' dashboard and keep running; prints 'dashboard: URL'",
    )
    p.add_argument("--port", type=int, default=None, help="the dashboard's port with --dashboard (default: a free one)")
    p.set_defaults(func=cmd_demo)
