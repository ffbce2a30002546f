"""Time helpers: everything is timezone-aware, storage uses unix seconds (UTC)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def epoch_now() -> int:
    return int(time.time())


def to_epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Steward uses timezone-aware datetimes only")
    return int(moment.timestamp())


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
