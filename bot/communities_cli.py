"""``steward communities``: the groups the bot knows, and approving them ([access] communities = "approved").

steward communities list            # every community: approved or waiting, active or not
steward communities approve -100123 # serve this group from now on (a running bot notices within a minute)
steward communities revoke -100123  # stop serving it (it waits for approval again)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings, load_settings

EXIT_INPUT = 1


async def run_communities(settings: Settings, action: str, chat_id: int | None) -> int:
    from bot.services.access import AccessService
    from bot.storage.communities import CommunityRepository
    from bot.storage.db import Database

    path = settings.database.path
    if not await asyncio.to_thread(Path(path).exists):
        print(f"steward communities: no database at {path} (set database.path or use --config)", file=sys.stderr)
        return EXIT_INPUT
    db = Database(path)
    await db.open()
    try:
        repo = CommunityRepository(db)
        access = AccessService(
            repo, settings.access, manager_ids=settings.manager_ids, managers_chat_id=settings.managers.chat_id
        )
        if action == "list":
            print(f"access mode: {settings.access.communities}")
            for c in await repo.list(active_only=False):
                if c.chat_id > 0:
                    continue
                since = datetime.fromtimestamp(c.approved_at, UTC).strftime("%Y-%m-%d") if c.approved_at else ""
                status = f"approved {since}" if c.approved_at else "waiting for approval"
                active = "" if c.is_active else "  (bot not in the group)"
                print(f"{c.chat_id}  {status:<21} {c.title}{active}")
            return 0
        assert chat_id is not None
        if action == "approve":
            community = await access.approve(chat_id, None)
            if community is None:
                print(f"steward communities: unknown chat {chat_id}; add the bot to it first", file=sys.stderr)
                return EXIT_INPUT
            print(f"approved {chat_id} {community.title}")
            return 0
        if not await access.revoke(chat_id):
            print(f"steward communities: unknown chat {chat_id}", file=sys.stderr)
            return EXIT_INPUT
        print(f"revoked {chat_id}: it waits for approval again")
        return 0
    finally:
        await db.close()


def _chat_id(value: str) -> int:
    try:
        chat_id = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a chat id such as -1001234567890") from None
    if chat_id >= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a group id (group ids are negative)")
    return chat_id


def _cmd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    return asyncio.run(run_communities(settings, args.action, getattr(args, "chat_id", None)))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """The ``communities`` subcommand (see bot.__main__.feature_commands)."""
    parser = sub.add_parser(
        "communities",
        parents=[common],
        help="list communities, approve or revoke them ([access] communities = approved)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", parents=[common], help="every community and whether it is approved")
    for name, text in (("approve", "serve this group"), ("revoke", "stop serving this group")):
        action = actions.add_parser(name, parents=[common], help=text)
        action.add_argument("chat_id", type=_chat_id, metavar="CHAT_ID")
    parser.set_defaults(func=_cmd)
