"""Raid mode: which communities are in it, until when.

The join gate starts a raid (bot.services.gate); moderation posts no group notices meanwhile
(bot.services.moderation). Both receive the same :class:`RaidMode` through their constructors, and
both pass their own clock, so a test that moves moderation's clock moves raid mode with it.
"""

from __future__ import annotations


class RaidMode:
    def __init__(self) -> None:
        self._ends: dict[int, int] = {}  # chat → raid end (epoch)

    def start(self, chat_id: int, end: int) -> None:
        self._ends[chat_id] = end

    def end(self, chat_id: int, default: int) -> int:
        return self._ends.get(chat_id, default)

    def active(self, chat_id: int, now: int) -> bool:
        end = self._ends.get(chat_id)
        return end is not None and end > now
