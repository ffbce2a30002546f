from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import GetUpdates
from aiogram.types import Update

from bot.app import ConfirmWhenStored, InFlight
from bot.services.ledger import UpdateLedger, mark_stored
from bot.storage.db import Database
from bot.storage.members import StateRepository
from tests.waiting import stays_pending


async def test_watermark_waits_for_the_oldest_update_in_flight(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    await db.open()
    ledger = UpdateLedger(StateRepository(db))
    await ledger.load()
    assert ledger.begin(10) and ledger.begin(11) and ledger.begin(12)
    ledger.done(12)
    ledger.done(11)
    assert ledger.watermark == 9  # 10 still running: 11 and 12 are not safe to skip yet
    ledger.done(10)
    assert ledger.watermark == 12
    await ledger.flush()
    await db.close()

    reopened = Database(tmp_path / "s.db")
    await reopened.open()
    again = UpdateLedger(StateRepository(reopened))
    await again.load()
    assert not again.begin(12) and not again.begin(5)
    assert again.begin(13)
    assert again.skipped == 2
    await reopened.close()


# --- getUpdates confirms a batch to Telegram only once it is stored (bot/telegram/confirm.py ConfirmWhenStored) ------


class FetchLog:
    """Stands in for the session: returns the queued batches and records each getUpdates."""

    def __init__(self, *batches: list[int]) -> None:
        self.batches = list(batches)
        self.calls: list[GetUpdates] = []

    async def __call__(self, bot: Any, method: GetUpdates) -> list[Update]:
        self.calls.append(method)
        return [Update(update_id=i) for i in (self.batches.pop(0) if self.batches else [])]


async def test_the_next_get_updates_waits_until_the_last_batch_is_stored(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    await db.open()
    in_flight = InFlight(UpdateLedger(StateRepository(db)))
    confirm, fetch = ConfirmWhenStored(in_flight, timeout=10.0), FetchLog([1, 2])
    await confirm(fetch, None, GetUpdates())  # type: ignore[arg-type]
    following = asyncio.create_task(confirm(fetch, None, GetUpdates(offset=3)))  # type: ignore[arg-type]

    stored = asyncio.Event()

    async def stores_then_works(event: Any, data: dict[str, Any]) -> str:
        mark_stored()  # what CommunityService.on_message says once the row is written
        stored.set()
        await asyncio.sleep(0.5)  # the rest of the handling (FAQ, cases) goes on meanwhile
        return "ok"

    async def other_update(event: Any, data: dict[str, Any]) -> str:
        return "ok"

    first = asyncio.create_task(in_flight(stores_then_works, Update(update_id=1), {}))
    await stored.wait()
    await stays_pending(following, window=0.01, what="the next getUpdates")
    assert len(fetch.calls) == 1, "update 2 is not stored yet: its offset must not be confirmed"
    await in_flight(other_update, Update(update_id=2), {})  # not a message: done is stored
    await following
    assert len(fetch.calls) == 2 and fetch.calls[1].offset == 3
    assert not first.done(), "the next batch came while update 1 was still being handled"
    assert await first == "ok"
    await db.close()


async def test_an_update_that_is_never_stored_holds_the_next_batch_only_until_the_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(tmp_path / "s.db")
    await db.open()
    in_flight = InFlight(UpdateLedger(StateRepository(db)))
    confirm, fetch = ConfirmWhenStored(in_flight, timeout=0.05), FetchLog([7])
    await confirm(fetch, None, GetUpdates())  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await confirm(fetch, None, GetUpdates(offset=8))  # type: ignore[arg-type]
    assert len(fetch.calls) == 2
    assert "still not stored" in caplog.text
    await db.close()
