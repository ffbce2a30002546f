"""The last handled update id, so a restart never handles an update twice.

Updates are handled concurrently, so "handled" is a watermark: every id at or below it has
finished. It is flushed to the database every second and at shutdown, not once per update.
Updates that were in flight at a crash come again from Telegram; group messages are then
recognised by their row (see MessageRepository.record), so no member is answered twice. Telegram only
forgets a batch once a later getUpdates confirms it, and that waits until the batch is stored
(``mark_stored`` here, ``ConfirmWhenStored`` in bot/telegram/confirm.py), so a crash never loses a message.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token

from bot.storage.members import StateRepository

KEY = "last_update_id"

# Set by the dispatcher (bot/telegram/confirm.py InFlight) for the update being handled. Telegram forgets an update
# once a later getUpdates passes its offset, so the next getUpdates waits until the updates of the
# previous batch are stored; the services say so here, as soon as a message has its row.
_stored: ContextVar[Callable[[], None] | None] = ContextVar("update_stored", default=None)


def mark_stored() -> None:
    """The update being handled is safely stored: a crash from now on does not lose it."""
    callback = _stored.get()
    if callback is not None:
        callback()


def on_stored(callback: Callable[[], None] | None) -> Token[Callable[[], None] | None]:
    """Set the callback of the current update (the token undoes it: ``_stored.reset``)."""
    return _stored.set(callback)


def reset_stored(token: Token[Callable[[], None] | None]) -> None:
    _stored.reset(token)


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
