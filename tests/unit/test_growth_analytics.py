"""Analytics over a seeded database with answers worked out by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.storage import analytics as a
from bot.storage.db import Database
from bot.storage.growth import GrowthRepository

CHAT = -1001000000500
OTHER_CHAT = -1001000000501
T0 = int(datetime(2026, 10, 5, tzinfo=UTC).timestamp())  # a Monday
DAY = 86_400
WEEK = 7 * DAY


class Seeder:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.next_id = 1

    async def community(self, chat_id: int, title: str = "Club") -> None:
        await self.db.execute(
            "INSERT INTO communities (chat_id, title, type, created_at, updated_at) VALUES (?, ?, 'supergroup', 0, 0)",
            (chat_id, title),
        )

    async def member(self, chat_id: int, user_id: int, name: str) -> None:
        await self.db.execute(
            "INSERT OR IGNORE INTO members (chat_id, user_id, first_name, first_seen_at, last_seen_at)"
            " VALUES (?, ?, ?, 0, 0)",
            (chat_id, user_id, name),
        )

    async def message(
        self,
        user_id: int,
        at: int,
        *,
        chat_id: int = CHAT,
        question: bool = False,
        reply_to: int | None = None,
        sentiment: str | None = "neutral",
    ) -> int:
        message_id = self.next_id
        self.next_id += 1
        await self.db.execute(
            "INSERT INTO messages (chat_id, message_id, reply_to_message_id, thread_key, user_id, text, date,"
            " is_question, sentiment_label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat_id,
                message_id,
                reply_to,
                f"m:{reply_to or message_id}",
                user_id,
                "text",
                at,
                int(question),
                sentiment,
            ),
        )
        return message_id


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "analytics.db")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def seed_questions(s: Seeder) -> None:
    await s.community(CHAT)
    for uid, name in [(1, "Asker"), (2, "Bea"), (3, "Cy"), (4, "Dee")]:
        await s.member(CHAT, uid, name)
    q1 = await s.message(1, T0 + 100, question=True)
    await s.message(2, T0 + 400, reply_to=q1)  # Bea answers after 300 s
    await s.message(3, T0 + 1000, reply_to=q1)  # Cy too, after 900 s (not the first answer)
    q2 = await s.message(1, T0 + 2000, question=True)
    await s.message(2, T0 + 2600, reply_to=q2)  # Bea, 600 s
    q3 = await s.message(4, T0 + 3000, question=True)
    await s.message(3, T0 + 4200, reply_to=q3)  # Cy, 1200 s
    q4 = await s.message(2, T0 + 5000, question=True)
    await s.message(2, T0 + 5100, reply_to=q4)  # answering oneself does not count
    # A question in another community must not leak in.
    await s.community(OTHER_CHAT, "Other")
    oq = await s.message(7, T0 + 100, chat_id=OTHER_CHAT, question=True)
    await s.message(2, T0 + 110, chat_id=OTHER_CHAT, reply_to=oq)


async def test_question_response_times_and_counts(db: Database) -> None:
    s = Seeder(db)
    await seed_questions(s)
    period = a.Period(CHAT, T0, T0 + DAY)
    q = await a.questions(db, period)
    assert q.asked == 4
    assert q.answered == 3 and q.by_human == 3 and q.by_bot == 0
    # first answers after 300, 600 and 1200 s: the median is 600 s
    assert q.median_answer_s == 600
    assert q.answered_rate == pytest.approx(0.75)


async def test_median_of_an_even_count_averages_the_middle_pair(db: Database) -> None:
    s = Seeder(db)
    await seed_questions(s)
    # Only Q1 (300 s) and Q2 (600 s) are asked before T0 + 2500.
    q = await a.questions(db, a.Period(CHAT, T0, T0 + 2500))
    assert q.asked == 2 and q.median_answer_s == 450


async def test_bot_answers_count_and_the_earlier_answer_wins(db: Database) -> None:
    if not await a.table_exists(db, "faq_answers"):
        pytest.skip("the FAQ migration is not present")
    s = Seeder(db)
    await seed_questions(s)
    # Q4 (message 8, asked at T0 + 5000) gets the bot's answer after 30 s; Q1 (message 1) got a
    # suggestion only, which is not an answer.
    await db.execute(
        "INSERT INTO faq_answers (chat_id, question_message_id, user_id, how, created_at)"
        " VALUES (?, 8, 2, 'answer', ?), (?, 1, 1, 'suggestion', ?)",
        (CHAT, T0 + 5030, CHAT, T0 + 110),
    )
    q = await a.questions(db, a.Period(CHAT, T0, T0 + DAY))
    assert (q.asked, q.answered, q.by_human, q.by_bot) == (4, 4, 3, 1)
    assert q.median_answer_s == 450  # 30, 300, 600, 1200
    # When the bot is faster than the members, the question counts as answered by the bot.
    await db.execute(
        "INSERT INTO faq_answers (chat_id, question_message_id, user_id, how, created_at)"
        " VALUES (?, 4, 1, 'cooldown', ?)",
        (CHAT, T0 + 2010),
    )
    q = await a.questions(db, a.Period(CHAT, T0, T0 + DAY))
    assert (q.by_human, q.by_bot) == (2, 2)
    assert q.median_answer_s == 165  # 10, 30, 300, 1200


async def test_faq_figures(db: Database) -> None:
    if not await a.table_exists(db, "faq_answers"):
        pytest.skip("the FAQ migration is not present")
    rows = [("answer", T0 + 1), ("answer", T0 + 2), ("cooldown", T0 + 3), ("suggestion", T0 + 4), ("answer", T0 - 10)]
    for i, (how, at) in enumerate(rows, start=1):
        await db.execute(
            "INSERT INTO faq_answers (id, chat_id, user_id, how, created_at) VALUES (?, ?, 1, ?, ?)",
            (i, CHAT, how, at),
        )
    votes = [(1, 10, 1), (1, 11, 1), (2, 10, -1), (3, 12, 1), (5, 10, -1)]  # answer 5 is out of the period
    await db.executemany("INSERT INTO faq_votes (answer_id, user_id, vote, created_at) VALUES (?, ?, ?, 0)", votes)
    for i, at in enumerate([T0 + 5, T0 + 6, T0 + DAY + 1]):
        await db.execute(
            "INSERT INTO faq_unanswered (chat_id, message_id, user_id, text, created_at) VALUES (?, ?, 1, 'q', ?)",
            (CHAT, 100 + i, at),
        )
    f = await a.faq_figures(db, a.Period(CHAT, T0, T0 + DAY))
    assert f.available
    assert (f.answered, f.suggested, f.unanswered, f.helpful, f.unhelpful) == (3, 1, 2, 3, 1)
    assert f.helpful_rate == pytest.approx(0.75)


async def test_top_helpers_rank_by_answered_questions_then_speed(db: Database) -> None:
    s = Seeder(db)
    await seed_questions(s)
    helpers = await a.top_helpers(db, a.Period(CHAT, T0, T0 + DAY))
    assert [(h.name, h.answers) for h in helpers] == [("Bea", 2), ("Cy", 2)]
    # Bea answered after 300 and 600 s; Cy after 900 and 1200 s.
    assert helpers[0].median_response_s == 450
    assert helpers[1].median_response_s == 1050
    assert all(h.user_id not in (1, 4) for h in helpers)


async def test_sentiment_mix_and_daily_trend(db: Database) -> None:
    s = Seeder(db)
    await s.community(CHAT)
    for label, n, day in [("negative", 2, 0), ("neutral", 5, 0), ("positive", 3, 0), ("negative", 4, 1)]:
        for i in range(n):
            await s.message(10 + i, T0 + day * DAY + 60 * i, sentiment=label)
    await s.message(30, T0 + 100, sentiment=None)  # skipped by the model under load
    period = a.Period(CHAT, T0, T0 + 2 * DAY)
    mix = await a.sentiment_mix(db, period)
    assert (mix.negative, mix.neutral, mix.positive, mix.unclassified) == (6, 5, 3, 1)
    assert mix.share("negative") == pytest.approx(6 / 14)
    activity = await a.activity(db, period)
    assert [d.day for d in activity.days] == [date(2026, 10, 5), date(2026, 10, 6)]
    assert [(d.negative, d.neutral, d.positive) for d in activity.days] == [(2, 5, 3), (4, 0, 0)]
    assert activity.messages == 15
    assert [d.messages for d in activity.days] == [11, 4]
    assert [d.active_members for d in activity.days] == [6, 4]


async def test_days_follow_the_community_timezone(db: Database) -> None:
    s = Seeder(db)
    await s.community(CHAT)
    await s.message(1, T0 - 3600)  # 23:00 UTC on Sunday = Monday 02:00 in Jerusalem (UTC+3 on 5 Oct)
    utc = await a.activity(db, a.Period(CHAT, T0 - DAY, T0 + DAY))
    local = await a.activity(db, a.Period(CHAT, T0 - DAY, T0 + DAY, "Asia/Jerusalem"))
    assert [d.day for d in utc.days if d.messages] == [date(2026, 10, 4)]
    assert [d.day for d in local.days if d.messages] == [date(2026, 10, 5)]


async def seed_growth(db: Database, s: Seeder) -> GrowthRepository:
    await s.community(CHAT)
    repo = GrowthRepository(db)
    spring = await repo.add_campaign(CHAT, "spring", "https://t.me/+spring", created_by=500, at=T0 - DAY)
    assert spring.id > 0
    # Week 0: 10 and 11 through the campaign, 12 through someone's link; week 1: 13 without a link.
    await repo.record_join(CHAT, 10, T0 + 100, source="chat_member", invite_link="https://t.me/+spring", via="link")
    await repo.record_join(CHAT, 11, T0 + 200, source="chat_member", invite_link="https://t.me/+spring", via="link")
    await repo.record_join(CHAT, 12, T0 + 300, source="chat_member", invite_link="https://t.me/+someone", via="link")
    await repo.record_join(CHAT, 13, T0 + WEEK + DAY, source="service", invite_link=None, via=None)
    await repo.record_leave(CHAT, 11, T0 + 2 * DAY, source="chat_member")
    await repo.record_leave(CHAT, 99, T0 + 3 * DAY, source="chat_member")  # joined before we watched
    return repo


async def test_joins_and_leaves_by_campaign(db: Database) -> None:
    s = Seeder(db)
    await seed_growth(db, s)
    g = await a.growth(db, a.Period(CHAT, T0, T0 + WEEK))
    assert (g.joins, g.leaves, g.net) == (3, 2, 1)
    table = {(x.source, x.name): (x.joins, x.leaves) for x in g.by_source}
    assert table == {
        ("campaign", "spring"): (2, 1),  # 11 left: counted against the campaign that brought them
        ("other_link", None): (1, 0),
        ("unknown", None): (0, 1),
    }
    later = await a.growth(db, a.Period(CHAT, T0 + WEEK, T0 + 2 * WEEK))
    assert {(x.source, x.joins) for x in later.by_source} == {("no_link", 1)}


async def test_a_join_reported_twice_is_one_join_with_the_link(db: Database) -> None:
    s = Seeder(db)
    await s.community(CHAT)
    repo = GrowthRepository(db)
    await repo.add_campaign(CHAT, "autumn", "https://t.me/+autumn", created_by=None, at=T0)
    first = await repo.record_join(CHAT, 20, T0 + 10, source="service", invite_link=None, via=None)
    second = await repo.record_join(
        CHAT, 20, T0 + 11, source="chat_member", invite_link="https://t.me/+autumn", via="link"
    )
    assert first.is_new and not second.is_new and second.event_id == first.event_id
    g = await a.growth(db, a.Period(CHAT, T0, T0 + DAY))
    assert g.joins == 1
    assert [(x.source, x.name) for x in g.by_source] == [("campaign", "autumn")]
    # Rejoining after a leave is a new join.
    await repo.record_leave(CHAT, 20, T0 + 20, source="service")
    again = await repo.record_join(CHAT, 20, T0 + 30, source="service", invite_link=None, via=None)
    assert again.is_new
    figures = await repo.campaigns(CHAT)
    assert [(f.campaign.name, f.joins, f.leaves) for f in figures] == [("autumn", 1, 1)]


async def test_retention_of_weekly_cohorts(db: Database) -> None:
    s = Seeder(db)
    await seed_growth(db, s)
    await s.message(10, T0 + WEEK + 10)  # week +1
    await s.message(10, T0 + 3 * WEEK + 10)  # week +3
    await s.message(11, T0 + 4 * WEEK + 10)  # week +4
    await s.message(12, T0 + 500)  # the week they joined: does not count
    await s.message(12, T0 + 5 * WEEK + 10)  # week +5: too late
    await s.message(13, T0 + 2 * WEEK + DAY)  # 13 joined in week 1 and posted in its week +1
    cohorts = await a.retention(db, CHAT, until=T0 + 6 * WEEK, weeks=6)
    assert [c.week_start for c in cohorts][:2] == [date(2026, 10, 5), date(2026, 10, 12)]
    first, second = cohorts[0], cohorts[1]
    assert first.joined == 3 and first.posted_by_week == [1, 0, 1, 1]
    assert first.retained == 2 and first.rate == pytest.approx(2 / 3)
    assert second.joined == 1 and second.posted_by_week == [1, 0, 0, 0] and second.retained == 1
    # Cohorts whose four weeks have not ended yet have no retention figure.
    assert cohorts[2].joined == 0
    assert cohorts[-1].retained is None and cohorts[-1].posted_by_week == [None, None, None, None]


async def test_case_figures_count_and_time_cases(db: Database) -> None:
    if not await a.table_exists(db, "cases"):
        pytest.skip("the cases migration is not present")

    async def case(opened: int, state: str, *, response: int | None, closed: int | None, shadow: int = 0) -> None:
        await db.execute(
            "INSERT INTO cases (chat_id, thread_key, state, shadow, first_message_id, last_message_id, opened_at,"
            " last_activity_at, first_response_at, response_seconds, closed_at)"
            " VALUES (?, ?, ?, ?, 1, 1, ?, ?, ?, ?, ?)",
            (
                CHAT,
                f"m:{opened}",
                state,
                shadow,
                opened,
                opened,
                None if response is None else opened + response,
                response,
                closed,
            ),
        )

    await case(T0 + 10, "resolved", response=600, closed=T0 + 10 + 7200)
    await case(T0 + 20, "resolved", response=1200, closed=T0 + 20 + 3600)
    await case(T0 + 30, "dismissed", response=60, closed=T0 + 40)
    await case(T0 + 50, "open", response=None, closed=None)
    await case(T0 + 60, "resolved", response=5, closed=T0 + 70, shadow=1)  # observe mode: left out
    await case(T0 - DAY, "resolved", response=100, closed=T0 + 100)  # opened before, resolved within
    figures = await a.case_figures(db, a.Period(CHAT, T0, T0 + DAY))
    assert figures.available
    assert (figures.opened, figures.resolved, figures.dismissed) == (4, 3, 1)
    assert figures.median_first_response_s == 600  # 60, 600, 1200 (the open case has none yet)
    assert figures.median_resolution_s == 7200  # 3600, 7200, 86500


async def test_post_figures_count_replies_within_a_day(db: Database) -> None:
    if not await a.table_exists(db, "post_runs"):
        pytest.skip("the posts migration is not present")
    s = Seeder(db)
    await s.community(CHAT)
    s.next_id = 500

    async def post(post_id: int, sent_at: int, message_id: int, reactions: int, status: str = "sent") -> None:
        await db.execute(
            "INSERT INTO posts (id, chat_id, text, created_at, updated_at) VALUES (?, ?, 'news', 0, 0)",
            (post_id, CHAT),
        )
        await db.execute(
            "INSERT INTO post_runs (post_id, due_at, status, chat_id, message_id, reactions, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (post_id, sent_at, status, CHAT, message_id, reactions, sent_at),
        )

    await post(1, T0 + 100, 40, reactions=7)
    await post(2, T0 + 200, 41, reactions=2)
    await post(3, T0 + 300, 42, reactions=9, status="failed")  # never went out
    await post(4, T0 - 500, 43, reactions=1)  # before the period
    await s.message(5, T0 + 150, reply_to=40)
    await s.message(6, T0 + 3600, reply_to=40)
    await s.message(7, T0 + 100 + DAY + 1, reply_to=40)  # a day later: not counted
    await s.message(5, T0 + 250, reply_to=41)
    figures = await a.post_figures(db, a.Period(CHAT, T0, T0 + 2 * DAY))
    assert figures.available
    assert (figures.sent, figures.replies, figures.reactions) == (2, 3, 9)
    assert [(p.post_id, p.replies, p.reactions) for p in figures.posts] == [(1, 2, 7), (2, 1, 2)]


async def test_missing_feature_tables_report_not_available(db: Database) -> None:
    await db.execute("DROP TABLE IF EXISTS case_events")
    await db.execute("DROP TABLE IF EXISTS case_cards")
    await db.execute("DROP TABLE IF EXISTS case_pending_replies")
    await db.execute("DROP TABLE IF EXISTS cases")
    await db.execute("DROP TABLE IF EXISTS post_runs")
    await db.execute("DROP TABLE IF EXISTS faq_votes")
    await db.execute("DROP TABLE IF EXISTS faq_answers")
    period = a.Period(CHAT, T0, T0 + DAY)
    assert not (await a.case_figures(db, period)).available
    assert not (await a.post_figures(db, period)).available
    assert not (await a.faq_figures(db, period)).available
    s = Seeder(db)
    await seed_questions(s)
    q = await a.questions(db, period)  # without the FAQ tables: members' answers only
    assert (q.asked, q.by_human, q.by_bot) == (4, 3, 0)
