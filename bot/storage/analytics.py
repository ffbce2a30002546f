"""Analytics: every figure is one SQL query over our own tables, returned as plain dataclasses.

The functions take a :class:`Database`, a chat id and a half-open period ``[since, until)`` in
unix seconds. They are reused by ``/stats``, the weekly digest, ``steward stats`` (CSV) and the
offline jobs. Figures that depend on a feature's tables (FAQ, cases, posts) report
``available=False`` when that table does not exist, instead of guessing.

Medians are computed in SQL (window functions): the lower and upper middle values averaged.
Reply lookups use the ``messages_reply`` index (migration 0005); ``+ 0`` and the unary ``+``
on ``date`` keep SQLite's planner from scanning the date index instead (its MIN() shortcut).
Days are calendar days in the community's timezone (its UTC offset at the end of the period).
"""

from __future__ import annotations

from datetime import date

from bot.domain.analytics import (
    DAY,
    MONDAY_EPOCH,
    SOURCE_CAMPAIGN,
    SOURCE_NO_LINK,
    SOURCE_OTHER_LINK,
    SOURCE_UNKNOWN,
    WEEK,
    Activity,
    CaseFigures,
    Cohort,
    DayFigures,
    FaqFigures,
    Growth,
    Helper,
    Period,
    PostFigure,
    PostFigures,
    Questions,
    SentimentMix,
    SourceFigures,
    day_of,
    week_start_of,
)
from bot.storage.db import Database

__all__ = [
    "ANSWER_WINDOW_S",
    "DAY",
    "MONDAY_EPOCH",
    "RETENTION_WEEKS",
    "SOURCE_CAMPAIGN",
    "SOURCE_NO_LINK",
    "SOURCE_OTHER_LINK",
    "SOURCE_UNKNOWN",
    "WEEK",
    "Activity",
    "CaseFigures",
    "Cohort",
    "DayFigures",
    "FaqFigures",
    "Growth",
    "Helper",
    "Period",
    "PostFigure",
    "PostFigures",
    "Questions",
    "SentimentMix",
    "SourceFigures",
    "activity",
    "case_figures",
    "columns_of",
    "day_of",
    "faq_figures",
    "growth",
    "post_figures",
    "questions",
    "retention",
    "sentiment_mix",
    "table_exists",
    "top_helpers",
    "week_start_of",
]

RETENTION_WEEKS = 4
ANSWER_WINDOW_S = DAY  # a reply counts as an answer (or engagement) within this time


