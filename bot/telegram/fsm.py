"""aiogram FSM records in the database, so an admin's unfinished dialog survives a restart.

A :class:`aiogram.fsm.storage.base.BaseStorage`, so another storage (aiogram's RedisStorage, say) can take
its place through the config (``dialogs.storage``) without touching a handler. Records are keyed by
aiogram's DefaultKeyBuilder with the bot id: bot, chat and user (the dispatcher's strategy is
USER_IN_CHAT), so the anonymous admins of two groups (both "GroupAnonymousBot") never share a dialog.

Every group message asks for its sender's state, so the records are kept in memory as well (there are
few: one per admin in the middle of a dialog) and written through to the table (bot/storage/fsm.py) on
every change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey

from bot.storage.db import Database
from bot.storage.fsm import DialogRecord, DialogRepository


class DatabaseStorage(BaseStorage):
    def __init__(self, db: Database) -> None:
        self.repo = DialogRepository(db)
        self.keys = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self._records: dict[str, DialogRecord] = {}
        self._loaded = False

    async def load(self) -> int:
        """Read every record (after the database is open); returns how many dialogs are open."""
        self._records = await self.repo.load_all()
        self._loaded = True
        return sum(1 for state, _ in self._records.values() if state is not None)

    async def _record(self, key: StorageKey) -> DialogRecord:
        if not self._loaded:
            await self.load()
        return self._records.get(self.keys.build(key), (None, {}))

    async def _write(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        built = self.keys.build(key)
        if state is None and not data:
            self._records.pop(built, None)
            await self.repo.delete(built)
            return
        self._records[built] = (state, await self.repo.save(built, state, data))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = state.state if isinstance(state, State) else state
        if not self._loaded:
            await self.load()
        _, data = await self._record(key)
        await self._write(key, name, dict(data))

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._record(key)
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        state, _ = await self._record(key)
        await self._write(key, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._record(key)
        copied: dict[str, Any] = json.loads(json.dumps(data))  # a copy the caller may change
        return copied

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""
