"""Deterministic stand-ins for the ML models, so feature tests do not load real weights.

They are the demo's stand-ins (bot/demo/stand_ins.py), plus a record of what was classified.
"""

from __future__ import annotations

from typing import Any

from bot.demo.stand_ins import HashingEncoder, KeywordClassifier, KeywordVerdict

FakeVerdict = KeywordVerdict

__all__ = ["ClassEmbedder", "FakeClassifier", "FakeVerdict", "HashingEncoder"]


class FakeClassifier(KeywordClassifier):
    """Keyword rules: 'worst'/'scam' are very negative, 'terrible' is negative, 'great' positive."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, texts: list[str]) -> list[KeywordVerdict]:
        self.calls.append(list(texts))
        return super().predict(texts)


class ClassEmbedder:
    """An escalation embedder stand-in: each prototype sentence points at its own class, and a test
    says which class each member message is "about" (``about[text]``, default ordinary chat).

    Vectors are one-hot per class (a touch of every other class so cosines are not all zero), so the
    thread judgment's margins are large and deterministic. ``calls`` records what was embedded.
    """

    def __init__(self, about: dict[str, str] | None = None) -> None:
        from bot.services.escalation.signals import CLASSES, prototype_texts

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
