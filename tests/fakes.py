"""Deterministic stand-ins for the ML models, so feature tests do not load real weights."""

from __future__ import annotations

import re
from dataclasses import dataclass

NEGATIVE_WORDS = re.compile(
    r"\b(terrible|awful|scam|hate|worst|broken|angry|furious|useless|disappointed|refund|bad|"
    r"ужасно|ужас|отвратительно|обман|плохо|ненавижу|גרוע|נורא|שונא)\b",
    re.IGNORECASE,
)
VERY_NEGATIVE_WORDS = re.compile(r"\b(scam|worst|furious|hate|обман|ненавижу|שונא)\b", re.IGNORECASE)
POSITIVE_WORDS = re.compile(
    r"\b(great|love|thanks|thank you|awesome|excellent|good|спасибо|отлично|класс|תודה|מעולה)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class FakeVerdict:
    label: str
    score: float
    negative: float
    neutral: float
    positive: float


class FakeClassifier:
    """Keyword rules: 'worst'/'scam' are very negative, 'terrible' is negative, 'great' positive."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, texts: list[str]) -> list[FakeVerdict]:
        self.calls.append(list(texts))
        return [self._one(text) for text in texts]

    @staticmethod
    def _one(text: str) -> FakeVerdict:
        if VERY_NEGATIVE_WORDS.search(text):
            return FakeVerdict("negative", 0.95, 0.95, 0.04, 0.01)
        if NEGATIVE_WORDS.search(text):
            return FakeVerdict("negative", 0.75, 0.75, 0.2, 0.05)
        if POSITIVE_WORDS.search(text):
            return FakeVerdict("positive", 0.85, 0.05, 0.1, 0.85)
        return FakeVerdict("neutral", 0.8, 0.1, 0.8, 0.1)
