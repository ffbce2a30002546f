"""steward analyze: the export reader, the figures on the shipped example (hand-checked), the report,
the FAQ-candidates file and the command's error paths."""

from __future__ import annotations

import base64
import json
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pytest

from bot.analyze.engine import analyze, cluster_questions
from bot.analyze.export import Export, ExportError, load_export, parse_export, plain_text
from bot.analyze.report import PLACEHOLDER_ANSWER
from bot.cli.analyze import run_analyze
from bot.cli.main import main
from bot.services.faq_io import parse_toml
from tests.fakes import FakeClassifier, loader_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "riverside-makers-export.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class FakeEncoder:
    """Topic words (in en/ru/he) dominate the vector; every other word adds a little hashed noise."""

    dim = 64
    CONCEPTS: ClassVar[dict[str, tuple[str, ...]]] = {
        "wifi": ("wifi", "wi-fi", "вайфай", "ויפי"),
        "password": ("password", "пароль", "סיסמה"),
        "laser": ("laser", "лазер"),
        "book": ("book", "booking", "reserve"),
        "park": ("park", "parking", "חניה", "לחנות"),
    }

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            low = text.lower()
            for j, keys in enumerate(self.CONCEPTS.values()):
                if any(k in low for k in keys):
                    out[i, j] = 1.0
            for word in re.findall(r"\w+", low):
                out[i, 8 + zlib.crc32(word.encode()) % (self.dim - 8)] += 0.15
            out[i] /= np.linalg.norm(out[i])
        return out


def chat_export(name: str, *messages: object) -> Export:
    """A Telegram Desktop export of one chat, parsed (``messages`` as the JSON has them)."""
    return parse_export({"name": name, "messages": list(messages)})


def said(
    mid: int, at: int, author_id: str, text: str, *, name: str | None = None, reply_to: int | None = None
) -> dict[str, object]:
    """One plain message as the export's JSON has it (``name``: its "from", the author's display name)."""
    item: dict[str, object] = {"id": mid, "date_unixtime": str(at), "from_id": author_id, "text": text}
    if name is not None:
        item["from"] = name
    if reply_to is not None:
        item["reply_to_message_id"] = reply_to
    return item


def _analysis():  # type: ignore[no-untyped-def]
    return analyze(load_export(EXAMPLE), FakeClassifier(), FakeEncoder(), zone=ZoneInfo("UTC"), similarity=0.8)


# --- reading exports -----------------------------------------------------------------------------------


def test_text_as_a_list_of_entities_is_joined() -> None:
    assert plain_text(["Reminder: ", {"type": "bold", "text": "safety"}, " first", {"type": "x"}]) == (
        "Reminder: safety first"
    )
    assert plain_text(None) == ""
    assert plain_text(42) == ""


def test_parse_keeps_media_and_service_messages_apart_and_skips_broken_entries() -> None:
    export = chat_export(
        "Club",
        {
            "id": 1,
            "type": "service",
            "date_unixtime": "1793606400",
            "actor_id": "user1",
            "action": "invite_members",
            "members": ["A", "B"],
        },
        {
            "id": 2,
            "type": "message",
            "date": "2026-11-02T10:00:00",
            "from": "Ann",
            "from_id": "user1",
            "text": "",
            "photo": "photos/1.jpg",
        },
        {
            "id": 3,
            "type": "message",
            "date_unixtime": "1794045600",
            "from_id": "user2",
            "text": [{"type": "link", "text": "https://x.org"}],
            "reply_to_message_id": 2,
        },
        {"id": "x", "type": "message", "date_unixtime": "1793610000", "text": "no id"},
        {"id": 4, "type": "message", "text": "no date"},
        "not a dict",
        {"id": 5, "type": "message", "date": "yesterday", "text": "bad date"},
    )
    assert [m.id for m in export.messages] == [2, 3]
    photo, link = export.messages
    assert photo.media and photo.text == "" and photo.at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert link.text == "https://x.org" and link.reply_to == 2 and link.author == ""
    assert export.joins == 2
    assert export.skipped == 4


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"name": "x", "messages": [', "not valid JSON (line 1"),
        ("[1, 2]", "the top level must be a JSON object"),
        ('{"name": "x"}', 'no "messages" list'),
        ('{"chats": {"list": []}}', "whole-account export"),
    ],
)
def test_bad_files_give_one_line_reasons(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "result.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExportError) as info:
        load_export(path)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="file not found"):
        load_export(tmp_path / "nope.json")


def test_command_exits_2_with_one_line_on_bad_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "result.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["analyze", str(bad), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("steward analyze:") and "not valid JSON" in err[0]
    assert not (tmp_path / "out").exists()


def test_command_rejects_an_unknown_timezone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(EXAMPLE), "--timezone", "Mars/Olympus", "--out", str(tmp_path)]) == 2
    assert "unknown timezone" in capsys.readouterr().err


# --- the figures on the shipped example (counted by hand from examples/riverside-makers-script.jsonl) ----------


