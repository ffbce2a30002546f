"""When a post fires: one-off local times, cron expressions and a friendly weekly form.

Everything here is pure (no I/O, no clock of its own), so tests drive it with any instant.

* One-off: ``2026-12-01 10:00`` (or with seconds) is a wall-clock time in the community's
  IANA timezone; an ISO time with an offset (``2026-12-01T10:00:00+01:00``) is taken as is.
* Recurring: a standard 5-field cron expression (``0 10 * * mon``; weekday 0 and 7 are
  Sunday, as in crontab) or the friendly form ``mon,thu 10:00`` / ``weekdays 9:30`` /
  ``daily 18:00,21:00`` which is turned into cron.

Recurring times are **local wall-clock** times: 10:00 Europe/Berlin is 10:00 before and after
a DST change (the UTC instant moves instead). Local times that do not exist on the day the
clocks go forward fire once, shifted by the gap (02:30 becomes 03:30); local times that occur
twice when the clocks go back fire once, at the first occurrence.

We compute cron times ourselves instead of asking APScheduler's CronTrigger: its 3.x
``from_crontab`` numbers weekdays from Monday=0 (crontab uses Sunday=0), a silent one-day
shift for anyone who writes ``1-5``. APScheduler remains the timer (see bot.services.posts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.textsafety import compile_pattern

__all__ = [
    "Cron",
    "Schedule",
    "ScheduleError",
    "friendly_to_cron",
    "local_to_utc",
    "parse_at",
    "parse_schedule",
    "zone",
]

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_SEARCH_DAYS = 366 * 5  # far enough for 29 February


class ScheduleError(ValueError):
    """A schedule a person wrote that we cannot read; the message says why in plain words."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown timezone {name!r} (an IANA name such as Europe/Berlin)") from None


