"""``steward run``: the bot, on long polling or a webhook as configured.

A core command: importing this module stays light (the bot loads when it runs), so a config error is
reported at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot.cli.common import SubParsers, add_command, settings_of


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
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


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    run = add_command(sub, common, "run", "run the bot (long polling or webhook, as configured)")
    run.set_defaults(func=cmd_run)
