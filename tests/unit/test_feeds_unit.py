"""Feed helpers: parsing, keywords, slots and the approve race, without HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import SchedulerSettings
from bot.services.feeds import FeedError, FeedService, FetchResult, has_keyword, parse_feed, word_overlap
from bot.services.posts import PostService
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.feeds import FeedRepository
from bot.storage.posts import PostRepository
from handlers.callbacks import BUTTONS
from tests.builders import add_supergroup
from tests.unit.test_posts_engine import FakeClock, FakeDesk, FakeSender

CHAT = -1001234567890
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><guid>g1</guid><title>One &amp; only</title><link>https://e.org/1</link>
<description>&lt;p&gt;Hello &lt;b&gt;world&lt;/b&gt;&lt;/p&gt;</description>
<pubDate>Fri, 20 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>"""


def test_parse_feed_flattens_html_and_reads_dates() -> None:
    title, entries = parse_feed(RSS)
    assert title == "T"
    assert entries[0].guid == "g1" and entries[0].title == "One & only" and entries[0].summary == "Hello world"
    assert entries[0].published_at == int(datetime(2026, 11, 20, 10, tzinfo=UTC).timestamp())
    with pytest.raises(FeedError):
        parse_feed(b"<html><body>not a feed</body></html>")


def test_keywords_match_whole_words_and_phrases() -> None:
    assert has_keyword("Latte Art championship", ["latte art"]) == "latte art"
    assert has_keyword("A party tonight", ["art"]) is None
    assert has_keyword("Кофе дня", ["кофе"]) == "кофе"
    assert word_overlap("New espresso machine", "new Espresso machine!") == 1.0


@dataclass
class Card:
    chat_id: int
    message_id: int
    thread_id: int | None = None


class CardDesk(FakeDesk):
    def __init__(self) -> None:
        super().__init__()
        self.edits: list[tuple[list[Any], str, Any]] = []

    async def post(self, text: str, *, keyboard: Any = None, **kwargs: Any) -> list[Any]:
        self.posts.append((text, keyboard))
        return [Card(-100999, len(self.posts))]

    async def edit(self, copies: list[Any], text: str, *, keyboard: Any = None) -> None:
        self.edits.append((copies, text, keyboard))


class StaticFetcher:
    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self, url: str, *, etag: str | None, last_modified: str | None) -> FetchResult:
        self.calls += 1
        return FetchResult(200, RSS, '"e1"', None)


@pytest.fixture
async def feeds(tmp_path: Path) -> AsyncIterator[tuple[FeedService, FakeClock, FakeDesk]]:
    db = Database(tmp_path / "f.db")
    await db.open()
    communities = CommunityRepository(db)
    await add_supergroup(communities, CHAT, "Club", timezone="Europe/Berlin")
    await communities.update_settings(CHAT, {"scheduler.feed_slots": ["09:00", "18:00"]})
    clock = FakeClock(datetime(2026, 3, 20, 10, 0, tzinfo=UTC))  # 11:00 in Berlin
    desk = CardDesk()
    posts = PostService(PostRepository(db), communities, FakeSender(), desk, None, buttons=BUTTONS, clock=clock)
    service = FeedService(
        FeedRepository(db),
        communities,
        posts,
        desk,
        SchedulerSettings(),
        buttons=BUTTONS,
        fetcher=StaticFetcher(),
        clock=clock,
    )
    yield service, clock, desk
    await db.close()


async def test_approved_items_take_the_next_free_slot(feeds: tuple[FeedService, FakeClock, Any]) -> None:
    service, _clock, desk = feeds
    community = await service.communities.get(CHAT)
    assert await service.next_slot(community, CHAT) == "2026-03-20 18:00"
    _feed, counts = await service.add_feed(CHAT, "https://e.org/rss", thread_id=None, added_by=1)
    assert counts == {"draft": 1}
    item = (await service.repo.items(CHAT))[0]
    assert "Draft #" in desk.posts[-1][0]
    assert await service.approve(item.id, by=1) == "Scheduled as post #1 for 2026-03-20 18:00."
    assert await service.approve(item.id, by=2) == "Already decided."  # a second press does nothing
    copies, text, keyboard = desk.edits[-1]
    assert copies[0].chat_id == -100999 and "Approved by" in text and keyboard is None
    assert await service.next_slot(community, CHAT) == "2026-03-21 09:00"
    post = await service.posts.repo.get(1)
    assert post is not None and post.source == "feed" and "<b>One &amp; only</b>" in post.text


async def test_second_poll_of_the_same_items_adds_nothing(feeds: tuple[FeedService, FakeClock, Any]) -> None:
    service, _clock, desk = feeds
    feed, _ = await service.add_feed(CHAT, "https://e.org/rss", thread_id=None, added_by=1)
    assert await service.poll(feed) == {}
    assert len(await service.repo.items(CHAT)) == 1
    assert len(desk.posts) == 1


async def test_auto_post_skips_the_draft(feeds: tuple[FeedService, FakeClock, Any]) -> None:
    service, _clock, desk = feeds
    await service.communities.update_settings(CHAT, {"scheduler.feed_auto_post": True, "scheduler.feed_slots": []})
    _feed, counts = await service.add_feed(CHAT, "https://e.org/rss", thread_id=7, added_by=1)
    assert counts == {"posted": 1}
    item = (await service.repo.items(CHAT))[0]
    assert item.status == "approved" and item.post_id is not None
    post = await service.posts.repo.get(item.post_id)
    assert post is not None and post.thread_id == 7 and post.due_at == service.now()
    assert not any("Draft #" in text for text, _ in desk.posts)


async def test_relevance_uses_faq_questions_through_embeddings(feeds: tuple[FeedService, FakeClock, Any]) -> None:
    from tests.integration.test_feeds import FakeEncoder

    service, _clock, _desk = feeds
    service.embed = FakeEncoder()

    async def faq(chat_id: int) -> list[str]:
        return ["how do I descale my espresso machine"]

    service.topic_texts = faq
    community = await service.communities.get(CHAT)
    close, why = await service.relevance(community, "How to descale an espresso machine")
    far, _ = await service.relevance(community, "Football results tonight")
    assert close > 0.5 > far == 0.0  # the fake encoder: shared words only
    assert "descale" in why
