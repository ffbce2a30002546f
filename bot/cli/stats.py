"""``steward stats``: the /stats figures from the command line, as text, CSV files and charts.

    steward stats --chat -1001234567890 --since 30d --csv out/
    steward stats --chat -1001234567890 --since 2026-11-01 --until 2026-11-30 --charts out/

``--since`` takes ``7d`` / ``4w`` (before now) or a date (``2026-11-01``, midnight in the
community's timezone) or an ISO date-time with an offset. ``--until`` (default: now) takes a
date (the end of that day, inclusive) or an ISO date-time.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import suppress
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.cli.common import SubParsers, add_command, complain, no_database, offline_services, settings_of
from bot.config import Settings
from bot.textsafety import compile_pattern

HELP = "a community's figures (the same as /stats) as text, CSV files and PNG charts"
_PERIOD = compile_pattern(r"(\d{1,4})([dw])", name="cli.stats.period")
_DATE = compile_pattern(r"\d{4}-\d{2}-\d{2}", name="cli.stats.date")


class InputError(ValueError):
    """A bad command-line value, worded for the person who typed it."""


def parse_moment(value: str, *, zone: str, now: datetime, end_of_day: bool) -> int:
    """Unix seconds for a relative span (before ``now``), a date or an ISO date-time."""
    text = value.strip()
    try:
        tz = ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        tz = ZoneInfo("UTC")
    if m := _PERIOD.fullmatch(text):
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        return int((now - timedelta(days=days)).timestamp())
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InputError(f"{value!r} is not a valid date") from None
        if end_of_day:
            day += timedelta(days=1)
        return int(datetime.combine(day, time(0), tz).timestamp())
    with suppress(ValueError):
        moment = datetime.fromisoformat(text)
        return int((moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)).timestamp())
    raise InputError(f"{value!r} is not a span (7d, 4w), a date (2026-11-01) or a date-time (2026-11-01T09:00+02:00)")


async def run_stats(
    settings: Settings,
    *,
    chat_id: int | None,
    since: str,
    until: str | None,
    csv_dir: Path | None,
    charts_dir: Path | None,
    language: str | None,
) -> int:
    from bot.i18n import Translator
    from bot.services.stats import build_report, export_csv, plain_text, summary_text

    def say(text: str) -> None:
        print(text)

    def fail(text: str) -> int:
        return complain("stats", text)

    if (
        missing := await no_database(settings, "stats", hint="set database.path in the config or use --config")
    ) is not None:
        return missing
    async with offline_services(settings, "stats") as services:
        path = settings.database.path
        known = await services.communities.list(active_only=False)
        if chat_id is None:
            listing = "".join(f"\n  {c.chat_id}  {c.title}{'' if c.is_active else '  (inactive)'}" for c in known)
            return fail("name the group with --chat ID. Groups in this database:" + (listing or " none"))
        community = next((c for c in known if c.chat_id == chat_id), None)
        if community is None:
            return fail(f"no group {chat_id} in {path}; known: " + (", ".join(str(c.chat_id) for c in known) or "none"))
        now = datetime.now(ZoneInfo("UTC"))
        try:
            start = parse_moment(since, zone=community.timezone, now=now, end_of_day=False)
            end = (
                int(now.timestamp()) + 1
                if until is None
                else parse_moment(until, zone=community.timezone, now=now, end_of_day=True)
            )
        except InputError as exc:
            return fail(str(exc))
        if end <= start:
            return fail("--until must be after --since")
        report = await build_report(
            services.db, chat_id, since=start, until=end, timezone=community.timezone, title=community.title
        )
        say(plain_text(summary_text(report, Translator(language or community.language))))
        if csv_dir is not None:
            for written in await asyncio.to_thread(export_csv, report, csv_dir):
                say(f"wrote {written}")
        if charts_dir is not None:
            from bot.services.charts import render_report

            chart_locale = language or community.language
            for written in await asyncio.to_thread(render_report, report, charts_dir, locale=chart_locale):
                say(f"wrote {written}")
        return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    options = {name: getattr(args, name) for name in ("chat_id", "since", "until", "csv_dir", "charts_dir", "language")}
    return asyncio.run(run_stats(settings_of(args), **options))


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    stats = add_command(sub, common, "stats", HELP, __doc__, verbatim=True)
    stats.add_argument(
        "--chat",
        dest="chat_id",
        metavar="CHAT",
        type=int,
        default=None,
        help="the group's chat id (omit to list the groups)",
    )
    stats.add_argument("--since", default="7d", help="7d, 4w, 2026-11-01 or an ISO date-time (default 7d)")
    stats.add_argument("--until", default=None, help="a date (inclusive) or an ISO date-time (default: now)")
    stats.add_argument(
        "--csv", dest="csv_dir", type=Path, default=None, metavar="DIR", help="write the figures as CSV files here"
    )
    stats.add_argument(
        "--charts", dest="charts_dir", type=Path, default=None, metavar="DIR", help="write the PNG charts here"
    )
    stats.add_argument(
        "--lang", dest="language", metavar="LANG", default=None, help="language of the text summary (en, ru, he)"
    )
    stats.set_defaults(func=_cmd_stats)
