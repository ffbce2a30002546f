"""Schedule parsing (one-off, cron, friendly form, DST edges) and the posts TOML format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.cli.posts import export_posts, import_file
from bot.config import Settings
from bot.domain.posts import Post
from bot.services.posts_io import ImportError_, post_to_toml
from bot.services.schedule import Cron, ScheduleError, friendly_to_cron, parse_at, parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("mon,thu 10:00", "0 10 * * mon,thu"),
        ("Mon,Thu  10:00", "0 10 * * mon,thu"),
        ("daily 9:30", "30 9 * * *"),
        ("weekdays 18:00", "0 18 * * mon-fri"),
        ("weekends 11:15", "15 11 * * sat,sun"),
        ("10:00,18:00", "0 10,18 * * *"),
        ("mon-fri 08:05", "5 8 * * mon-fri"),
    ],
)
def test_friendly_form(text: str, cron: str) -> None:
    assert friendly_to_cron(text) == cron
    assert parse_schedule(text, BERLIN).cron == cron


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("moon 10:00", None),  # not the friendly form at all → then not cron, not a time
        ("mon 25:00", "not a time of day"),
        ("10:00,18:30", "share the minutes"),
        ("0 10 * *", "cannot read the time"),
        ("61 10 * * *", "outside 0-59"),
        ("0 10 * * funday", "not a number"),
        ("2026-02-30 10:00", "cannot read the time"),
    ],
)
def test_bad_schedules_say_why(text: str, message: str | None) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text, BERLIN)
    if message:
        assert message in str(info.value)


def test_cron_sunday_is_0_and_7_and_dom_or_dow() -> None:
    sunday = Cron.parse("0 10 * * 0")
    assert sunday.weekdays == Cron.parse("0 10 * * 7").weekdays == Cron.parse("0 10 * * sun").weekdays
    after = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday
    nxt = sunday.next_after(after, BERLIN)
    assert nxt is not None and nxt.astimezone(BERLIN).strftime("%a %d %H:%M") == "Sun 29 10:00"
    either = Cron.parse("0 10 1 * mon")  # the 1st of the month OR Mondays, as crontab does
    nxt = either.next_after(after, BERLIN)
    assert nxt is not None and nxt.astimezone(BERLIN).strftime("%a %d") == "Mon 30"


def test_one_off_local_time_and_gaps() -> None:
    assert parse_at("2026-12-01 10:00", BERLIN) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert parse_at("2026-07-01 10:00", BERLIN) == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert parse_at("2026-12-01T10:00:00+00:00", BERLIN) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    # 02:30 does not exist on 29 March 2026 in Berlin: shifted forward by the gap (03:30 CEST).
    gap = parse_at("2026-03-29 02:30", BERLIN)
    assert gap.astimezone(BERLIN).strftime("%H:%M") == "03:30"
    # 02:30 happens twice on 25 October: the first one (still CEST).
    twice = parse_at("2026-10-25 02:30", BERLIN)
    assert twice == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_cron_in_the_dst_gap_and_overlap_fires_once_per_day() -> None:
    cron = Cron.parse("30 2 * * *")
    moments = []
    after = datetime(2026, 10, 24, 12, tzinfo=UTC)
    for _ in range(3):
        nxt = cron.next_after(after, BERLIN)
        assert nxt is not None
        moments.append(nxt)
        after = nxt
    assert [m.astimezone(BERLIN).strftime("%d %H:%M") for m in moments] == ["25 02:30", "26 02:30", "27 02:30"]
    spring = cron.next_after(datetime(2026, 3, 28, 12, tzinfo=UTC), BERLIN)
    assert spring is not None and spring.astimezone(BERLIN).strftime("%d %H:%M") == "29 03:30"


# ---------------------------------------------------------------------- TOML


def settings_for(tmp_path: Path) -> Settings:
    return Settings(database={"path": str(tmp_path / "s.db")}, community={"timezone": "Europe/Berlin"})


async def run_import(tmp_path: Path, text: str) -> list[Post]:
    path = tmp_path / "posts.toml"
    path.write_text(text, encoding="utf-8")
    return await import_file(settings_for(tmp_path), path)


async def test_import_accepts_the_issue_shape(tmp_path: Path) -> None:
    posts = await run_import(
        tmp_path,
        """
