"""`steward stats`: the same figures from the command line, as text and CSV."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.storage.db import Database
from bot.storage.growth import GrowthRepository
from bot.timeutil import epoch_now

CHAT = -1001000000800


async def seed(path: Path) -> None:
    db = Database(path)
    await db.open()
    try:
        now = epoch_now()
        await db.execute(
            "INSERT INTO communities (chat_id, title, type, created_at, updated_at)"
            " VALUES (?, 'Tea club', 'supergroup', 0, 0)",
            (CHAT,),
        )
        for i in range(5):
            await db.execute(
                "INSERT INTO messages (chat_id, message_id, thread_key, user_id, text, date, sentiment_label)"
                " VALUES (?, ?, ?, ?, 'hi', ?, 'positive')",
                (CHAT, i + 1, f"m:{i + 1}", 10 + i % 2, now - 3600 * (i + 1)),
            )
        repo = GrowthRepository(db)
        await repo.add_campaign(CHAT, "flyer", "https://t.me/+flyer", created_by=1, at=now - 86_400)
        await repo.record_join(
            CHAT, 50, now - 7200, source="chat_member", invite_link="https://t.me/+flyer", via="link"
        )
        # An old message outside a 7-day window.
        await db.execute(
            "INSERT INTO messages (chat_id, message_id, thread_key, user_id, text, date) VALUES (?, 99, 'm:99', 1,"
            " 'old', ?)",
            (CHAT, now - 20 * 86_400),
        )
    finally:
        await db.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db_path = tmp_path / "steward.db"
    asyncio.run(seed(db_path))
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\npath = "{db_path}"\n', encoding="utf-8")
    return cfg


def test_stats_prints_the_summary_and_writes_csv(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "csv"
    code = main(["stats", "--config", str(config), "--chat", str(CHAT), "--since", "7d", "--csv", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "Tea club" in printed and "Messages: 5 from 2 members" in printed
    assert "flyer: +1/−0" in printed
    with (out / "summary.csv").open(encoding="utf-8") as handle:
        summary = {row["metric"]: row["value"] for row in csv.DictReader(handle)}
    assert summary["messages"] == "5" and summary["joins"] == "1" and summary["sentiment_positive"] == "5"
    with (out / "campaigns.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [{"source": "campaign", "campaign": "flyer", "joins": "1", "leaves": "0"}]
    # A longer window takes in the old message too.
    assert main(["stats", "--config", str(config), "--chat", str(CHAT), "--since", "30d"]) == 0
    assert "Messages: 6" in capsys.readouterr().out


def test_stats_writes_charts(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "png"
    assert main(["stats", "--config", str(config), "--chat", str(CHAT), "--charts", str(out)]) == 0
    pngs = sorted(out.glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_stats_bad_input_is_explained(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--config", str(config), "--chat", "-100999", "--since", "7d"]) == 1
    assert "no group -100999" in capsys.readouterr().err
    assert main(["stats", "--config", str(config), "--chat", str(CHAT), "--since", "last week"]) == 1
    assert "is not a span" in capsys.readouterr().err
    assert main(["stats", "--config", str(config), "--chat", str(CHAT), "--since", "2026-02-30"]) == 1
    assert "not a valid date" in capsys.readouterr().err
    assert main(["stats", "--config", str(config)]) == 1
    listing = capsys.readouterr().err
    assert str(CHAT) in listing and "Tea club" in listing


def test_stats_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[database]\npath = "{tmp_path / "missing.db"}"\n', encoding="utf-8")
    assert main(["stats", "--config", str(cfg), "--chat", str(CHAT)]) == 1
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()
