"""Deterministic stand-ins for the ML models, so feature tests do not load real weights.

They are the demo's stand-ins (bot/demo/stand_ins.py), plus a record of what was classified.
"""

from __future__ import annotations

from bot.demo.stand_ins import HashingEncoder, KeywordClassifier, KeywordVerdict

FakeVerdict = KeywordVerdict

__all__ = ["FakeClassifier", "FakeVerdict", "HashingEncoder"]


class FakeClassifier(KeywordClassifier):
    """Keyword rules: 'worst'/'scam' are very negative, 'terrible' is negative, 'great' positive."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, texts: list[str]) -> list[KeywordVerdict]:
        self.calls.append(list(texts))
        return super().predict(texts)