def test_example_counts() -> None:
    a = _analysis()
    # 148 entries: 6 service messages, 1 without a date, 141 messages; 7 of them media only
    # (4 photos, a sticker, a PDF, an animation); all 12 invented members post.
    assert (a.messages, a.text_messages, a.media_messages, a.skipped) == (141, 134, 7, 1)
    assert a.members == 12
    # joins: two by link, Lena added, two visitors added at the open day; one visitor removed
    assert (a.joins, a.leaves) == (5, 1)
    assert len(a.days) == 12 and a.days[0].day.isoformat() == "2026-11-02"
    assert sum(d.messages for d in a.days) == 141
    # Sunday 8 Nov: Dan and Farid, two messages
    sunday = a.days[6]
    assert (sunday.messages, sunday.active_members) == (2, 2)


def test_example_questions_and_answers() -> None:
    a = _analysis()
    assert a.questions.asked == 35
    # answered by someone else: the meetup, the big room, the drill press, the band saw, the workshop key
    # (ru), the Arduino kit, the children at the open day (he), the CNC room, bringing a friend, acrylic glue,
    # the safety training, presenting tonight, the projector
    assert a.questions.answered == 13
    assert len(a.unanswered) == 22
    # Jo answered their own Wi-Fi question ("Found it on the board"): that does not count as answered
    jo = next(r for r in a.question_records if r.message.text == "What's the wi-fi password again?")
    assert not jo.answered
    # median of the first-reply delays (4, 11, 15, 15, 10, 15, 5, 10, 5, 20, 5, 15, 5 minutes) = 10 min
    assert a.questions.median_answer_s == 600.0
    assert [h.name for h in a.helpers[:2]] == ["Ann Lee", "Eva Novak"]
    assert [h.answers for h in a.helpers[:2]] == [4, 4]


def test_example_top_negative_thread_is_the_double_charge_pile_on() -> None:
    a = _analysis()
    top = a.negative_threads[0]
    assert top.root.text.startswith("I was charged twice")
    # the root, 5 replies to it and Kim's reply to Dan; Ann's apology is the only neutral one
    assert (top.messages, top.participants, top.negative) == (7, 6, 6)
    assert top.worst.author in {"Kim Park", "Lena Fischer"}  # "worst support ever" / "this is a scam"
    assert {t.root.text.split()[1] for t in a.negative_threads[1:]} == {"3D", "vending"}


def test_example_faq_candidates() -> None:
    a = _analysis()
    sizes = [(c.size, c.askers) for c in a.clusters]
    # Wi-Fi: 6 questions (en, ru, he) by 5 people (Gil asked twice); laser cutter: 5 by Kim, Hana, Lena;
    # parking: 5 by Gil, Farid, Hana, Dan
    assert sizes == [(6, 5), (5, 3), (5, 4)]
    wifi, laser, parking = a.clusters
    assert "Какой пароль от wifi?" in {q.text for q in wifi.questions}
    assert "מה הסיסמה של הוויפי?" in {q.text for q in wifi.questions}
    assert all("laser" in q.text for q in laser.questions)
    assert all("park" in q.text.lower() for q in parking.questions)
    assert a.unanswered_in_clusters == 16  # and 6 one-off unanswered questions


def test_min_count_and_similarity_change_the_candidates() -> None:
    export = load_export(EXAMPLE)
    strict = analyze(export, FakeClassifier(), FakeEncoder(), zone=ZoneInfo("UTC"), similarity=0.8, min_count=6)
    assert [c.size for c in strict.clusters] == [6]
    exact = analyze(export, FakeClassifier(), FakeEncoder(), zone=ZoneInfo("UTC"), similarity=0.999)
    assert exact.clusters == []


def test_sentiment_runs_in_batches() -> None:
    model = FakeClassifier()
    seen: list[int] = []
    analyze(load_export(EXAMPLE), model, FakeEncoder(), zone=ZoneInfo("UTC"), batch_size=50, progress=seen.append)
    assert [len(c) for c in model.calls] == [50, 50, 34]
    assert seen == [50, 50, 34]


def test_cluster_questions_groups_by_centroid() -> None:
    vecs = np.array([[1, 0, 0], [0.99, 0.14, 0], [0, 1, 0], [0, 0.99, 0.14], [0, 0, 1]], np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    assert cluster_questions(vecs, similarity=0.95) == [[0, 1], [2, 3], [4]]
    assert cluster_questions(vecs, similarity=0.0) == [[0, 1, 2, 3, 4]]
    assert cluster_questions(np.zeros((0, 3), np.float32)) == []


def test_reply_cycles_and_missing_parents_do_not_hang() -> None:
    export = chat_export(
        "x",
        said(1, 1, "user1", "This is terrible", reply_to=2),
        said(2, 2, "user2", "awful indeed", reply_to=1),
        said(3, 3, "user3", "bad", reply_to=77),
        said(4, 4, "user1", "hate it", reply_to=3),
    )
    a = analyze(export, FakeClassifier(), None, zone=ZoneInfo("UTC"))
    assert sorted((t.root.id, t.messages) for t in a.negative_threads) in ([(1, 2), (3, 2)], [(2, 2), (3, 2)])


def test_an_empty_export_still_makes_a_report(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "Quiet", "messages": []}), encoding="utf-8")
    result = run_analyze(path, tmp_path / "out", model=FakeClassifier(), encoder=FakeEncoder())
    assert result.analysis.messages == 0 and result.files.charts == []
    assert "Chat report: Quiet" in result.files.html.read_text("utf-8")


