"""Repository queries that replaced SQL written outside bot/storage (the demo, the CLIs, the FAQ import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from bot.storage.cases import CaseRepository
from bot.storage.db import Database
from bot.storage.faq import FaqRepository

CHAT = -1001234567890
T0 = 1_800_000_000


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "steward.db")
    await database.open()
    assert await database.schema_version() > 0
    yield database
    assert await database.integrity_check() == "ok"
    await database.close()


# What every case of these tests shares: how it was judged, and its one message.
JUDGED = {"topic_id": None, "shadow": False, "reasons": ["pile_on"], "detail": "x", "keyword": None, "severity": 0.5}
COUNTS = {"negative_members": 2, "first_message_id": 1, "last_message_id": 1, "message_count": 1}
QUESTION = {"thread_id": None, "user_id": 3, "language": "en", "best_entry_id": None, "best_score": None}


async def _open(cases: CaseRepository, chat_id: int, thread: str, at: int) -> int:
    case, created = await cases.open(chat_id=chat_id, thread_key=thread, at=at, **JUDGED, **COUNTS)
    assert created
    return case.id


async def test_latest_and_opened_since(db: Database) -> None:
    cases = CaseRepository(db)
    assert await cases.latest(CHAT) is None
    old = await _open(cases, CHAT, "m:1", T0)
    mid = await _open(cases, CHAT, "m:2", T0 + 100)
    other = await _open(cases, CHAT - 1, "m:3", T0 + 200)
    new = await _open(cases, CHAT, "m:4", T0 + 300)
    latest = await cases.latest(CHAT)
    assert latest is not None and latest.id == new
    await cases.close(mid, "resolved", 5, "Mia", T0 + 400)
    assert [c.id for c in await cases.opened_since(T0 + 50, include_closed=True)] == [new, other, mid]
    assert [c.id for c in await cases.opened_since(T0 + 50, include_closed=False)] == [new, other]
    assert [c.id for c in await cases.opened_since(T0, include_closed=False)] == [new, other, old]


async def test_entry_id_and_is_unanswered(db: Database) -> None:
    faq = FaqRepository(db)
    assert await faq.entry_id(CHAT, "hours") is None
    entry = await faq.save(
        chat_id=CHAT,
        key="hours",
        questions=["When are you open?"],
        vectors=np.ones((1, 4), dtype=np.float32),
        encoder="e",
        answer="9 to 5",
    )
    assert await faq.entry_id(CHAT, "hours") == entry
    assert await faq.entry_id(CHAT + 1, "hours") is None
    assert not await faq.is_unanswered(CHAT, 77)
    await faq.record_unanswered(
        chat_id=CHAT, message_id=77, text="Is there parking?", encoder=None, vector=None, at=T0, **QUESTION
    )
    assert await faq.is_unanswered(CHAT, 77)
    assert not await faq.is_unanswered(CHAT, 78)
