"""database.retain_days: old message texts are blanked, the figures /stats reads stay identical."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Translator
from bot.services.faq_io import FaqDraft
from bot.services.retention import DAY, Retention
from bot.services.stats import build_report, summary_text
from bot.timeutil import epoch_now
from tests.reliability.support import DATE, feed, group, message, steward, update, user

G = -1001400000001
ADMIN = 810


async def test_old_texts_go_and_the_stats_of_old_periods_stay_identical(tmp_path: Path) -> None:
    async with steward(tmp_path, {G: {ADMIN}}) as app:
        await app.faq.import_drafts(G, [FaqDraft("hours", ("When are you open?",), "9 to 5.")])
        question = message(group(G), 1, "Does anyone know a good plumber in town?")
        await feed(app, update("message", question))
        await feed(
            app,
            update(
                "message",
                message(group(G), 2, "Try Mario, he is great", reply_to_message={**question, "from": user(1)}),
            ),
        )
        for uid, text in (
            (3, "this is a scam, worst service"),
            (4, "When are you open?"),
            (5, "What is the airspeed of a swallow?"),
            (6, "great evening everyone"),
        ):
            await feed(app, update("message", message(group(G), uid, text)))
        later = epoch_now() + 400 * DAY  # a year and more from now: everything above is old by then
        recent = message(group(G), 7, "a message from today", date=later - 3600)
        await feed(app, update("message", recent))

        since, until = DATE - 7 * DAY, epoch_now() + DAY
        before = await build_report(app.db, G, since=since, until=until)
        text_before = summary_text(before, Translator("en"))
        retention = Retention(app.messages, app.faq.repo, 365, clock=lambda: later)
        texts, questions = await retention.run()
        assert texts == 6 and questions >= 1
        assert (
            await app.db.fetchval(
                "SELECT COUNT(*) FROM messages WHERE chat_id = ? AND date < ? AND text <> ''", (G, later - 365 * DAY)
            )
            == 0
        )
        assert (
            await app.db.fetchval("SELECT text FROM messages WHERE message_id = ?", (recent["message_id"],))
            == "a message from today"
        )
        assert await app.db.fetchval("SELECT COUNT(*) FROM faq_unanswered WHERE text <> ''") == 0
        after = await build_report(app.db, G, since=since, until=until)
        assert after == before
        assert summary_text(after, Translator("en")) == text_before
        assert before.activity.messages == 6 and before.questions.asked >= 2 and before.faq.unanswered >= 1
        assert await retention.run() == (0, 0)  # nothing left to blank
