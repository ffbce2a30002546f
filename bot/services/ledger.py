"""The last handled update id, so a restart never handles an update twice.

Updates are handled concurrently, so "handled" is a watermark: every id at or below it has
finished. It is flushed to the database every second and at shutdown, not once per update.
Updates that were in flight at a crash come again from Telegram; group messages are then
recognised by their row (see MessageRepository.record), so no member is answered twice.
"""

from __future__ import annotations

from bot.storage.members import StateRepository

KEY = "last_update_id"


class UpdateLedger:
    def __init__(self, state: StateRepository) -> None:
        self.state = state
        self.floor = 0  # persisted at start: ids at or below were handled by an earlier run
        self._persisted = 0
        self._in_flight: set[int] = set()
        self._max_done = 0
        self.skipped = 0

    async def load(self) -> None:
        value = await self.state.get(KEY)
        self.floor = self._persisted = self._max_done = int(value) if value else 0

    def begin(self, update_id: int) -> bool:
        """False when this update was already handled (a redelivery after a restart)."""
        if update_id <= self.floor:
            self.skipped += 1
            return False
        self._in_flight.add(update_id)
        return True

    def done(self, update_id: int) -> None:
        self._in_flight.discard(update_id)
        self._max_done = max(self._max_done, update_id)

    @property
    def watermark(self) -> int:
        if self._in_flight:
            return min(self._max_done, min(self._in_flight) - 1)
        return self._max_done

    async def flush(self) -> None:
        mark = self.watermark
        if mark > self._persisted:
            await self.state.set(KEY, str(mark))
            self._persisted = mark
