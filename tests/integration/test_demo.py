"""`steward demo --fast`: the real bot and polling loop against the sandbox, every scene checked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli.main import main

PNG = b"\x89PNG\r\n\x1a\n"
SECTIONS = [
    "1. Steward joins the community",
    "2. New members are welcomed",
    "3. Members ask questions",
    "4. A complaint pile-on becomes a case",
    "5. A scheduled post goes out",
    "6. /stats in the managers' chat",
    "Summary",
]


def test_demo_runs_every_scene_and_leaves_the_database_and_charts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--fast", "--out", str(out)]) == 0
    transcript = capsys.readouterr().out
    lines = transcript.strip().splitlines()
    assert lines[-1] == str(out.resolve())
    for section in SECTIONS:
        assert f"── {section}" in transcript
    assert "keyword stand-in (--fast)" in transcript  # says which model ran
    # Nothing fails, not even an edit Telegram would refuse as "message is not modified" (the outbox skips it).
    assert "✗" not in transcript and "not modified" not in transcript
    assert "every scene checked out (6 scenes)" in transcript
    # people and the bot, in their chats
    assert "[Riverside Makers] Lena: Hi all! What's the wifi password?" in transcript
    assert "[Riverside Makers] 🤖 Steward ↩: The Wi-Fi is Riverside-Makers" in transcript
    assert "Welcome, Igor!" in transcript
    assert "Case #1 · resolved" in transcript
    assert "📣 Cleaning day" in transcript

    charts = sorted(out.glob("stats-*.png"))
    assert len(charts) >= 2
    assert all(p.read_bytes().startswith(PNG) and p.stat().st_size > 5000 for p in charts)
    assert (out / "demo.log").is_file()

    with sqlite3.connect(out / "steward.db") as db:
        messages = db.execute("SELECT COUNT(*) FROM messages WHERE chat_id = -1001234567890").fetchone()[0]
        labels = {row[0] for row in db.execute("SELECT DISTINCT sentiment_label FROM messages")}
        cases = db.execute("SELECT state FROM cases ORDER BY id").fetchall()
        answered = db.execute("SELECT COUNT(*) FROM faq_answers WHERE how = 'answer'").fetchone()[0]
        posts = db.execute("SELECT COUNT(*) FROM post_runs WHERE status = 'sent'").fetchone()[0]
    assert messages >= 10 and {"negative", "positive"} <= labels
    assert cases == [("resolved",)]
    assert answered == 2 and posts == 1


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old.txt").write_text("keep me", encoding="utf-8")
    assert main(["demo", "--fast", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "old.txt").read_text(encoding="utf-8") == "keep me"
