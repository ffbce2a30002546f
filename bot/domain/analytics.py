"""Analytics figures: plain results of the queries in bot/storage/analytics.py, and the period they cover."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = 86_400
WEEK = 7 * DAY
# 1970-01-05 was a Monday: weeks start on Monday 00:00 UTC.
MONDAY_EPOCH = 4 * DAY
# Where a joiner came from.
SOURCE_CAMPAIGN = "campaign"
SOURCE_OTHER_LINK = "other_link"  # an invite link that is not one of our campaigns
SOURCE_NO_LINK = "no_link"  # added by someone, or joined a public group by its username
SOURCE_UNKNOWN = "unknown"  # a leave by someone whose join we never saw


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    messages: int = 0
    active_members: int = 0
    joins: int = 0
    leaves: int = 0
    negative: int = 0
    neutral: int = 0
    positive: int = 0


@dataclass(frozen=True, slots=True)
class Activity:
    messages: int
    active_members: int
    days: list[DayFigures]


@dataclass(frozen=True, slots=True)
class SourceFigures:
    """Joins and leaves for one campaign (or one kind of source)."""

    source: str  # SOURCE_*
    name: str | None  # the campaign name for SOURCE_CAMPAIGN
    joins: int
    leaves: int


@dataclass(frozen=True, slots=True)
class Growth:
    joins: int
    leaves: int
    by_source: list[SourceFigures]

    @property
    def net(self) -> int:
        return self.joins - self.leaves


@dataclass(frozen=True, slots=True)
class SentimentMix:
    negative: int = 0
    neutral: int = 0
    positive: int = 0
    unclassified: int = 0

    @property
    def classified(self) -> int:
        return self.negative + self.neutral + self.positive

    def share(self, label: str) -> float | None:
        """The share of ``label`` among classified messages (None when there are none)."""
        if self.classified == 0:
            return None
        return float(getattr(self, label)) / self.classified


@dataclass(frozen=True, slots=True)
class Cohort:
    week_start: date  # Monday
    joined: int
    # members of the cohort who posted in week N+1 … N+4; None where that week has not ended
    posted_by_week: list[int | None]
    retained: int | None  # posted at least once in weeks N+1..N+4; None until week N+4 ended

    @property
    def rate(self) -> float | None:
        if self.retained is None or self.joined == 0:
            return None
        return self.retained / self.joined


@dataclass(frozen=True, slots=True)
class Questions:
    asked: int
    answered: int  # by a member's reply or the bot's FAQ answer
    by_human: int
    by_bot: int
    median_answer_s: float | None

    @property
    def answered_rate(self) -> float | None:
        return None if self.asked == 0 else self.answered / self.asked


@dataclass(frozen=True, slots=True)
class Helper:
    user_id: int
    name: str
    answers: int  # distinct questions of other members they replied to
    median_response_s: float | None


@dataclass(frozen=True, slots=True)
class FaqFigures:
    available: bool
    answered: int = 0
    suggested: int = 0
    unanswered: int = 0
    helpful: int = 0
    unhelpful: int = 0

    @property
    def helpful_rate(self) -> float | None:
        votes = self.helpful + self.unhelpful
        return None if votes == 0 else self.helpful / votes


@dataclass(frozen=True, slots=True)
class CaseFigures:
    available: bool
    opened: int = 0
    resolved: int = 0
    dismissed: int = 0
    median_first_response_s: float | None = None
    median_resolution_s: float | None = None


@dataclass(frozen=True, slots=True)
class PostFigure:
    post_id: int
    message_id: int | None
    sent_at: int
    replies: int
    reactions: int


@dataclass(frozen=True, slots=True)
class PostFigures:
    available: bool
    sent: int = 0
    replies: int = 0  # replies within 24 h of each post
    reactions: int = 0  # the reaction totals Telegram last reported
    posts: list[PostFigure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Period:
    chat_id: int
    since: int
    until: int
    timezone: str = "UTC"

    @property
    def days(self) -> float:
        return (self.until - self.since) / DAY

    def previous(self) -> Period:
        length = self.until - self.since
        return Period(self.chat_id, self.since - length, self.since, self.timezone)

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError):
            return ZoneInfo("UTC")  # a bad stored zone must not break the report

    def utc_offset(self) -> int:
        moment = datetime.fromtimestamp(max(self.until - 1, 0), UTC)
        offset = moment.astimezone(self.zone()).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def day_range(self) -> list[date]:
        offset = self.utc_offset()
        first = (self.since + offset) // DAY
        last = (self.until - 1 + offset) // DAY
        return [day_of(n) for n in range(first, last + 1)]


def day_of(day_number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day_number))


def week_start_of(epoch: int) -> int:
    return (epoch - MONDAY_EPOCH) // WEEK * WEEK + MONDAY_EPOCH
