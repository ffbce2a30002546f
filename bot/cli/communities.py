"""``steward communities``: the groups the bot knows, and approving them ([access] communities = "approved").

steward communities list            # every community: approved or waiting, active or not
steward communities approve -100123 # serve this group from now on (a running bot notices within a minute)
steward communities revoke -100123  # stop serving it (it waits for approval again)
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import (
    SubParsers,
    add_command,
    complain,
    no_database,
    offline_services,
    settings_of,
    utc_text,
)
from bot.config import Settings

HELP = "list communities, approve or revoke them ([access] communities = approved)"


async def run_communities(settings: Settings, action: str, chat_id: int | None) -> int:
    if (missing := await no_database(settings, "communities")) is not None:
        return missing
    async with offline_services(settings, "communities") as services:
        if action == "list":
            print(f"access mode: {settings.access.communities}")
            for c in await services.communities.list(active_only=False):
                if c.chat_id > 0:
                    continue
                since = utc_text(c.approved_at, "%Y-%m-%d") if c.approved_at else ""
                status = f"approved {since}" if c.approved_at else "waiting for approval"
                active = "" if c.is_active else "  (bot not in the group)"
                print(f"{c.chat_id}  {status:<21} {c.title}{active}")
            return 0
        assert chat_id is not None
        if action == "approve":
            community = await services.access.approve(chat_id, None)
            if community is None:
                return complain("communities", f"unknown chat {chat_id}; add the bot to it first")
            print(f"approved {chat_id} {community.title}")
            return 0
        if not await services.access.revoke(chat_id):
            return complain("communities", f"unknown chat {chat_id}")
        print(f"revoked {chat_id}: it waits for approval again")
        return 0


def _chat_id(value: str) -> int:
    try:
        chat_id = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a chat id such as -1001234567890") from None
    if chat_id >= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a group id (group ids are negative)")
    return chat_id


def _cmd(args: argparse.Namespace) -> int:
    return asyncio.run(run_communities(settings_of(args), args.action, getattr(args, "chat_id", None)))


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    parser = add_command(sub, common, "communities", HELP, __doc__, verbatim=True)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", parents=[common], help="every community and whether it is approved")
    for name, text in (("approve", "serve this group"), ("revoke", "stop serving this group")):
        action = actions.add_parser(name, parents=[common], help=text)
        action.add_argument("chat_id", type=_chat_id, metavar="CHAT_ID")
    parser.set_defaults(func=_cmd)
