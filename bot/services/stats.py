"""Reports: /stats, the weekly digest and `steward stats` (CSV), over the same figures.

:func:`build_report` gathers every figure of :mod:`bot.storage.analytics` for one community
and period into a :class:`Report`; :func:`summary_text` words it for people,
:func:`bot.services.charts.render_report` draws it and :func:`export_csv` writes it as files.
"""

from __future__ import annotations

import asyncio
import html
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.csvsafe import SafeWriter
from bot.domain import Community, Priority
from bot.i18n import Translator
from bot.services.ports import Desk, Sender
from bot.storage import analytics as a
from bot.storage.db import Database
from bot.textsafety import compile_pattern
from bot.timeutil import epoch_now

if TYPE_CHECKING:
    from bot.config import GrowthSettings
    from bot.storage.communities import CommunityRepository
    from bot.storage.members import StateRepository

log = logging.getLogger(__name__)

DAY = a.DAY


@dataclass(frozen=True)
class Report:
    title: str
    period: a.Period
    activity: a.Activity
    previous: a.Activity  # the period of the same length before, for comparison
    growth: a.Growth
    sentiment: a.SentimentMix
    previous_sentiment: a.SentimentMix
    questions: a.Questions
    helpers: list[a.Helper]
    retention: list[a.Cohort]
    faq: a.FaqFigures
    cases: a.CaseFigures
    posts: a.PostFigures


async def build_report(
    db: Database, chat_id: int, *, since: int, until: int, timezone: str = "UTC", title: str = ""
) -> Report:
    period = a.Period(chat_id, since, until, timezone)
    previous = period.previous()
    return Report(
        title=title or str(chat_id),
        period=period,
        activity=await a.activity(db, period),
        previous=await a.activity(db, previous),
        growth=await a.growth(db, period),
        sentiment=await a.sentiment_mix(db, period),
        previous_sentiment=await a.sentiment_mix(db, previous),
        questions=await a.questions(db, period),
        helpers=await a.top_helpers(db, period),
        retention=await a.retention(db, chat_id, until=until),
        faq=await a.faq_figures(db, period),
        cases=await a.case_figures(db, period),
        posts=await a.post_figures(db, period),
    )


async def community_report(db: Database, community: Community, *, days: int, now: int | None = None) -> Report:
    # Up to and including the current second: the period is half-open.
    until = (epoch_now() if now is None else now) + 1
    return await build_report(
        db,
        community.chat_id,
        since=until - days * DAY,
        until=until,
        timezone=community.timezone,
        title=community.title,
    )


# --------------------------------------------------------------------------- words


def duration(seconds: float | None, t: Translator) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return t("{n} s", n=round(seconds))
    if seconds < 90 * 60:
        return t("{n} min", n=round(seconds / 60))
    if seconds < 36 * 3600:
        return t("{n} h", n=f"{seconds / 3600:.1f}".rstrip("0").rstrip("."))
    return t("{n} d", n=f"{seconds / DAY:.1f}".rstrip("0").rstrip("."))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)}%"


def change(now: int, before: int) -> str:
    if before == 0:
        return ""
    delta = (now - before) / before
    if abs(delta) < 0.005:
        return " (=)"
    return f" ({'+' if delta > 0 else '−'}{round(abs(delta) * 100)}%)"


def period_label(report: Report, t: Translator) -> str:
    zone = report.period.zone()
    start = datetime.fromtimestamp(report.period.since, zone)
    end = datetime.fromtimestamp(report.period.until - 1, zone)
    days = round(report.period.days)
    return t.plural(
        "last {n} day ({start} – {end})",
        "last {n} days ({start} – {end})",
        days,
        start=f"{start:%d %b}",
        end=f"{end:%d %b}",
    )


def source_name(source: a.SourceFigures, t: Translator) -> str:
    if source.source == a.SOURCE_CAMPAIGN and source.name:
        return html.escape(source.name)
    if source.source == a.SOURCE_OTHER_LINK:
        return t("other links")
    if source.source == a.SOURCE_NO_LINK:
        return t("added or no link")
    return t("joined before tracking")


