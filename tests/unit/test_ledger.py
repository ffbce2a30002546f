from __future__ import annotations

from pathlib import Path

from bot.services.ledger import UpdateLedger
from bot.storage.db import Database
from bot.storage.members import StateRepository


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
