"""Per-community quotas ([quotas]): past its limit a community is refused a new FAQ entry, feed or scheduled
post with a clear reply; other communities are not affected."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.faq_io import FaqDraft
from bot.services.feeds import FeedError
from bot.services.posts import PostError
from bot.services.quotas import QuotaReached
from tests.reliability.support import MANAGER, feed, group, message, steward, update

G, H = -1001500000001, -1001500000002
ADMIN = 800
QUOTAS = {"faq_entries": 2, "feeds": 1, "scheduled_posts": 1}


async def test_faq_entries_past_the_quota_are_refused(tmp_path: Path) -> None:
    async with steward(tmp_path, {G: {ADMIN}}, quotas=QUOTAS) as app:
        await app.faq.import_drafts(G, [FaqDraft("a", ("Question a?",), "A."), FaqDraft("b", ("Question b?",), "B.")])
        await app.faq.import_drafts(G, [FaqDraft("a", ("Question a again?",), "A2.")])  # an update is no new entry
        with pytest.raises(QuotaReached):
            await app.faq.import_drafts(G, [FaqDraft("c", ("Question c?",), "C.")])
        with pytest.raises(QuotaReached):
            await app.faq.add_entry(G, ["Question d?"], "D.", created_by=ADMIN)
        since = len(app.bot.session.journal)
        await feed(app, update("message", message(group(G), ADMIN, "/faq_add")))
        replies = [m.text for m in app.bot.session.journal[since:] if type(m).__name__ == "SendMessage"]
        assert replies == ["This community has reached its limit of 2 FAQ entries; delete some with /faq_del first."]
        assert await app.faq.repo.count_entries(G) == 2
        await app.faq.add_entry(H, ["Question h?"], "H.", created_by=MANAGER)  # another community is not affected


async def test_feeds_past_the_quota_are_refused_before_any_fetch(tmp_path: Path) -> None:
    async with steward(tmp_path, {G: {ADMIN}}, quotas=QUOTAS) as app:
        await app.feeds.repo.add(G, "https://example.org/a.xml", thread_id=None, added_by=ADMIN, now=1)
        with pytest.raises(FeedError, match="already has 1 feeds, the most allowed"):
            await app.feeds.add_feed(G, "https://example.org/b.xml", thread_id=None, added_by=ADMIN)
        assert await app.feeds.repo.count_active(G) == 1


async def test_scheduled_posts_past_the_quota_are_refused(tmp_path: Path) -> None:
    async with steward(tmp_path, {G: {ADMIN}}, quotas=QUOTAS) as app:

        async def schedule(chat_id: int) -> None:
            post = await app.posts.build(
                chat_id=chat_id,
                thread_id=None,
                text="News",
                media_kind=None,
                media=None,
                buttons=[],
                pin=False,
                unpin_after_min=None,
                silent=False,
                protect=False,
                when="2099-01-01 10:00",
                created_by=MANAGER,
            )
            await app.posts.create(post)

        await schedule(G)
        with pytest.raises(PostError, match="already has 1 scheduled posts"):
            await schedule(G)
        await schedule(H)
        assert await app.posts.repo.count_scheduled(G) == 1
