"""Deterministic stand-ins for the ML models, so feature tests do not load real weights."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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


class HashingEncoder:
    """A deterministic stand-in for models.encoder: hashed character 3-grams, L2-normalised.

    Paraphrases that share words score high, unrelated texts low; no weights are loaded.
    """

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim
        self.calls = 0

    def _one(self, text: str) -> list[float]:
        import zlib

        vec = [0.0] * self.dim
        words = re.findall(r"[^\W_]+", text.lower())
        for word in words:
            padded = f" {word} "
            for i in range(len(padded) - 2):
                vec[zlib.crc32(padded[i : i + 3].encode()) % self.dim] += 1.0
        norm = sum(v * v for v in vec) ** 0.5 or 1.0
        return [v / norm for v in vec]

    def encode_queries(self, texts: list[str]) -> Any:
        import numpy as np

        self.calls += 1
        return np.array([self._one(t) for t in texts], dtype=np.float32).reshape(len(texts), self.dim)

    def encode_passages(self, texts: list[str]) -> Any:
        return self.encode_queries(texts)
