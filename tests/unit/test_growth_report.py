"""Reports: charts are real PNG files, the summary and the CSV export carry the same figures."""

from __future__ import annotations

import csv
import random
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.i18n import Translator
from bot.services import charts
from bot.services.stats import build_report, export_csv, plain_text, summary_text
from bot.storage.db import Database
from bot.storage.growth import GrowthRepository

CHAT = -1001000000600
UNTIL = int(datetime(2026, 11, 26, tzinfo=UTC).timestamp())
DAY = 86_400
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


async def seed_month(db: Database) -> None:
    """30 days of a lively community: messages with moods, questions and answers, joins."""
    rng = random.Random(7)
    await db.execute(
        "INSERT INTO communities (chat_id, title, type, created_at, updated_at)"
        " VALUES (?, 'Coffee lovers', 'supergroup', 0, 0)",
        (CHAT,),
    )
    repo = GrowthRepository(db)
    await repo.add_campaign(CHAT, "newsletter", "https://t.me/+news", created_by=1, at=UNTIL - 60 * DAY)
    await repo.add_campaign(CHAT, "meetup", "https://t.me/+meet", created_by=1, at=UNTIL - 60 * DAY)
    message_id = 0
    for day in range(30):
        start = UNTIL - (30 - day) * DAY
        for i in range(rng.randint(15, 60)):
            message_id += 1
            label = rng.choices(["negative", "neutral", "positive"], [1 + (day > 20) * 3, 6, 3])[0]
            await db.execute(
                "INSERT INTO messages (chat_id, message_id, thread_key, user_id, text, date, is_question,"
                " sentiment_label) VALUES (?, ?, ?, ?, 'x', ?, ?, ?)",
                (
                    CHAT,
                    message_id,
                    f"m:{message_id}",
                    100 + rng.randint(0, 25),
                    start + i * 600,
                    int(i % 7 == 0),
                    label,
                ),
            )
        for j in range(rng.randint(0, 4)):
            user = 1000 + day * 10 + j
            link = rng.choice(["https://t.me/+news", "https://t.me/+meet", None])
            await repo.record_join(CHAT, user, start + 3600 * j, source="chat_member", invite_link=link, via="link")
            if j == 0 and day % 5 == 0:
                await repo.record_leave(CHAT, user, start + 3600 * 20, source="chat_member")
            elif j == 1 or (j == 2 and day % 2):
                # some newcomers keep talking in the weeks after they joined
                for week in range(1, 5 - (j == 2) * 2):
                    if start + week * 7 * DAY < UNTIL:
                        message_id += 1
                        await db.execute(
                            "INSERT INTO messages (chat_id, message_id, thread_key, user_id, text, date)"
                            " VALUES (?, ?, ?, ?, 'hi', ?)",
                            (CHAT, message_id, f"m:{message_id}", user, start + week * 7 * DAY),
                        )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "report.db")
    await database.open()
    try:
        await seed_month(database)
        yield database
    finally:
        await database.close()


async def test_charts_are_readable_png_files(db: Database, tmp_path: Path) -> None:
    report = await build_report(db, CHAT, since=UNTIL - 30 * DAY, until=UNTIL, title="Coffee lovers")
    out = tmp_path / "charts"
    paths = charts.render_report(report, out)
    names = sorted(p.name for p in paths)
    assert names == ["activity.png", "growth.png", "retention.png", "sentiment.png"]
    for path in paths:
        width, height = png_size(path)
        assert width >= 600 and height >= 150, (path.name, width, height)
        assert path.stat().st_size > 10_000  # a real drawing, not an empty canvas


async def test_no_chart_for_an_empty_period(db: Database, tmp_path: Path) -> None:
    report = await build_report(db, CHAT, since=UNTIL + DAY, until=UNTIL + 8 * DAY, title="Quiet")
    assert charts.activity_chart(report.activity.days, tmp_path / "a.png", title="x") is None
    assert charts.sentiment_chart(report.activity.days, tmp_path / "s.png", title="x") is None
    assert charts.growth_chart(report.activity.days, report.growth, tmp_path / "g.png", title="x") is None
    text = plain_text(summary_text(report, Translator("en")))
    assert "Messages: 0" in text and "Questions: none asked" in text


async def test_summary_and_csv_agree(db: Database, tmp_path: Path) -> None:
    report = await build_report(db, CHAT, since=UNTIL - 7 * DAY, until=UNTIL, title="Coffee <lovers>")
    html_text = summary_text(report, Translator("en"))
    assert "Coffee &lt;lovers&gt;" in html_text  # titles are escaped
    assert len(html_text) < 4096
    text = plain_text(html_text)
    assert f"Messages: {report.activity.messages}" in text
    assert f"+{report.growth.joins} joined" in text
    files = {p.name: p for p in export_csv(report, tmp_path / "csv")}
    assert {"summary.csv", "daily.csv", "campaigns.csv", "retention.csv", "helpers.csv"} <= set(files)
    with files["summary.csv"].open(encoding="utf-8") as handle:
        summary = {row["metric"]: row["value"] for row in csv.DictReader(handle)}
    assert int(summary["messages"]) == report.activity.messages
    assert int(summary["joins"]) == report.growth.joins
    with files["daily.csv"].open(encoding="utf-8") as handle:
        daily = list(csv.DictReader(handle))
    assert len(daily) == 7
    assert sum(int(row["messages"]) for row in daily) == report.activity.messages
    with files["campaigns.csv"].open(encoding="utf-8") as handle:
        campaigns = list(csv.DictReader(handle))
    assert sum(int(row["joins"]) for row in campaigns) == report.growth.joins
