"""``steward posts import FILE`` and ``steward posts export``: scheduled posts as TOML (bot.services.posts_io).

Import is all-or-nothing: every entry is checked first and each error names the entry and the field.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.common import SubParsers, add_command, offline_services, settings_of
from bot.config import Settings
from bot.domain.posts import Post
from bot.services.posts_io import EXPORT_STATUSES, ImportError_, parse_file, post_to_toml, read_toml


async def import_file(settings: Settings, path: Path, *, dry_run: bool = False) -> list[Post]:
    data = await asyncio.to_thread(read_toml, path)
    async with offline_services(settings, "posts import") as services:
        service = services.posts
        posts = await parse_file(service, data, now=datetime.now(UTC))
        entries = data.get("post", [])
        ids = [e.get("id") if isinstance(e.get("id"), int) else None for e in entries]
        known = {c.chat_id for c in await service.communities.list(active_only=False)}
        for chat in sorted({p.chat_id for p in posts} - known):
            print(
                f"steward: note: chat {chat} is not a community the bot knows yet; "
                f"using the default timezone {settings.community.timezone}",
                file=sys.stderr,
            )
        if dry_run:
            return posts
        stored = []
        async with services.db.transaction():
            for post, entry_id in zip(posts, ids, strict=True):
                if entry_id is not None and await service.repo.get(entry_id) is not None:
                    print(f"steward: note: post #{entry_id} is already scheduled here; skipped", file=sys.stderr)
                    continue
                stored.append(await service.repo.add(post))
        return stored


async def export_posts(settings: Settings, *, include_all: bool = False) -> str:
    async with offline_services(settings, "posts export") as services:
        posts = await services.posts.repo.list_posts(statuses=None if include_all else EXPORT_STATUSES, limit=100_000)
    header = (
        "# Steward scheduled posts (steward posts export). Re-import with: steward posts import FILE\n"
        "# Times are local to each post's timezone. An entry whose id already exists is skipped on import.\n\n"
    )
    return header + "\n".join(post_to_toml(p) for p in posts)


def _cmd_import(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    try:
        posts = asyncio.run(import_file(settings, args.file, dry_run=args.dry_run))
    except ImportError_ as exc:
        for line in exc.errors:
            print(f"steward: {line}", file=sys.stderr)
        print("steward: nothing was imported; fix the lines above and run again", file=sys.stderr)
        return 1
    verb = "would import" if args.dry_run else "imported"
    print(
        f"{verb} {len(posts)} post(s)"
        + ("" if args.dry_run else f": #{', #'.join(str(p.id) for p in posts)}" if posts else "")
    )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    text = asyncio.run(export_posts(settings, include_all=args.all))
    if args.out is None or str(args.out) == "-":
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"exported to {args.out}")
    return 0


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    posts = add_command(sub, common, "posts", "import or export scheduled posts (TOML)")
    actions = posts.add_subparsers(dest="posts_command", metavar="ACTION", required=True)
    imp = actions.add_parser("import", parents=[common], help="schedule the posts in a TOML file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check the file, change nothing")
    imp.set_defaults(func=_cmd_import)
    exp = actions.add_parser("export", parents=[common], help="write scheduled posts as TOML")
    exp.add_argument("--out", type=Path, default=None, help="file to write (default: standard output)")
    exp.add_argument("--all", action="store_true", help="also sent and cancelled posts")
    exp.set_defaults(func=_cmd_export)
