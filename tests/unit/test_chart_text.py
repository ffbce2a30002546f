"""Chart text is never parsed as mathtext (issue #13, point 8): names with "$" draw as written,
in /stats charts and in `steward analyze`, and a broken "$\\frac{" cannot stop either."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli.analyze import run_analyze
from bot.domain.analytics import DayFigures, Growth, SourceFigures
from bot.services import charts
from tests.fakes import FakeClassifier
from tests.unit.test_analyze import FakeEncoder

BROKEN = r"Club $\frac{ pays $5 or $10"  # unbalanced mathtext: matplotlib raises when it parses it
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def drawn_texts(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every matplotlib Text of every chart saved during the test."""
    from matplotlib.text import Text

    seen: list[Any] = []
    original = charts._save

    def spy(fig: Any, path: Path) -> Path:
        saved = original(fig, path)
        seen.extend(fig.findobj(Text))
        return saved

    monkeypatch.setattr(charts, "_save", spy)
    return seen


def _days(n: int = 5) -> list[DayFigures]:
    start = date(2026, 11, 1)
    return [
        DayFigures(
            start + timedelta(days=i),
            messages=5 + i,
            active_members=3,
            joins=1,
            leaves=1,
            negative=1,
            neutral=2,
            positive=2,
        )
        for i in range(n)
    ]


def test_stats_charts_draw_dollar_names_literally(tmp_path: Path, drawn_texts: list[Any]) -> None:
    days = _days()
    growth = Growth(joins=5, leaves=5, by_source=[SourceFigures("campaign", "$\\frac{ spring $", 3, 1)])
    assert charts.activity_chart(days, tmp_path / "a.png", title=BROKEN) is not None
    assert charts.sentiment_chart(days, tmp_path / "s.png", title=BROKEN) is not None
    assert charts.growth_chart(days, growth, tmp_path / "g.png", title=BROKEN) is not None
    for name in ("a.png", "s.png", "g.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)
    texts = [t for t in drawn_texts if "$" in t.get_text()]
    assert {t.get_text() for t in texts} >= {BROKEN, "$\\frac{ spring $"}
    assert all(not t.get_parse_math() for t in drawn_texts)


def test_analyze_never_crashes_on_dollar_names(tmp_path: Path, drawn_texts: list[Any]) -> None:
    path = tmp_path / "result.json"
    messages = []
    for i in range(1, 13):
        messages.append(
            {
                "id": i,
                "date_unixtime": str(1_700_000_000 + 3600 * i),
                "from": f"$\\frac{{ Eve {i} $",
                "from_id": f"user{i % 4}",
                "text": f"why does it cost $5 and $\\sqrt{{ {i}? this is terrible",
                **({"reply_to_message_id": i - 1} if i % 3 else {}),
            }
        )
    path.write_text(json.dumps({"name": BROKEN, "messages": messages}), encoding="utf-8")
    result = run_analyze(path, tmp_path / "out", model=FakeClassifier(), encoder=FakeEncoder(), similarity=0.5)
    assert result.files.charts
    assert all(chart.read_bytes().startswith(PNG_MAGIC) for chart in result.files.charts)
    assert any("$" in t.get_text() for t in drawn_texts)
    assert all(not t.get_parse_math() for t in drawn_texts)
