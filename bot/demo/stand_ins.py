"""Tiny deterministic models for ``steward demo --fast`` (and when the bundled model cannot load).

They are not the real models and the transcript says so. The test suite uses them too (tests/fakes.py);
they live in the package because the demo must run on an install without tests.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_VERY_NEGATIVE = re.compile(r"\b(scam|worst|furious|hate|обман|ненавижу|שונא)\b", re.IGNORECASE)
_NEGATIVE = re.compile(
    r"\b(terrible|awful|broken|angry|useless|disappointed|refund|bad|annoying|"
    r"ужасно|ужас|отвратительно|плохо|גרוע|נורא)\b",
    re.IGNORECASE,
)
_POSITIVE = re.compile(
    r"\b(great|love|thanks|thank you|awesome|excellent|good|welcome|спасибо|отлично|класс|תודה|מעולה)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class KeywordVerdict:
    label: str
    score: float
    negative: float
    neutral: float
    positive: float


class KeywordClassifier:
    """Sentiment from a few keywords: "worst"/"scam" very negative, "terrible" negative, "great" positive."""

    name = "keyword stand-in"

    def predict(self, texts: list[str]) -> list[KeywordVerdict]:
        return [self._one(text) for text in texts]

    @staticmethod
    def _one(text: str) -> KeywordVerdict:
        if _VERY_NEGATIVE.search(text):
            return KeywordVerdict("negative", 0.95, 0.95, 0.04, 0.01)
        if _NEGATIVE.search(text):
            return KeywordVerdict("negative", 0.75, 0.75, 0.2, 0.05)
        if _POSITIVE.search(text):
            return KeywordVerdict("positive", 0.85, 0.05, 0.1, 0.85)
        return KeywordVerdict("neutral", 0.8, 0.1, 0.8, 0.1)


class HashingEncoder:
    """Hashed character 3-grams, L2-normalised: paraphrases sharing words score high; no weights."""

    def __init__(self, dim: int = 512) -> None:
        self.dim = dim
        self.calls = 0

    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[^\W_]+", text.lower()):
                padded = f" {word} "
                for i in range(len(padded) - 2):
                    out[row, zlib.crc32(padded[i : i + 3].encode()) % self.dim] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out

    def encode_passages(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self.encode_queries(texts)
