"""``steward cases``: cases and response times from the command line."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.storage.cases import CaseRepository
from bot.timeutil import epoch_now
from tests.builders import add_supergroup, open_pile_on_case, opened_db

CHAT = -1001234567890


async def seed(path: Path) -> None:
    async with opened_db(path) as db:
        await add_supergroup(db, CHAT, "Acme Club")
        cases = CaseRepository(db)
        now = epoch_now()
        for n, thread in enumerate(("m:1", "m:2")):
            await open_pile_on_case(cases, CHAT, thread, message_id=1 + n, at=now - 600)
        await cases.answer(1, 500, "Mia", now - 300, note=None)
        await cases.close(1, "resolved", 500, "Mia", now)
        await cases.count_feedback(CHAT, "resolved", now)


def config(tmp_path: Path) -> Path:
    file = tmp_path / "steward.toml"
    file.write_text(f'[database]\npath = "{tmp_path / "steward.db"}"\n', encoding="utf-8")
    return file


def test_cases_lists_open_ones_and_exports_all_as_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(seed(tmp_path / "steward.db"))
    cfg = config(tmp_path)
    assert main(["cases", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "#2" in out and "#1 " not in out and "no answer yet" in out and "precision Acme Club: 100%" in out
    target = tmp_path / "cases.csv"
    assert main(["cases", "--config", str(cfg), "--all", "--csv", str(target)]) == 0
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["2", "1"]  # most recent first (same second: the higher id)
    resolved = next(r for r in rows if r["id"] == "1")
    assert resolved["state"] == "resolved" and resolved["response_seconds"] == "300" and resolved["closed_by"] == "Mia"


def test_cases_explains_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path)
    assert main(["cases", "--config", str(cfg)]) == 1
    assert "no database" in capsys.readouterr().err
    (tmp_path / "steward.db").touch()
    assert main(["cases", "--config", str(cfg), "--since", "last week"]) == 1
    assert "use a span such as" in capsys.readouterr().err
