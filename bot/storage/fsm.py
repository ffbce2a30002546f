"""The records of admins' unfinished dialogs (the ``dialogs`` table): plain SQL, no aiogram.

The aiogram storage that keeps them (bot/telegram/fsm.py) names each record by a string key and
stores its state name and its data as JSON.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.storage.db import Database
from bot.timeutil import epoch_now

log = logging.getLogger(__name__)

# Records nobody touched for this long are deleted at start (an expired dialog's notice has long gone).
FORGET_AFTER_S = 7 * 86400

DialogRecord = tuple[str | None, dict[str, Any]]


class DialogRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def load_all(self) -> dict[str, DialogRecord]:
        """Every record younger than ``FORGET_AFTER_S`` (older ones are deleted first)."""
        await self.db.execute("DELETE FROM dialogs WHERE updated_at < ?", (epoch_now() - FORGET_AFTER_S,))
        rows = await self.db.fetchall("SELECT key, state, data FROM dialogs")
        return {str(r["key"]): (r["state"], _decode(r["data"])) for r in rows}

    async def delete(self, key: str) -> None:
        await self.db.execute("DELETE FROM dialogs WHERE key = ?", (key,))

    async def save(self, key: str, state: str | None, data: dict[str, Any]) -> dict[str, Any]:
        """Write one record; returns the data as stored (through JSON, as a later load reads it)."""
        encoded = json.dumps(data, ensure_ascii=False, default=str)
        await self.db.execute(
            "INSERT INTO dialogs (key, state, data, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data,"
            " updated_at = excluded.updated_at",
            (key, state, encoded, epoch_now()),
        )
        stored: dict[str, Any] = json.loads(encoded)
        return stored


def _decode(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        log.warning("an unreadable dialog record was reset")
        return {}
    return value if isinstance(value, dict) else {}