def summary_text(report: Report, t: Translator) -> str:
    """A short HTML summary (well under 4096 characters)."""
    r = report
    lines = [
        f"📊 <b>{html.escape(r.title)}</b> · {period_label(r, t)}",
        "",
        t(
            "💬 Messages: <b>{messages}</b>{change} from <b>{members}</b> members",
            messages=r.activity.messages,
            change=change(r.activity.messages, r.previous.messages),
            members=r.activity.active_members,
        ),
        t(
            "👥 Members: +{joins} joined, −{leaves} left (net {net:+d})",
            joins=r.growth.joins,
            leaves=r.growth.leaves,
            net=r.growth.net,
        ),
    ]
    if r.growth.by_source:
        parts = [
            t("{name}: +{joins}/−{leaves}", name=source_name(s, t), joins=s.joins, leaves=s.leaves)
            for s in r.growth.by_source[:6]
        ]
        lines.append("   " + t("by campaign: {list}", list=", ".join(parts)))
    mix = r.sentiment
    if mix.classified:
        before = r.previous_sentiment.share("negative")
        trend = ""
        now_neg = mix.share("negative")
        if before is not None and now_neg is not None:
            trend = " " + t("(negative was {value})", value=percent(before))
        lines.append(
            t(
                "🙂 Mood: {neg} negative · {neu} neutral · {pos} positive",
                neg=percent(now_neg),
                neu=percent(mix.share("neutral")),
                pos=percent(mix.share("positive")),
            )
            + trend
        )
    q = r.questions
    if q.asked:
        lines.append(
            t(
                "❓ Questions: {asked}, answered {answered} ({rate}; {human} by members, {bot} by the bot),"
                " median time to answer {median}",
                asked=q.asked,
                answered=q.answered,
                rate=percent(q.answered_rate),
                human=q.by_human,
                bot=q.by_bot,
                median=duration(q.median_answer_s, t),
            )
        )
    else:
        lines.append(t("❓ Questions: none asked"))
    # Each figures record names its fields as its template's placeholders; a database without that
    # feature's tables says so instead.
    lines.append(
        t(
            "📚 FAQ: {answered} answered, {suggested} suggested, {unanswered} unanswered · helpful {rate}",
            **_fields(r.faq),
            rate=percent(r.faq.helpful_rate),
        )
        if r.faq.available
        else t("📚 FAQ: not available (no FAQ data in this database)")
    )
    lines.append(
        t(
            "🚨 Cases: {opened} opened, {resolved} resolved, {dismissed} dismissed · median first response"
            " {first}, resolution {resolution}",
            **_fields(r.cases),
            first=duration(r.cases.median_first_response_s, t),
            resolution=duration(r.cases.median_resolution_s, t),
        )
        if r.cases.available
        else t("🚨 Cases: not available (no case data in this database)")
    )
    lines.append(
        t("📣 Posts: {sent} sent · {replies} replies within 24 h, {reactions} reactions", **_fields(r.posts))
        if r.posts.available
        else t("📣 Posts: not available (no post data in this database)")
    )
    if r.helpers:
        names = ", ".join(f"{html.escape(h.name)} ({h.answers})" for h in r.helpers)
        lines.append(t("🤝 Top helpers: {names}", names=names))
    complete = [c for c in r.retention if c.rate is not None and c.joined]
    if complete:
        last = complete[-1]
        lines.append(
            t(
                "🔁 Retention: {rate} of the {joined} who joined in the week of {week} posted in the 4 weeks after",
                rate=percent(last.rate),
                joined=last.joined,
                week=f"{last.week_start:%d %b}",
            )
        )
    return "\n".join(lines)


def _fields(figures: Any) -> dict[str, Any]:
    """A figures dataclass as template values, field by field (not deep-copied like ``asdict``)."""
    return {f.name: getattr(figures, f.name) for f in fields(figures)}


_TAG = compile_pattern(r"<[^>]+>", name="stats.tag", max_len=1 << 20)