[[post]]
chat = -1001234567890          # the community
text = "Weekly digest is out"
at = "2030-12-01 10:00"        # local time in the community's timezone; or:
# cron = "0 10 * * mon"

[[post]]
chat = -1001234567890
text = "Rubric"
cron = "0 10 * * mon"
topic = 42
photo = "https://example.org/p.jpg"
buttons = [{ text = "Read", url = "https://example.org" }]
pin = true
unpin_after = 90
silent = true
protect = true
late = 15
""",
    )
    assert [p.id for p in posts] == [1, 2]
    first, second = posts
    assert first.timezone == "Europe/Berlin" and first.due_at == int(datetime(2030, 12, 1, 9, tzinfo=UTC).timestamp())
    assert second.cron == "0 10 * * mon" and second.thread_id == 42 and second.media_kind == "photo"
    assert second.buttons == [[{"text": "Read", "url": "https://example.org"}]]
    assert second.pin and second.unpin_after_min == 90 and second.silent and second.protect
    assert second.lateness_s == 15 * 60


async def test_import_errors_name_entry_and_field_and_import_nothing(tmp_path: Path) -> None:
    with pytest.raises(ImportError_) as info:
        await run_import(
            tmp_path,
            """
[[post]]
chat = -100123
text = "ok"
at = "2030-01-01 10:00"

[[post]]
chat = "-100123"
text = "x"
at = "2030-01-01 10:00"

[[post]]
chat = -100123
text = "x"

[[post]]
chat = -100123
text = "x"
at = "2020-01-01 10:00"

[[post]]
chat = -100123
text = "x"
cron = "0 10 * * mon"
colour = "red"

[[post]]
chat = -100123
text = "x"
every = "mon 10:00"
buttons = [{ text = "Bad", url = "ftp://x" }]

[[post]]
chat = -100123
text = "x"
at = "2030-01-01 10:00"
timezone = "Mars/Olympus"
""",
        )
    errors = info.value.errors
    assert errors[0].startswith("post 2: chat:")
    assert errors[1].startswith("post 3: at: missing")
    assert errors[2] == "post 4: at: 2020-01-01 10:00 (Europe/Berlin) has already passed"
    assert errors[3].startswith("post 5: colour: unknown field")
    assert errors[4].startswith("post 6: buttons:")
    assert errors[5].startswith("post 7: timezone:")
    assert len(errors) == 6
    with pytest.raises(ImportError_):
        await run_import(tmp_path, "not = [valid")
    assert (await export_posts(settings_for(tmp_path))).count("[[post]]") == 0  # all-or-nothing


async def test_export_round_trips(tmp_path: Path) -> None:
    await run_import(
        tmp_path,
        """
[[post]]
chat = -100123
text = "Quote \\" and\\nnewline <b>bold</b>"
every = "mon,thu 10:00"
buttons = [[{ text = "A", url = "https://a.example" }, { text = "B", url = "https://b.example" }]]
status = "paused"
""",
    )
    exported = await export_posts(settings_for(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    again = await run_import(other, exported)
    assert len(again) == 1
    post = again[0]
    assert post.text == 'Quote " and\nnewline <b>bold</b>'
    assert post.cron == "0 10 * * mon,thu" and post.status == "paused"
    assert [[b["text"] for b in row] for row in post.buttons] == [["A", "B"]]
    # Importing the export into the same database skips what is already there.
    assert await run_import(tmp_path, exported) == []


def test_post_to_toml_is_valid_toml() -> None:
    import tomllib

    post = Post(chat_id=-1, text='a "b"\\c', at_local="2030-01-01 10:00:00", timezone="UTC", id=3)
    data: dict[str, Any] = tomllib.loads(post_to_toml(post))
    assert data["post"][0]["text"] == 'a "b"\\c'


async def test_import_refuses_html_telegram_would_reject(tmp_path: Path) -> None:
    with pytest.raises(ImportError_) as info:
        await run_import(
            tmp_path,
            '[[post]]\nchat = -100123\ntext = "<b>bold"\nat = "2030-01-01 10:00"\n'
            '[[post]]\nchat = -100123\ntext = "<div>x</div>"\nat = "2030-01-01 10:00"\n',
        )
    assert info.value.errors == [
        "post 1: text: <b> is never closed (escape a literal < as &lt;)",
        "post 2: text: <div> is not supported by Telegram (escape a literal < as &lt;)",
    ]
