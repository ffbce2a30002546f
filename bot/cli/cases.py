"""``steward cases``: the escalation cases from the command line, as a table or a CSV file.

    steward cases                      # cases not closed yet, most recent first
    steward cases --all --since 30d    # every case of the last 30 days
    steward cases --all --csv cases.csv

Each row: id, community, state, when it opened (UTC), why, the first-response time, who closed it.
A summary line gives the median first response and each community's precision (resolved share).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from pathlib import Path

from bot.cli.common import SubParsers, add_command, complain, no_database, offline_services, settings_of
from bot.cli.common import utc_text as _utc
from bot.config import Settings
from bot.csvsafe import SafeDictWriter
from bot.textsafety import compile_pattern
from bot.timeutil import epoch_now

HELP = "escalation cases and response times, as a table or CSV"
_SINCE = compile_pattern(r"(\d{1,4})([dh])", name="cli.cases.since")
COLUMNS = [
    "id",
    "chat_id",
    "community",
    "state",
    "shadow",
    "opened_at_utc",
    "reasons",
    "severity",
    "negative_members",
    "taken_by",
    "answered_by",
    "response_seconds",
    "closed_by",
    "closed_at_utc",
]


def parse_since(value: str, now: int) -> int:
    match = _SINCE.fullmatch(value.strip())
    if not match:
        raise ValueError(f"--since {value!r}: use a span such as 24h, 7d or 30d")
    unit = 3600 if match.group(2) == "h" else 86400
    return now - int(match.group(1)) * unit


async def run_cases(settings: Settings, *, include_closed: bool, since: str, csv_path: Path | None) -> int:
    if (missing := await no_database(settings, "cases")) is not None:
        return missing
    try:
        start = parse_since(since, epoch_now())
    except ValueError as exc:
        return complain("cases", str(exc))
    async with offline_services(settings, "cases") as services:
        titles: dict[int, str] = {}
        table: list[dict[str, object]] = []
        for case in await services.cases.opened_since(start, include_closed=include_closed):
            if case.chat_id not in titles:
                community = await services.communities.get(case.chat_id)
                titles[case.chat_id] = community.title if community is not None else str(case.chat_id)
            table.append(
                {
                    "id": case.id,
                    "chat_id": case.chat_id,
                    "community": titles[case.chat_id],
                    "state": case.state,
                    "shadow": int(case.shadow),
                    "opened_at_utc": _utc(case.opened_at),
                    "reasons": ",".join(case.reasons),
                    "severity": round(case.severity, 2),
                    "negative_members": case.negative_members,
                    "taken_by": case.taken_by_name or "",
                    "answered_by": case.answered_by_name or "",
                    "response_seconds": "" if case.response_seconds is None else case.response_seconds,
                    "closed_by": case.closed_by_name or "",
                    "closed_at_utc": _utc(case.closed_at),
                }
            )
        feedback = await services.cases.all_feedback()
    if csv_path is not None:

        def write() -> None:
            with csv_path.open("w", newline="", encoding="utf-8") as handle:
                writer = SafeDictWriter(handle, fieldnames=COLUMNS)  # member text cannot become a formula
                writer.writeheader()
                writer.writerows(table)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            return complain("cases", f"cannot write {csv_path}: {exc.strerror}")
        print(f"wrote {len(table)} cases to {csv_path}")
        return 0
    if not table:
        print("no cases" + ("" if include_closed else " open") + f" since {_utc(start)} UTC")
    for item in table:
        response = item["response_seconds"]
        answered = f"answered after {int(str(response)) // 60} min" if response != "" else "no answer yet"
        print(
            f"#{item['id']:<5} {item['opened_at_utc']}  {item['state']:<9}{' (shadow)' if item['shadow'] else ''}  "
            f"{item['community']}  [{item['reasons']}]  {answered}"
            + (f"  closed by {item['closed_by']}" if item["closed_by"] else "")
        )
    times = [int(str(item["response_seconds"])) for item in table if item["response_seconds"] != ""]
    if times:
        print(f"median first response: {statistics.median(times) / 60:.1f} min over {len(times)} answered cases")
    for fb in feedback:
        precision = "—" if fb.precision is None else f"{fb.precision:.0%}"
        print(
            f"precision {titles.get(fb.chat_id, fb.chat_id)}: {precision} ({fb.resolved} resolved, "
            f"{fb.dismissed} dismissed)"
        )
    return 0


def _cmd_cases(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    return asyncio.run(run_cases(settings, include_closed=args.all, since=args.since, csv_path=args.csv))


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    cases = add_command(sub, common, "cases", HELP, __doc__, verbatim=True)
    cases.add_argument("--all", action="store_true", help="include resolved, dismissed and expired cases")
    cases.add_argument("--since", default="30d", help="how far back: 24h, 7d, 30d (default 30d)")
    cases.add_argument("--csv", type=Path, default=None, metavar="FILE", help="write the cases to this CSV file")
    cases.set_defaults(func=_cmd_cases)