def plain_text(html_text: str) -> str:
    return html.unescape(_TAG.sub("", html_text))


# --------------------------------------------------------------------------- CSV


# The summary rows of the features a database may lack: (metric, the figures record's field).
_FEATURE_METRICS: dict[str, tuple[tuple[str, str], ...]] = {
    "faq": (
        ("faq_answered", "answered"),
        ("faq_suggested", "suggested"),
        ("faq_unanswered", "unanswered"),
        ("faq_helpful", "helpful"),
        ("faq_unhelpful", "unhelpful"),
        ("faq_helpful_rate", "helpful_rate"),
    ),
    "cases": (
        ("cases_opened", "opened"),
        ("cases_resolved", "resolved"),
        ("cases_dismissed", "dismissed"),
        ("cases_median_first_response_seconds", "median_first_response_s"),
        ("cases_median_resolution_seconds", "median_resolution_s"),
    ),
    "posts": (("posts_sent", "sent"), ("posts_replies_24h", "replies"), ("posts_reactions", "reactions")),
}


def export_csv(report: Report, out_dir: Path) -> list[Path]:
    """Write the report as CSV files (UTF-8, comma-separated, one header row each)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    r = report
    written: list[Path] = []

    def write(name: str, header: list[str], rows: list[list[object]]) -> None:
        path = out_dir / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = SafeWriter(handle)  # names and titles cannot become spreadsheet formulas
            writer.writerow(header)
            writer.writerows(rows)
        written.append(path)

    def opt(value: float | None) -> object:
        return "" if value is None else round(value, 3)

    summary: list[list[object]] = [
        ["chat_id", r.period.chat_id],
        ["title", r.title],
        ["since_utc", datetime.fromtimestamp(r.period.since, ZoneInfo("UTC")).isoformat()],
        ["until_utc", datetime.fromtimestamp(r.period.until, ZoneInfo("UTC")).isoformat()],
        ["timezone", r.period.timezone],
        ["messages", r.activity.messages],
        ["active_members", r.activity.active_members],
        ["joins", r.growth.joins],
        ["leaves", r.growth.leaves],
        ["sentiment_negative", r.sentiment.negative],
        ["sentiment_neutral", r.sentiment.neutral],
        ["sentiment_positive", r.sentiment.positive],
        ["sentiment_unclassified", r.sentiment.unclassified],
        ["questions", r.questions.asked],
        ["questions_answered", r.questions.answered],
        ["questions_answered_by_members", r.questions.by_human],
        ["questions_answered_by_bot", r.questions.by_bot],
        ["median_answer_seconds", opt(r.questions.median_answer_s)],
    ]
    for feature, figures in (("faq", r.faq), ("cases", r.cases), ("posts", r.posts)):
        if figures.available:
            summary += [[metric, opt(getattr(figures, name))] for metric, name in _FEATURE_METRICS[feature]]
        else:
            summary.append([feature, "not available"])
    write("summary.csv", ["metric", "value"], summary)
    write(
        "daily.csv",
        ["date", "messages", "active_members", "joins", "leaves", "negative", "neutral", "positive"],
        [
            [d.day.isoformat(), d.messages, d.active_members, d.joins, d.leaves, d.negative, d.neutral, d.positive]
            for d in r.activity.days
        ],
    )
    write(
        "campaigns.csv",
        ["source", "campaign", "joins", "leaves"],
        [[s.source, s.name or "", s.joins, s.leaves] for s in r.growth.by_source],
    )
    write(
        "retention.csv",
        ["cohort_week", "joined", "week_1", "week_2", "week_3", "week_4", "retained", "retention_rate"],
        [
            [
                c.week_start.isoformat(),
                c.joined,
                *("" if v is None else v for v in c.posted_by_week),
                "" if c.retained is None else c.retained,
                opt(c.rate),
            ]
            for c in r.retention
        ],
    )
    write(
        "helpers.csv",
        ["user_id", "name", "answers", "median_response_seconds"],
        [[h.user_id, h.name, h.answers, opt(h.median_response_s)] for h in r.helpers],
    )
    if r.posts.available:
        write(
            "posts.csv",
            ["post_id", "message_id", "sent_at_utc", "replies_24h", "reactions"],
            [
                [
                    p.post_id,
                    p.message_id or "",
                    datetime.fromtimestamp(p.sent_at, ZoneInfo("UTC")).isoformat(),
                    p.replies,
                    p.reactions,
                ]
                for p in r.posts.posts
            ],
        )
    return written


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True)
class Target:
    chat_id: int
    thread_id: int | None = None
    reply_to: int | None = None


def digest_trigger_args(settings: GrowthSettings) -> dict[str, object]:
    hour, minute = (int(part) for part in settings.digest_time.split(":"))
    return {"day_of_week": settings.digest_day, "hour": hour, "minute": minute, "timezone": settings.digest_timezone}


class StatsService:
    def __init__(
        self,
        db: Database,
        communities: CommunityRepository,
        outbox: Sender,
        desk: Desk,
        state: StateRepository,
        *,
        now: Callable[[], int] = epoch_now,
    ) -> None:
        self.db = db
        self.communities = communities
        self.outbox = outbox
        self.desk = desk
        self.state = state
        self._now = now

    async def report(self, community: Community, days: int) -> Report:
        return await community_report(self.db, community, days=days, now=self._now())

    async def send(self, target: Target, community: Community, days: int, *, locale: str) -> bool:
        """The summary, then its charts, to one chat. Returns whether the summary arrived."""
        report = await self.report(community, days)
        t = Translator(locale)
        delivery = await self.outbox.send_message(
            target.chat_id,
            summary_text(report, t),
            thread_id=target.thread_id,
            reply_to=target.reply_to,
            priority=Priority.REPLY,
        )
        if not delivery.ok:
            log.warning("stats for %s to %s failed: %s", community.chat_id, target.chat_id, delivery.error)
            return False
        await self._send_charts([target], report, prefix=f"{community.chat_id}-", locale=locale)
        return True

    async def _send_charts(self, targets: list[Target], report: Report, *, prefix: str, locale: str) -> None:
        from bot.services.charts import render_report

        with tempfile.TemporaryDirectory(prefix="steward-charts-") as folder:
            try:
                charts = await asyncio.to_thread(render_report, report, Path(folder), prefix=prefix, locale=locale)
            except Exception:
                log.exception("rendering the charts for %s failed", report.period.chat_id)
                return
            for chart in charts:
                for target in targets:
                    sent = await self.outbox.send_photo(target.chat_id, chart, thread_id=target.thread_id)
                    if not sent.ok:
                        log.warning("chart %s to %s failed: %s", chart.name, target.chat_id, sent.error)

    async def send_digest(self, *, force: bool = False) -> int:
        """The last 7 days of every active community to the managers' destination, once a week.
        Returns the number of communities reported."""
        now = self._now()
        week = datetime.fromtimestamp(now, ZoneInfo("UTC")).isocalendar()
        key = f"growth.digest.{week.year}-W{week.week:02d}"
        if not force and not await self.state.set_if_absent(key, str(now)):
            log.info("weekly digest %s already sent", key)
            return 0
        targets = [Target(chat_id) for chat_id in await self.desk.destinations()]
        if not targets:
            log.warning("weekly digest: no managers' destination (set managers.chat_id or /start the bot)")
            return 0
        sent = 0
        for community in await self.communities.list(active_only=True):
            if self.desk.chat_id is not None and community.chat_id == self.desk.chat_id:
                continue
            report = await self.report(community, 7)
            t = Translator(community.language)
            text = t("🗓 Weekly digest") + "\n" + summary_text(report, t)
            for target in targets:
                delivery = await self.outbox.send_message(target.chat_id, text, priority=Priority.NORMAL)
                if not delivery.ok:
                    log.warning("digest for %s to %s failed: %s", community.chat_id, target.chat_id, delivery.error)
            await self._send_charts(targets, report, prefix=f"{community.chat_id}-", locale=community.language)
            sent += 1
        return sent
