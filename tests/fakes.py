"""Deterministic stand-ins for the ML models, so feature tests do not load real weights.

They are the demo's stand-ins (bot/demo/stand_ins.py), plus a record of what was classified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from bot.demo.stand_ins import HashingEncoder, KeywordClassifier, KeywordVerdict
from bot.domain import Delivery, Priority

FakeVerdict = KeywordVerdict

__all__ = [
    "ClassEmbedder",
    "FakeClassifier",
    "FakeVerdict",
    "HashingEncoder",
    "ManualClock",
    "RecordingOutbox",
    "loader_of",
]


class FakeClassifier(KeywordClassifier):
    """Keyword rules: 'worst'/'scam' are very negative, 'terrible' is negative, 'great' positive."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, texts: list[str]) -> list[KeywordVerdict]:
        self.calls.append(list(texts))
        return super().predict(texts)


N = TypeVar("N", int, float)


class ManualClock(Generic[N]):
    """A clock the test moves by hand: calling it returns ``now``."""

    def __init__(self, now: N) -> None:
        self.now = now

    def __call__(self) -> N:
        return self.now


def loader_of(encoder: HashingEncoder) -> Callable[[], tuple[HashingEncoder, str]]:
    """An encoder loader (what the FAQ service and the CLIs take) that hands out ``encoder``."""
    return lambda: (encoder, f"HashingEncoder:{encoder.dim}")


class ClassEmbedder:
    """An escalation embedder stand-in: each prototype sentence points at its own class, and a test
    says which class each member message is "about" (``about[text]``, default ordinary chat).

    Vectors are one-hot per class (a touch of every other class so cosines are not all zero), so the
    thread judgment's margins are large and deterministic. ``calls`` records what was embedded.
    """

    def __init__(self, about: dict[str, str] | None = None) -> None:
        from bot.services.escalation_signals import CLASSES, prototype_texts

        self.classes = list(CLASSES)
        self.prototypes = dict((text, name) for name, text in prototype_texts())
        self.about = dict(about or {})
        self.calls: list[list[str]] = []

    def vector(self, name: str) -> Any:
        import numpy as np

        v = np.full(len(self.classes), 0.05, dtype=np.float32)
        v[self.classes.index(name)] = 1.0
        return v / np.linalg.norm(v)

    async def __call__(self, texts: list[str], cheap: bool = False) -> Any:
        import numpy as np

        self.calls.append(list(texts))
        return np.stack([self.vector(self.prototypes.get(t) or self.about.get(t, "chat")) for t in texts])


@dataclass
class RecordingOutbox:
    """The outbox's interface, recording instead of sending. With ``failure`` set to (error, error kind),
    every send fails the way Telegram would have refused it."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[tuple[int, int]] = field(default_factory=list)
    photos: list[tuple[int, bytes]] = field(default_factory=list)
    failure: tuple[str, str] | None = None
    next_id: int = 1000

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Delivery:
        if self.failure is not None:
            return Delivery(False, chat_id, error=self.failure[0], error_kind=self.failure[1])
        self.next_id += 1
        self.sent.append({"chat_id": chat_id, "text": text, "message_id": self.next_id, **kwargs})
        return Delivery(True, chat_id, [self.next_id])

    async def edit_text(self, chat_id: int, message_id: int, text: str, **kwargs: Any) -> Delivery:
        self.edits.append({"chat_id": chat_id, "message_id": message_id, "text": text, **kwargs})
        return Delivery(True, chat_id, [message_id])

    async def delete(self, chat_id: int, message_id: int, *, priority: Priority = Priority.NORMAL) -> Delivery:
        self.deleted.append((chat_id, message_id))
        return Delivery(True, chat_id, [message_id])

    async def send_photo(self, chat_id: int, photo: str | Path, **kwargs: Any) -> Delivery:
        self.photos.append((chat_id, Path(photo).read_bytes()))
        self.next_id += 1
        return Delivery(True, chat_id, [self.next_id])
