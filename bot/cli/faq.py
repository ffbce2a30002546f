"""``steward faq import FILE --chat ID [--partial]`` and ``steward faq export --chat ID [-o FILE]``.

Import validates the whole file first. Any broken entry is reported with its position and field;
without ``--partial`` nothing is written, with ``--partial`` the good entries are imported (in
one transaction) and the broken ones listed. Entries are matched by ``id``: an existing id is
replaced (its questions re-embedded), new ids are added, entries not in the file are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import SubParsers, add_command, offline_services, settings_of
from bot.config import Settings

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def _scope(args: argparse.Namespace) -> int | None:
    from bot.domain.faq import GLOBAL

    if args.global_:
        return GLOBAL
    return int(args.chat) if args.chat is not None else None


async def run_import(
    settings: Settings, file: Path, chat_id: int, *, partial: bool, out: Any = sys.stdout, encoder_loader: Any = None
) -> int:
    from bot.services.faq_io import FaqFileError, parse_toml

    try:
        text = await asyncio.to_thread(file.read_text, "utf-8")
    except OSError as exc:
        print(f"steward faq import: cannot read {file}: {exc.strerror}", file=out)
        return EXIT_USAGE
    except UnicodeDecodeError:
        print(f"steward faq import: {file} is not UTF-8 text", file=out)
        return EXIT_USAGE
    try:
        drafts, problems = parse_toml(text)
    except FaqFileError as exc:
        print(f"steward faq import: {file}: {exc}; nothing was imported", file=out)
        return EXIT_INVALID
    for problem in problems:
        print(f"{file}: {problem}", file=out)
    if problems and not partial:
        print(
            f"{len(problems)} problem(s) in {file}; nothing was imported "
            f"(fix them, or pass --partial to import the {len(drafts)} valid entries)",
            file=out,
        )
        return EXIT_INVALID
    if not drafts:
        print("no valid entries; nothing was imported", file=out)
        return EXIT_INVALID
    async with offline_services(settings, "faq import", faq_encoder_loader=encoder_loader) as services:
        service = services.faq
        try:
            await service.start()
            if not await service.ensure_encoder():
                print(
                    f"steward faq import: the encoder {settings.faq.encoder!r} could not be loaded (see the log); "
                    "nothing was imported",
                    file=out,
                )
                return EXIT_USAGE
            if chat_id != 0 and await services.communities.get(chat_id) is None:
                print(f"note: the bot has not seen chat {chat_id} yet; the entries will apply once it does", file=out)
            created, updated = await service.import_drafts(chat_id, drafts)
        finally:
            await service.close()
    skipped = f", skipped {len({p.position for p in problems})} broken" if problems else ""
    scope = "the global set" if chat_id == 0 else f"chat {chat_id}"
    print(f"imported {len(drafts)} entries into {scope}: {created} new, {updated} replaced{skipped}", file=out)
    return EXIT_OK


async def run_export(settings: Settings, chat_id: int, output: Path | None, *, out: Any = sys.stdout) -> int:
    from bot.services.faq_io import FaqDraft, dump_toml

    async with offline_services(settings, "faq export") as services:
        entries = await services.faq_repo.list_entries([chat_id])
    drafts = [
        FaqDraft(e.key, e.questions, e.answer, e.enabled, e.thread_id, e.buttons, dict(e.answers)) for e in entries
    ]
    scope = "global set" if chat_id == 0 else f"chat {chat_id}"
    text = dump_toml(
        drafts,
        header=f"Steward FAQ export: {scope}, {len(drafts)} entries.\n"
        f"Import with: steward faq import FILE --chat {chat_id if chat_id else 'ID'}",
    )
    if output is None:
        out.write(text)
    else:
        await asyncio.to_thread(output.write_text, text, "utf-8")
        print(f"exported {len(drafts)} entries of the {scope} to {output}", file=out)
    return EXIT_OK


def _cmd(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    chat_id = _scope(args)
    if chat_id is None:
        print("steward faq: give --chat ID (the group's id) or --global", file=sys.stderr)
        return EXIT_USAGE
    if args.faq_command == "import":
        return asyncio.run(run_import(settings, Path(args.file), chat_id, partial=args.partial))
    return asyncio.run(run_export(settings, chat_id, Path(args.output) if args.output else None))


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    faq = add_command(sub, common, "faq", "import or export FAQ entries (TOML, see docs/faq.md)")
    faq_sub = faq.add_subparsers(dest="faq_command", metavar="ACTION", required=True)
    for name, help_text in (("import", "import entries from a TOML file"), ("export", "print entries as TOML")):
        p = faq_sub.add_parser(name, parents=[common], help=help_text)
        if name == "import":
            p.add_argument("file", help="the FAQ file (TOML)")
            p.add_argument(
                "--partial", action="store_true", help="import the valid entries even when others are broken"
            )
        else:
            p.add_argument("-o", "--output", help="write to this file instead of standard output")
        scope = p.add_mutually_exclusive_group()
        scope.add_argument("--chat", type=int, help="the community's chat id (for example -1001234567890)")
        scope.add_argument("--global", dest="global_", action="store_true", help="the set shared by all communities")
        p.set_defaults(func=_cmd)
