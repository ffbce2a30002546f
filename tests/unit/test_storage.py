from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pytest

from bot.domain import Author, ChatInfo, IncomingMessage, MessageContext, Sentiment, SentimentLabel
from bot.services.community import CommunityService, MessageListener
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database, load_migrations
from bot.storage.members import MemberRepository, StateRepository
from bot.storage.messages import MessageRepository
from tests.builders import add_supergroup

GROUP = ChatInfo(-1001234567890123, "Fans", "supergroup")
FORUM = ChatInfo(-1009876543210, "Forum", "supergroup", is_forum=True)
ALICE = Author(11, "Alice")
BOB = Author(12, "Bob")


class StaticSentiment:
    async def classify(self, text: str) -> Sentiment:
        return (
            Sentiment(SentimentLabel.NEGATIVE, 0.9, 0.9, 0.05, 0.05)
            if "bad" in text
            else Sentiment(SentimentLabel.NEUTRAL, 0.8, 0.1, 0.8, 0.1)
        )


def message(chat: ChatInfo, message_id: int, text: str, author: Author = ALICE, **extra: object) -> IncomingMessage:
    return IncomingMessage(
        chat_id=chat.chat_id,
        message_id=message_id,
        author=author,
        text=text,
        date=datetime(2026, 11, 1, 12, 0, message_id % 60, tzinfo=UTC),
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "steward.db")
    await database.open()
    yield database  # type: ignore[misc]
    await database.close()


def community_service(db: Database, *listeners: MessageListener) -> CommunityService:
    return CommunityService(
        CommunityRepository(db),
        MessageRepository(db),
        MemberRepository(db),
        StaticSentiment(),
        default_language="en",
        default_timezone="Europe/Berlin",
        listeners=listeners,
    )


@pytest.fixture
def service(db: Database) -> CommunityService:
    return community_service(db)


async def test_migrations_are_numbered_and_tracked(db: Database) -> None:
    numbers = [number for number, _, _ in load_migrations()]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert await db.schema_version() == numbers[-1]
    assert await db.migrate() == 0  # idempotent
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1


async def test_reopening_keeps_data_and_version(tmp_path: Path) -> None:
    first = Database(tmp_path / "a.db")
    await first.open()
    await StateRepository(first).set("last_update_id", "41")
    version = await first.schema_version()
    await first.close()
    second = Database(tmp_path / "a.db")
    await second.open()
    assert await second.schema_version() == version
    assert await StateRepository(second).get("last_update_id") == "41"
    await second.close()


async def test_first_message_registers_the_community_with_64bit_id(service: CommunityService) -> None:
    ctx = await service.on_message(GROUP, message(GROUP, 1, "hello"))
    assert ctx.community.chat_id == GROUP.chat_id
    assert ctx.community.timezone == "Europe/Berlin"
    stored = await service.communities.get(GROUP.chat_id)
    assert stored is not None and stored.title == "Fans"


async def test_reply_chain_shares_the_root_thread_key(service: CommunityService) -> None:
    root = await service.on_message(GROUP, message(GROUP, 10, "root"))
    reply = await service.on_message(GROUP, message(GROUP, 11, "reply", BOB, reply_to_message_id=10))
    deeper = await service.on_message(GROUP, message(GROUP, 12, "deeper", reply_to_message_id=11))
    other = await service.on_message(GROUP, message(GROUP, 13, "standalone"))
    assert root.thread_key == reply.thread_key == deeper.thread_key == "m:10"
    assert other.thread_key == "m:13"


async def test_reply_to_unseen_message_roots_at_that_message(service: CommunityService) -> None:
    ctx = await service.on_message(GROUP, message(GROUP, 20, "re", reply_to_message_id=5))
    assert ctx.thread_key == "m:5"


async def test_forum_topic_is_the_thread(service: CommunityService) -> None:
    ctx = await service.on_message(FORUM, message(FORUM, 30, "in topic", thread_id=7, is_topic_message=True))
    reply = await service.on_message(
        FORUM, message(FORUM, 31, "reply in topic", thread_id=7, is_topic_message=True, reply_to_message_id=30)
    )
    assert ctx.thread_key == reply.thread_key == "t:7"
    stored = await service.messages.get(FORUM.chat_id, 30)
    assert stored is not None and stored.thread_id == 7


async def test_sentiment_is_stored_with_the_message(service: CommunityService) -> None:
    await service.on_message(GROUP, message(GROUP, 40, "this is bad"))
    stored = await service.messages.get(GROUP.chat_id, 40)
    assert stored is not None
    assert stored.sentiment_label == "negative" and stored.sentiment_score == pytest.approx(0.9)


