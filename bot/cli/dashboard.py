"""``steward dashboard-link --user ID``: a sign-in link for the managers' dashboard, printed on the server.

The operator decides whom to give it to; every page still checks that user's rights (RoleService), so a
link for someone who manages nothing opens an empty dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli.common import SubParsers, add_command, no_database, offline_services, settings_of

HELP = "print a sign-in link (10 minutes, single-use) to the managers' dashboard for a Telegram user id"


def cmd_dashboard_link(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    settings.require_token()

    async def main() -> int:
        missing = await no_database(settings, "dashboard-link")
        if missing is not None:
            return missing
        async with offline_services(settings, "dashboard-link") as services:
            if not services.roles.is_manager(args.user):
                print(
                    f"steward dashboard-link: {args.user} is not in managers.ids; "
                    "the page shows only the groups where they are an admin",
                    file=sys.stderr,
                )
            if not settings.dashboard.enabled:
                print(
                    "steward dashboard-link: [dashboard] enabled is false; the link works once it is on",
                    file=sys.stderr,
                )
            print(services.dashboard_auth.sign_in_url(args.user, args.lang))
        return 0

    return asyncio.run(main())


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    p = add_command(sub, common, "dashboard-link", HELP)
    p.add_argument("--user", type=int, required=True, help="the Telegram user id")
    p.add_argument("--lang", choices=["en", "ru", "he"], default=None, help="the page's language")
    p.set_defaults(func=cmd_dashboard_link)