async def table_exists(db: Database, name: str) -> bool:
    return await db.exists("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))


async def columns_of(db: Database, name: str) -> set[str]:
    rows = await db.fetchall("SELECT name FROM pragma_table_info(?)", (name,))
    return {str(row[0]) for row in rows}


def _median_sql(values_sql: str) -> str:
    """SQL for the median of the single column ``x`` that ``values_sql`` selects."""
    return (
        f"WITH v AS ({values_sql}),"  # noqa: S608 - composed from constants, values are bound
        " o AS (SELECT x, ROW_NUMBER() OVER (ORDER BY x) AS rn, COUNT(*) OVER () AS n"
        "       FROM v WHERE x IS NOT NULL)"
        " SELECT AVG(x) FROM o WHERE rn IN ((n + 1) / 2, (n + 2) / 2)"
    )


async def _median(db: Database, values_sql: str, params: tuple[object, ...]) -> float | None:
    value = await db.fetchval(_median_sql(values_sql), params)
    return None if value is None else float(value)


# --------------------------------------------------------------------------- activity


async def activity(db: Database, period: Period) -> Activity:
    """Messages and distinct active members, in total and per day (with joins, leaves, mood)."""
    p = period
    offset = p.utc_offset()
    totals = await db.fetchone(
        "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM messages WHERE chat_id = ? AND date >= ? AND date < ?",
        (p.chat_id, p.since, p.until),
    )
    assert totals is not None
    per_day = await db.fetchall(
        """
        SELECT (date + ?) / 86400 AS d, COUNT(*) AS messages, COUNT(DISTINCT user_id) AS active,
               SUM(sentiment_label = 'negative') AS neg, SUM(sentiment_label = 'neutral') AS neu,
               SUM(sentiment_label = 'positive') AS pos
          FROM messages WHERE chat_id = ? AND date >= ? AND date < ?
         GROUP BY d
        """,
        (offset, p.chat_id, p.since, p.until),
    )
    events = await db.fetchall(
        """
        SELECT (at + ?) / 86400 AS d, SUM(kind = 'join') AS joins, SUM(kind = 'leave') AS leaves
          FROM member_events WHERE chat_id = ? AND at >= ? AND at < ?
         GROUP BY d
        """,
        (offset, p.chat_id, p.since, p.until),
    )
    by_day: dict[date, dict[str, int]] = {d: {} for d in p.day_range()}
    for row in per_day:
        by_day.setdefault(day_of(row["d"]), {}).update(
            messages=int(row["messages"]),
            active_members=int(row["active"]),
            negative=int(row["neg"] or 0),
            neutral=int(row["neu"] or 0),
            positive=int(row["pos"] or 0),
        )
    for row in events:
        by_day.setdefault(day_of(row["d"]), {}).update(joins=int(row["joins"] or 0), leaves=int(row["leaves"] or 0))
    days = [DayFigures(day, **values) for day, values in sorted(by_day.items())]
    return Activity(int(totals[0]), int(totals[1]), days)


async def sentiment_mix(db: Database, period: Period) -> SentimentMix:
    row = await db.fetchone(
        """
        SELECT SUM(sentiment_label = 'negative'), SUM(sentiment_label = 'neutral'),
               SUM(sentiment_label = 'positive'),
               SUM(sentiment_label IS NULL OR sentiment_label NOT IN ('negative', 'neutral', 'positive'))
          FROM messages WHERE chat_id = ? AND date >= ? AND date < ?
        """,
        (period.chat_id, period.since, period.until),
    )
    assert row is not None
    return SentimentMix(*(int(value or 0) for value in row))


# --------------------------------------------------------------------------- growth


async def growth(db: Database, period: Period) -> Growth:
    """Joins and leaves in the period, by campaign. A leave counts for the source of the
    leaver's latest join before it."""
    p = period
    rows = await db.fetchall(
        """
        WITH joins AS (
            SELECT e.id, e.campaign_id, e.invite_link FROM member_events e
             WHERE e.chat_id = ? AND e.kind = 'join' AND e.at >= ? AND e.at < ?
        ),
        leaves AS (
            SELECT l.id,
                   (SELECT j.id FROM member_events j
                     WHERE j.chat_id = l.chat_id AND j.user_id = l.user_id AND j.kind = 'join' AND j.at <= l.at
                     ORDER BY j.at DESC, j.id DESC LIMIT 1) AS join_id
              FROM member_events l
             WHERE l.chat_id = ? AND l.kind = 'leave' AND l.at >= ? AND l.at < ?
        ),
        tagged AS (
            SELECT 'join' AS kind, campaign_id, invite_link, 1 AS known FROM joins
            UNION ALL
            SELECT 'leave', j.campaign_id, j.invite_link, j.id IS NOT NULL
              FROM leaves l LEFT JOIN member_events j ON j.id = l.join_id
        )
        SELECT CASE WHEN t.campaign_id IS NOT NULL THEN 'campaign'
                    WHEN t.known = 0 THEN 'unknown'
                    WHEN t.invite_link IS NOT NULL THEN 'other_link'
                    ELSE 'no_link' END AS source,
               c.name AS name,
               SUM(t.kind = 'join') AS joins, SUM(t.kind = 'leave') AS leaves
          FROM tagged t LEFT JOIN invite_campaigns c ON c.id = t.campaign_id
         GROUP BY source, c.id
         ORDER BY joins DESC, leaves DESC, name
        """,
        (p.chat_id, p.since, p.until, p.chat_id, p.since, p.until),
    )
    by_source = [SourceFigures(str(r["source"]), r["name"], int(r["joins"] or 0), int(r["leaves"] or 0)) for r in rows]
    return Growth(sum(s.joins for s in by_source), sum(s.leaves for s in by_source), by_source)


async def retention(db: Database, chat_id: int, *, until: int, weeks: int = 8) -> list[Cohort]:
    """Weekly join cohorts (Monday-based, UTC) of the ``weeks`` weeks before ``until``: of the
    members who joined in week N, how many posted in each of weeks N+1..N+4, and in any of them."""
    last_week = week_start_of(until - 1)
    first_week = last_week - (weeks - 1) * WEEK
    rows = await db.fetchall(
        """
        WITH cohort AS (
            SELECT user_id, MIN(at) AS joined_at, (MIN(at) - ?) / ? * ? + ? AS week
              FROM member_events
             WHERE chat_id = ? AND kind = 'join' AND at >= ? AND at < ?
             GROUP BY user_id
        ),
        activity AS (
            SELECT c.week, c.user_id, (m.date - c.week) / ? AS wk
              FROM cohort c JOIN messages m ON m.chat_id = ? AND m.user_id = c.user_id
             WHERE m.date >= c.week + ? AND m.date < c.week + ? AND m.date < ?
             GROUP BY c.week, c.user_id, wk
        )
        SELECT c.week AS week, COUNT(DISTINCT c.user_id) AS joined,
               (SELECT COUNT(DISTINCT user_id) FROM activity a WHERE a.week = c.week AND a.wk = 1) AS w1,
               (SELECT COUNT(DISTINCT user_id) FROM activity a WHERE a.week = c.week AND a.wk = 2) AS w2,
               (SELECT COUNT(DISTINCT user_id) FROM activity a WHERE a.week = c.week AND a.wk = 3) AS w3,
               (SELECT COUNT(DISTINCT user_id) FROM activity a WHERE a.week = c.week AND a.wk = 4) AS w4,
               (SELECT COUNT(DISTINCT user_id) FROM activity a WHERE a.week = c.week) AS retained
          FROM cohort c GROUP BY c.week ORDER BY c.week
        """,
        (
            MONDAY_EPOCH,
            WEEK,
            WEEK,
            MONDAY_EPOCH,
            chat_id,
            first_week,
            until,
            WEEK,
            chat_id,
            WEEK,
            (RETENTION_WEEKS + 1) * WEEK,
            until,
        ),
    )
    found = {int(r["week"]): r for r in rows}
    cohorts: list[Cohort] = []
    for week in range(first_week, last_week + 1, WEEK):
        row = found.get(week)
        joined = int(row["joined"]) if row is not None else 0
        posted: list[int | None] = []
        for k in range(1, RETENTION_WEEKS + 1):
            week_over = week + (k + 1) * WEEK <= until
            value = int(row[f"w{k}"]) if row is not None else 0
            posted.append(value if week_over else None)
        complete = week + (RETENTION_WEEKS + 1) * WEEK <= until
        retained_value = int(row["retained"]) if row is not None else 0
        cohorts.append(Cohort(day_of(week // DAY), joined, posted, retained_value if complete else None))
    return cohorts


# --------------------------------------------------------------------------- questions and helpers

_HUMAN_ANSWERS = """
    SELECT q.message_id AS qid,
           (SELECT MIN(r.date + 0) FROM messages r
             WHERE r.chat_id = q.chat_id AND r.reply_to_message_id = q.message_id
               AND r.user_id <> q.user_id AND +r.date >= q.date) AS human_at
      FROM messages q
     WHERE q.chat_id = ? AND q.is_question = 1 AND q.date >= ? AND q.date < ?
"""


async def _bot_answer_sql(db: Database) -> str | None:
    """SQL selecting (qid, bot_at) for questions the FAQ answered, when its table exists."""
    if not await table_exists(db, "faq_answers"):
        return None
    if not {"chat_id", "question_message_id", "how", "created_at"} <= await columns_of(db, "faq_answers"):
        return None
    return (
        "SELECT question_message_id AS qid, MIN(created_at) AS bot_at FROM faq_answers"
        " WHERE chat_id = ? AND how IN ('answer', 'cooldown') AND question_message_id IS NOT NULL"
        " GROUP BY question_message_id"
    )


async def questions(db: Database, period: Period) -> Questions:
    """Questions asked in the period, and how long until a member replied or the bot answered."""
    p = period
    bot_sql = await _bot_answer_sql(db)
    if bot_sql is None:
        base = (
            f"SELECT qid, human_at, NULL AS bot_at, q.date AS asked_at FROM ({_HUMAN_ANSWERS}) h"  # noqa: S608 - constants only
            " JOIN messages q ON q.chat_id = ? AND q.message_id = h.qid"
        )
        params: tuple[object, ...] = (p.chat_id, p.since, p.until, p.chat_id)
    else:
        base = (
            f"SELECT h.qid, h.human_at, b.bot_at, q.date AS asked_at FROM ({_HUMAN_ANSWERS}) h"  # noqa: S608
            " JOIN messages q ON q.chat_id = ? AND q.message_id = h.qid"
            f" LEFT JOIN ({bot_sql}) b ON b.qid = h.qid"
        )
        params = (p.chat_id, p.since, p.until, p.chat_id, p.chat_id)
    row = await db.fetchone(
        f"SELECT COUNT(*), SUM(human_at IS NOT NULL OR bot_at IS NOT NULL),"  # noqa: S608 - constants only
        " SUM(human_at IS NOT NULL AND (bot_at IS NULL OR human_at <= bot_at)),"
        " SUM(bot_at IS NOT NULL AND (human_at IS NULL OR bot_at < human_at))"
        f" FROM ({base})",
        params,
    )
    assert row is not None
    median = await _median(
        db,
        f"SELECT MIN(COALESCE(human_at, bot_at), COALESCE(bot_at, human_at)) - asked_at AS x FROM ({base})",  # noqa: S608
        params,
    )
    return Questions(int(row[0]), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), median)


async def top_helpers(db: Database, period: Period, *, limit: int = 5) -> list[Helper]:
    """Members whose replies answer other members' questions (asked in the period), most first."""
    p = period
    replies_sql = """
        SELECT r.user_id AS helper, q.message_id AS qid, MIN(r.date) - q.date AS x
          FROM messages q JOIN messages r
            ON r.chat_id = q.chat_id AND r.reply_to_message_id = q.message_id
           AND r.user_id <> q.user_id AND +r.date >= q.date AND +r.date < q.date + ?
         WHERE q.chat_id = ? AND q.is_question = 1 AND q.date >= ? AND q.date < ?
           AND r.sender_chat_id IS NULL
         GROUP BY r.user_id, q.message_id
    """
    params = (ANSWER_WINDOW_S, p.chat_id, p.since, p.until)
    rows = await db.fetchall(
        f"""
        WITH a AS ({replies_sql}),
        ranked AS (
            SELECT helper, x, ROW_NUMBER() OVER (PARTITION BY helper ORDER BY x) AS rn,
                   COUNT(*) OVER (PARTITION BY helper) AS n
              FROM a
        ),
        med AS (SELECT helper, AVG(x) AS median FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY helper),
        counted AS (SELECT helper, COUNT(*) AS answers, MIN(x) AS fastest FROM a GROUP BY helper)
        SELECT c.helper, c.answers, med.median, COALESCE(m.first_name, '') AS first_name, m.username
          FROM counted c JOIN med ON med.helper = c.helper
          LEFT JOIN members m ON m.chat_id = ? AND m.user_id = c.helper
         ORDER BY c.answers DESC, c.fastest, c.helper
         LIMIT ?
        """,  # noqa: S608 - constants only
        (*params, p.chat_id, limit),
    )
    helpers: list[Helper] = []
    for row in rows:
        user_id = int(row["helper"])
        name = row["first_name"] or (f"@{row['username']}" if row["username"] else str(user_id))
        median = None if row["median"] is None else float(row["median"])
        helpers.append(Helper(user_id, str(name), int(row["answers"]), median))
    return helpers


# --------------------------------------------------------------------------- features' tables


async def faq_figures(db: Database, period: Period) -> FaqFigures:
    """FAQ answers and "Did you mean" suggestions the bot gave in the period, questions it
    recorded as unanswered, and the 👍/👎 votes on the answers of the period."""
    if not await table_exists(db, "faq_answers") or not await table_exists(db, "faq_unanswered"):
        return FaqFigures(available=False)
    p = period
    row = await db.fetchone(
        """
        SELECT SUM(how IN ('answer', 'cooldown')), SUM(how = 'suggestion')
          FROM faq_answers WHERE chat_id = ? AND created_at >= ? AND created_at < ?
        """,
        (p.chat_id, p.since, p.until),
    )
    unanswered = await db.fetchval(
        "SELECT COUNT(*) FROM faq_unanswered WHERE chat_id = ? AND created_at >= ? AND created_at < ?",
        (p.chat_id, p.since, p.until),
    )
    votes = None
    if await table_exists(db, "faq_votes"):
        votes = await db.fetchone(
            """
            SELECT SUM(v.vote > 0), SUM(v.vote < 0)
              FROM faq_votes v JOIN faq_answers fa ON fa.id = v.answer_id
             WHERE fa.chat_id = ? AND fa.created_at >= ? AND fa.created_at < ?
            """,
            (p.chat_id, p.since, p.until),
        )
    assert row is not None
    return FaqFigures(
        True,
        answered=int(row[0] or 0),
        suggested=int(row[1] or 0),
        unanswered=int(unanswered or 0),
        helpful=int(votes[0] or 0) if votes is not None else 0,
        unhelpful=int(votes[1] or 0) if votes is not None else 0,
    )


async def case_figures(db: Database, period: Period) -> CaseFigures:
    """Cases opened in the period (shadow-mode cases left out), cases resolved and dismissed in
    it, the median first response of the cases opened, and the median time to resolve."""
    if not await table_exists(db, "cases"):
        return CaseFigures(available=False)
    p = period
    row = await db.fetchone(
        """
        SELECT SUM(opened_at >= ? AND opened_at < ?),
               SUM(state = 'resolved' AND closed_at >= ? AND closed_at < ?),
               SUM(state = 'dismissed' AND closed_at >= ? AND closed_at < ?)
          FROM cases WHERE chat_id = ? AND shadow = 0
        """,
        (p.since, p.until, p.since, p.until, p.since, p.until, p.chat_id),
    )
    assert row is not None
    first = await _median(
        db,
        "SELECT COALESCE(response_seconds, first_response_at - opened_at) AS x FROM cases"
        " WHERE chat_id = ? AND shadow = 0 AND opened_at >= ? AND opened_at < ?",
        (p.chat_id, p.since, p.until),
    )
    resolution = await _median(
        db,
        "SELECT closed_at - opened_at AS x FROM cases WHERE chat_id = ? AND shadow = 0"
        " AND state = 'resolved' AND closed_at >= ? AND closed_at < ?",
        (p.chat_id, p.since, p.until),
    )
    return CaseFigures(True, int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), first, resolution)


async def post_figures(db: Database, period: Period) -> PostFigures:
    """Posts sent in the period, replies to each within 24 h, and their reaction totals."""
    if not await table_exists(db, "post_runs") or not await table_exists(db, "posts"):
        return PostFigures(available=False)
    p = period
    rows = await db.fetchall(
        """
        SELECT r.post_id, r.message_id, r.created_at AS sent_at, r.reactions,
               (SELECT COUNT(*) FROM messages m
                 WHERE m.chat_id = r.chat_id AND m.reply_to_message_id = r.message_id
                   AND +m.date >= r.created_at AND +m.date < r.created_at + ?) AS replies
          FROM post_runs r JOIN posts ps ON ps.id = r.post_id
         WHERE r.status = 'sent' AND (r.chat_id = ? OR ps.chat_id = ?)
           AND r.created_at >= ? AND r.created_at < ?
         ORDER BY r.created_at, r.id
        """,
        (ANSWER_WINDOW_S, p.chat_id, p.chat_id, p.since, p.until),
    )
    posts = [
        PostFigure(
            int(r["post_id"]), r["message_id"], int(r["sent_at"]), int(r["replies"] or 0), int(r["reactions"] or 0)
        )
        for r in rows
    ]
    return PostFigures(True, len(posts), sum(x.replies for x in posts), sum(x.reactions for x in posts), posts)
