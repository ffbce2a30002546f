"""GrowthService and StatsService with a recording outbox: batching, templates, failures, digest."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import GrowthSettings
from bot.domain import Author, ChatInfo, Priority
from bot.services.community import CommunityService
from bot.services.growth import GrowthService
from bot.services.stats import StatsService
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.growth import GrowthRepository
from bot.storage.members import MemberRepository, StateRepository
from bot.storage.messages import MessageRepository
from bot.timeutil import epoch_now
from tests.fakes import RecordingOutbox
from tests.waiting import wait_until

GROUP = ChatInfo(-1001000000900, "Tea & <Biscuits>", "supergroup")
OTHER = ChatInfo(-1001000000901, "Second group", "supergroup")
MANAGERS_CHAT = -1001000000999


@dataclass
class FakeDesk:
    chat_id: int | None = MANAGERS_CHAT

    async def destinations(self) -> list[int]:
        return [] if self.chat_id is None else [self.chat_id]


@dataclass
class Env:
    db: Database
    outbox: RecordingOutbox
    community_service: CommunityService
    clock: list[float]

    def growth(self, **overrides: Any) -> GrowthService:
        return GrowthService(
            GrowthRepository(self.db),
            MemberRepository(self.db),
            self.community_service,
            self.outbox,
            GrowthSettings(**overrides),
            monotonic=lambda: self.clock[0],
        )


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    db = Database(tmp_path / "g.db")
    await db.open()
    service = CommunityService(
        CommunityRepository(db),
        MessageRepository(db),
        MemberRepository(db),
        None,
        default_language="en",
        default_timezone="UTC",
    )
    try:
        yield Env(db, RecordingOutbox(), service, [1000.0])
    finally:
        await db.close()


def person(uid: int, name: str) -> Author:
    return Author(uid, name)


async def test_default_welcome_escapes_names_and_title(env: Env) -> None:
    growth = env.growth()
    assert await growth.on_join(GROUP, person(1, "<script>"), epoch_now(), source="service")
    text = env.outbox.sent[0]["text"]
    assert '<a href="tg://user?id=1">&lt;script&gt;</a>' in text
    assert "Tea &amp; &lt;Biscuits&gt;" in text
    assert env.outbox.sent[0]["priority"] == Priority.BULK


async def test_custom_template_fills_only_its_placeholders(env: Env) -> None:
    growth = env.growth(welcome_text="Hi {name} in {chat}! {unknown} {0} {name.__class__}")
    await growth.on_join(GROUP, person(1, "Ann"), epoch_now(), source="service")
    text = env.outbox.sent[0]["text"]
    assert text.startswith('Hi <a href="tg://user?id=1">Ann</a> in Tea &amp; &lt;Biscuits&gt;!')
    assert text.endswith("{unknown} {0} {name.__class__}")


async def test_bots_and_late_joins_are_not_welcomed(env: Env) -> None:
    growth = env.growth()
    assert not await growth.on_join(GROUP, Author(9, "Helper", is_bot=True), epoch_now(), source="service")
    assert await growth.on_join(GROUP, person(2, "Late"), epoch_now() - 3600, source="service")
    assert env.outbox.sent == []
    count = await env.db.fetchval("SELECT COUNT(*) FROM member_events WHERE kind = 'join'")
    assert count == 1  # the late join is still counted


async def test_spike_batches_and_close_flushes_the_open_batch(env: Env) -> None:
    growth = env.growth(raid_joins_per_minute=2, raid_batch_seconds=600, batch_names=2)
    now = epoch_now()
    for uid in range(1, 8):
        await growth.on_join(GROUP, person(uid, f"P{uid}"), now, source="chat_member")
    assert len(env.outbox.sent) == 2  # two single welcomes; the rest waits in a batch
    await growth.close()  # shutting down sends the batch instead of losing it
    assert len(env.outbox.sent) == 3
    batched = env.outbox.sent[-1]["text"]
    assert "P3" in batched and "P4" in batched and "and 3 others" in batched and "P5" not in batched
    rows = await env.db.fetchall("SELECT welcomed FROM member_events ORDER BY id")
    assert [r[0] for r in rows] == [1] * 7


async def test_spike_ends_after_a_quiet_minute(env: Env) -> None:
    growth = env.growth(raid_joins_per_minute=2, raid_batch_seconds=0.05)
    now = epoch_now()
    for uid in range(1, 5):
        await growth.on_join(GROUP, person(uid, f"P{uid}"), now, source="chat_member")
    await wait_until(lambda: len(env.outbox.sent) == 3, timeout=1.0, what="the batched welcome")
    assert len(env.outbox.sent) == 3 and "P3</a> and <a" in env.outbox.sent[-1]["text"]
    env.clock[0] += 61  # a minute later: single welcomes again
    await growth.on_join(GROUP, person(10, "Calm"), now, source="chat_member")
    assert len(env.outbox.sent) == 4 and "Calm" in env.outbox.sent[-1]["text"]


async def test_a_failed_welcome_is_logged_not_raised(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.outbox.failure = ("the bot lost the right to post", "forbidden")
    growth = env.growth()
    assert await growth.on_join(GROUP, person(1, "Ann"), epoch_now(), source="service")
    assert "welcome in" in caplog.text and "failed" in caplog.text
    assert await env.db.fetchval("SELECT welcomed FROM member_events") == 0


async def test_disabled_per_community(env: Env) -> None:
    growth = env.growth()
    await env.community_service.register(GROUP)
    await env.community_service.communities.update_settings(GROUP.chat_id, {"growth.welcome_enabled": False})
    env.community_service.invalidate(GROUP.chat_id)
    await growth.on_join(GROUP, person(1, "Ann"), epoch_now(), source="service")
    assert env.outbox.sent == []


async def test_weekly_digest_once_per_week_to_the_managers(env: Env) -> None:
    for chat in (GROUP, OTHER, ChatInfo(MANAGERS_CHAT, "Managers", "supergroup")):
        await env.community_service.register(chat)
    now = epoch_now()
    await env.db.execute(
        "INSERT INTO messages (chat_id, message_id, thread_key, user_id, text, date, sentiment_label)"
        " VALUES (?, 1, 'm:1', 5, 'great', ?, 'positive')",
        (GROUP.chat_id, now - 3600),
    )
    stats = StatsService(
        env.db,
        env.community_service.communities,
        env.outbox,
        FakeDesk(),
        StateRepository(env.db),
        now=lambda: now,
    )
    assert await stats.send_digest() == 2  # both communities, not the managers' own chat
    texts = [m["text"] for m in env.outbox.sent]
    assert all(m["chat_id"] == MANAGERS_CHAT for m in env.outbox.sent)
    assert len(texts) == 2 and all("Weekly digest" in t for t in texts)
    assert any("Messages: <b>1</b>" in t for t in texts)
    assert env.outbox.photos and all(data[:8] == b"\x89PNG\r\n\x1a\n" for _, data in env.outbox.photos)
    assert await stats.send_digest() == 0  # the same week: not again
    assert len(env.outbox.sent) == 2


async def test_digest_without_a_destination_is_logged(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    await env.community_service.register(GROUP)
    stats = StatsService(env.db, env.community_service.communities, env.outbox, FakeDesk(None), StateRepository(env.db))
    assert await stats.send_digest() == 0
    assert "no managers' destination" in caplog.text


def test_names_list_reads_naturally() -> None:
    from bot.i18n import Translator
    from bot.services.growth import Joiner, names_list

    def names(n: int) -> str:
        joiners = [Joiner(i, f"N{i}", i) for i in range(1, n + 1)]
        text = names_list(joiners, Translator("en"), shown=3)
        return re.sub(r"<[^>]+>", "", text)

    assert names(1) == "N1"
    assert names(2) == "N1 and N2"
    assert names(4) == "N1, N2, N3 and N4"  # never "and 1 other"
    assert names(5) == "N1, N2, N3 and 2 others"
    assert names(17) == "N1, N2, N3 and 14 others"