# --- the report and the FAQ file ------------------------------------------------------------------------


def test_report_has_the_figures_and_valid_png_charts(tmp_path: Path) -> None:
    faq = tmp_path / "faq-candidates.toml"
    result = run_analyze(
        EXAMPLE, tmp_path / "report", faq_out=faq, model=FakeClassifier(), encoder=FakeEncoder(), similarity=0.8
    )
    names = sorted(p.name for p in result.files.charts)
    assert names == ["activity.png", "faq-candidates.png", "negative-threads.png", "sentiment.png"]
    for chart in result.files.charts:
        data = chart.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000
        import matplotlib.image

        height, width = matplotlib.image.imread(chart).shape[:2]
        assert width >= 800 and height >= 250
    page = result.files.html.read_text("utf-8")
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == 4 and all(base64.b64decode(b).startswith(PNG_MAGIC) for b in embedded)
    assert "<b>141</b><span>messages</span>" in page
    assert "<b>12</b><span>members who posted</span>" in page
    assert "<b>35</b><span>questions</span>" in page
    assert "<b>22</b><span>unanswered questions</span>" in page
    assert "I was charged twice for my membership" in page
    # member-provided text is escaped
    assert "<script" not in page.lower()
    assert result.faq_entries == 3


def test_member_text_is_escaped_in_the_report(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(
        json.dumps(
            {
                "name": "<b>Club</b>",
                "messages": [
                    said(1, 100, "user1", "<script>alert(1)</script> this is terrible, why?", name="<i>Eve</i>"),
                    said(2, 200, "user2", "awful", name="Bob", reply_to=1),
                ],
            }
        ),
        encoding="utf-8",
    )
    page = run_analyze(path, tmp_path / "out", model=FakeClassifier(), encoder=FakeEncoder()).files.html.read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;Club&lt;/b&gt;" in page and "<i>Eve</i>" not in page


def test_faq_candidates_file_is_accepted_by_the_faq_import_and_stays_disabled(tmp_path: Path) -> None:
    faq = tmp_path / "faq.toml"
    run_analyze(EXAMPLE, tmp_path / "r", faq_out=faq, model=FakeClassifier(), encoder=FakeEncoder(), similarity=0.8)
    drafts, problems = parse_toml(faq.read_text("utf-8"))
    assert problems == []
    assert [d.key for d in drafts] == [
        "candidate-1-wifi-password",
        "candidate-2-book-laser-cutter",
        "candidate-3-parking-near-space",
    ]
    assert all(not d.enabled and d.answer == PLACEHOLDER_ANSWER for d in drafts)
    assert len(drafts[0].questions) == 6 and "Какой пароль от wifi?" in drafts[0].questions


def test_command_prints_the_report_path_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import analyze as cli

    monkeypatch.setattr(cli, "_load_models", lambda: (FakeClassifier(), FakeEncoder()))
    out = tmp_path / "rep"
    assert main(["analyze", str(EXAMPLE), "--out", str(out), "--no-progress", "--similarity", "0.8"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == str(out / "report.html")
    assert any("35 asked, 13 answered, 22 unanswered" in line for line in lines)


async def test_faq_candidates_import_with_steward_faq_import_as_disabled_entries(tmp_path: Path) -> None:
    import io

    from bot.cli.faq import run_import
    from bot.config import Settings
    from bot.storage.db import Database
    from tests.fakes import HashingEncoder

    faq = tmp_path / "faq.toml"
    run_analyze(EXAMPLE, tmp_path / "r", faq_out=faq, model=FakeClassifier(), encoder=FakeEncoder(), similarity=0.8)
    settings = Settings(database={"path": str(tmp_path / "steward.db")})
    encoder = HashingEncoder()
    out = io.StringIO()
    code = await run_import(
        settings,
        faq,
        -1001234567890,
        partial=False,
        out=out,
        encoder_loader=loader_of(encoder),
    )
    assert code == 0, out.getvalue()
    db = Database(settings.database.path)
    await db.open()
    try:
        rows = await db.fetchall("SELECT key, enabled, answer FROM faq_entries ORDER BY key")
        variants = await db.fetchval("SELECT COUNT(*) FROM faq_variants")
    finally:
        await db.close()
    assert [(r["key"], r["enabled"], r["answer"]) for r in rows] == [
        ("candidate-1-wifi-password", 0, PLACEHOLDER_ANSWER),
        ("candidate-2-book-laser-cutter", 0, PLACEHOLDER_ANSWER),
        ("candidate-3-parking-near-space", 0, PLACEHOLDER_ANSWER),
    ]
    assert variants == 16