async def test_edit_updates_the_row_and_keeps_one_record(service: CommunityService) -> None:
    await service.on_message(GROUP, message(GROUP, 50, "first"))
    await service.on_message(GROUP, message(GROUP, 50, "now bad", is_edit=True))
    assert await service.messages.count(GROUP.chat_id) == 1
    stored = await service.messages.get(GROUP.chat_id, 50)
    assert stored is not None and stored.text == "now bad" and stored.sentiment_label == "negative"


async def test_one_write_per_message(service: CommunityService, db: Database) -> None:
    await service.on_message(GROUP, message(GROUP, 60, "warm up"))
    before = db.conn.total_changes
    await service.on_message(GROUP, message(GROUP, 61, "counted"))
    assert db.conn.total_changes - before == 1


async def test_listener_failure_does_not_lose_the_message(service: CommunityService) -> None:
    seen: list[int] = []

    class Broken:
        async def on_message(self, ctx: object) -> None:
            raise RuntimeError("boom")

    class Recorder:
        async def on_message(self, ctx: object) -> None:
            seen.append(ctx.msg.message_id)  # type: ignore[attr-defined]

    service = community_service(service.messages.db, Broken(), Recorder())
    await service.on_message(GROUP, message(GROUP, 70, "hi"))
    assert seen == [70]
    assert await service.messages.get(GROUP.chat_id, 70) is not None


async def test_migration_moves_history_and_settings(service: CommunityService) -> None:
    old = ChatInfo(-4242, "Old group", "group")
    await service.on_message(old, message(old, 1, "before"))
    await service.communities.update_settings(old.chat_id, {"faq_mode": "mention"})
    new = ChatInfo(-1004242, "Old group", "supergroup")
    community = await service.migrate(old.chat_id, new)
    assert community.settings == {"faq_mode": "mention"}
    assert await service.messages.count(new.chat_id) == 1
    # Every feature's rows follow the chat (members here; FAQ, cases and posts the same way).
    assert await service.messages.db.fetchval("SELECT COUNT(*) FROM members WHERE chat_id = ?", (new.chat_id,)) == 1
    assert await service.messages.db.fetchval("SELECT COUNT(*) FROM members WHERE chat_id = ?", (old.chat_id,)) == 0
    old_row = await service.communities.get(old.chat_id)
    assert old_row is not None and not old_row.is_active


async def test_redelivered_message_does_not_reach_listeners_twice(service: CommunityService) -> None:
    seen: list[int] = []

    class Recorder:
        async def on_message(self, ctx: object) -> None:
            seen.append(ctx.msg.message_id)  # type: ignore[attr-defined]

    service = community_service(service.messages.db, Recorder())
    await service.on_message(GROUP, message(GROUP, 80, "question?"))
    await service.on_message(GROUP, message(GROUP, 80, "question?"))  # Telegram resends after a crash
    assert seen == [80]
    assert await service.messages.count(GROUP.chat_id) == 1


async def test_communities_served_before_access_existed_stay_approved(tmp_path: Path) -> None:
    """Migration 0006: a deployment switching to [access] communities = "approved" keeps its groups."""
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for number, _name, sql in load_migrations():
            if number <= 5:
                conn.executescript(sql)
        conn.execute("PRAGMA user_version = 5")
        conn.execute(
            "INSERT INTO communities (chat_id, title, type, created_at, updated_at)"
            " VALUES (-100777, 'Old group', 'supergroup', 1, 1)"
        )
    db = Database(path)
    await db.open()
    try:
        repo = CommunityRepository(db)
        assert await repo.is_approved(-100777) is True
        await add_supergroup(repo, -100888, "New")
        assert await repo.is_approved(-100888) is False
        assert await repo.claim_access_notice(-100888) is True
        assert await repo.claim_access_notice(-100888) is False  # one line, never more
    finally:
        await db.close()


async def test_a_listener_that_removed_the_message_stops_the_later_ones(service: CommunityService) -> None:
    from bot.services.community import REMOVED

    seen: list[str] = []

    class Remover:
        async def on_message(self, ctx: MessageContext) -> Literal["removed"] | None:
            seen.append("spam")
            return REMOVED if "buy" in ctx.msg.text else None

    class Answerer:
        async def on_message(self, ctx: MessageContext) -> None:
            seen.append("faq")

    service = community_service(service.messages.db, Remover(), Answerer())
    await service.on_message(GROUP, message(GROUP, 1, "how do I reset my password?"))
    await service.on_message(GROUP, message(GROUP, 2, "buy cheap followers now"))
    assert seen == ["spam", "faq", "spam"]  # the deleted message reached nobody after the spam check