def local_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive local wall-clock time → an aware UTC instant (gap: shifted forward; overlap: first)."""
    aware = wall.replace(tzinfo=tz, fold=0)
    instant = aware.astimezone(UTC)
    # A time in the spring-forward gap does not survive the round trip; fold=0 already maps it
    # to the instant "that many minutes after the gap began", i.e. shifted forward by the gap.
    return instant


# ---------------------------------------------------------------------- one-off

_AT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M")


def parse_at(text: str, tz: ZoneInfo) -> datetime:
    """A one-off time → aware UTC. Naive forms are local to ``tz``."""
    value = text.strip()
    if not value:
        raise ScheduleError("the time is empty")
    for fmt in _AT_FORMATS:
        try:
            wall = datetime.strptime(value, fmt)  # noqa: DTZ007 - naive on purpose, localised below
        except ValueError:
            continue
        return local_to_utc(wall, tz)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ScheduleError(
            f"cannot read the time {value!r}; write it as YYYY-MM-DD HH:MM, for example 2026-12-01 10:00"
        ) from None
    if parsed.tzinfo is None:
        return local_to_utc(parsed, tz)
    return parsed.astimezone(UTC)


# ---------------------------------------------------------------------- cron


def _parse_value(token: str, names: tuple[str, ...] | None, offset: int) -> int:
    lowered = token.lower()
    if names is not None and lowered in names:
        return names.index(lowered) + offset
    if not token.isdigit():
        raise ScheduleError(f"{token!r} is not a number")
    return int(token)


def _parse_field(
    text: str, low: int, high: int, label: str, names: tuple[str, ...] | None = None, offset: int = 0
) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"{label}: empty item in {text!r}")
        step = 1
        if "/" in part:
            part, _, step_text = part.partition("/")
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(f"{label}: bad step in {text!r}")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, _, b = part.partition("-")
            start, end = _parse_value(a, names, offset), _parse_value(b, names, offset)
        else:
            start = _parse_value(part, names, offset)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ScheduleError(f"{label}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed 5-field cron expression (minute hour day-of-month month day-of-week)."""

    expr: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday … 6 = Saturday
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expr: str) -> Cron:
        fields = expr.split()
        if len(fields) != 5:
            raise ScheduleError(
                f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)} in {expr!r}"
            )
        minute, hour, day, month, weekday = fields
        weekdays = _parse_field(weekday, 0, 7, "weekday", DAY_NAMES)
        weekdays = frozenset(0 if d == 7 else d for d in weekdays)
        return cls(
            expr=" ".join(fields),
            minutes=_parse_field(minute, 0, 59, "minute"),
            hours=_parse_field(hour, 0, 23, "hour"),
            days=_parse_field(day, 1, 31, "day of month"),
            months=_parse_field(month, 1, 12, "month", MONTH_NAMES, offset=1),
            weekdays=weekdays,
            any_day=day == "*",
            any_weekday=weekday == "*",
        )

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow  # crontab: both restricted means either

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first fire strictly after ``after`` (aware), as aware UTC; None if there is none."""
        if after.tzinfo is None:
            raise ValueError("naive datetime")
        start_local = after.astimezone(tz).date() - timedelta(days=1)
        hours = sorted(self.hours)
        minutes = sorted(self.minutes)
        for offset in range(_SEARCH_DAYS):
            day = start_local + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            seen: set[datetime] = set()
            for hour in hours:
                for minute in minutes:
                    instant = local_to_utc(datetime.combine(day, time(hour, minute)), tz)
                    if instant in seen:
                        continue
                    seen.add(instant)
                    if instant > after:
                        return instant
        return None


# ---------------------------------------------------------------------- friendly form

_FRIENDLY_DAYS = {
    "daily": "*",
    "everyday": "*",
    "every day": "*",
    "weekdays": "mon-fri",
    "weekends": "sat,sun",
}
_TIME = compile_pattern(r"^(\d{1,2}):(\d{2})$", name="schedule.time")
_DAY_TOKEN = compile_pattern(r"^[a-z]{3}(?:-[a-z]{3})?$", name="schedule.day_token")


def friendly_to_cron(text: str) -> str | None:
    """``mon,thu 10:00`` → ``0 10 * * mon,thu``; None when ``text`` is not in the friendly form.

    Several times must share the minute or the hour is split into several expressions, so we
    accept one minute value for all times: ``10:00,18:00`` → ``0 10,18 * * *``.
    """
    value = " ".join(text.lower().split())
    days = "*"
    times_text = value
    for word, cron_days in _FRIENDLY_DAYS.items():
        if value.startswith(word + " "):
            days, times_text = cron_days, value[len(word) + 1 :]
            break
    else:
        head, _, rest = value.partition(" ")
        if rest:
            tokens = head.split(",")
            if not all(_DAY_TOKEN.match(t) for t in tokens):
                return None
            for token in tokens:
                for name in token.split("-"):
                    if name not in DAY_NAMES:
                        raise ScheduleError(f"unknown day {name!r}; use mon, tue, wed, thu, fri, sat, sun")
            days, times_text = head, rest
    hours: list[int] = []
    minutes: set[int] = set()
    for item in times_text.replace(" ", "").split(","):
        match = _TIME.match(item)
        if not match:
            return None
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            raise ScheduleError(f"{item!r} is not a time of day")
        hours.append(hour)
        minutes.add(minute)
    if not hours:
        return None
    if len(minutes) > 1:
        raise ScheduleError("several times must share the minutes (10:00,18:00); use cron for other mixes")
    return f"{minutes.pop()} {','.join(str(h) for h in sorted(set(hours)))} * * {days}"


# ---------------------------------------------------------------------- either


@dataclass(frozen=True)
class Schedule:
    """What a person wrote, normalised: exactly one of ``at`` (UTC) and ``cron`` is set."""

    at: datetime | None = None
    at_local: str | None = None
    cron: str | None = None

    @property
    def recurring(self) -> bool:
        return self.cron is not None

    def first_due(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        if self.at is not None:
            return self.at
        assert self.cron is not None
        return Cron.parse(self.cron).next_after(now, tz)


def parse_schedule(text: str, tz: ZoneInfo) -> Schedule:
    """One-off time, friendly weekly form or cron; raises ScheduleError in plain words."""
    value = text.strip()
    if not value:
        raise ScheduleError("the schedule is empty")
    friendly = friendly_to_cron(value)
    if friendly is not None:
        Cron.parse(friendly)
        return Schedule(cron=friendly)
    if len(value.split()) == 5:
        return Schedule(cron=Cron.parse(value).expr)
    at = parse_at(value, tz)
    return Schedule(at=at, at_local=at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"))
