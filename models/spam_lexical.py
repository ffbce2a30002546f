"""A small offline spam classifier: hashed character n-grams and words, logistic regression in numpy.

``SpamModel.load(path)`` reads the shipped ``models/weights/spam-lexical.npz`` (a few hundred KB: the
non-zero weights as float16, the bias and the threshold chosen on the development split); ``score(text)``
is the probability of spam; ``learn(text, label)`` nudges the weights with a few gradient steps (the
managers' Spam / Not spam). ``train(texts, labels)`` fits a model from scratch in about a second.

No regex: the text is folded with str methods and features come from plain slicing. The hash is crc32, so
feature ids are the same in every process (Python's own ``hash`` is salted per process).
"""

from __future__ import annotations

import math
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models._adam import Adam, balanced_weights

DIM_BITS = 18
DIM = 1 << DIM_BITS
NGRAMS = (1, 2, 3, 4, 5)
DEFAULT_PATH = Path(__file__).parent / "weights" / "spam-lexical.npz"

_INVITE_MARKS = ("t.me/+", "t.me/joinchat", "telegram.me/joinchat", "telegram.me/+")
_URL_MARKS = ("http://", "https://", "www.", "t.me/", ".com", ".ru", ".io", ".net", ".org", ".xyz", ".shop")
_PUNCT = ".,!?:;()[]«»\"'"
_MONEY_MARKS = ("$", "€", "₽", "₪", "usdt", "btc", "руб", 'ש"ח', "₿")


def normalize(text: str) -> str:
    """NFKC, lower case, digits folded to 0, whitespace collapsed (linear, no regex)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    out = ["0" if ch.isdigit() else ch for ch in folded]
    return " ".join("".join(out).split())


def meta_tokens(text: str) -> list[str]:
    """Signals that n-grams see poorly: links, invites, mentions, phone numbers, money, emoji, length."""
    low = text.lower()
    tokens: list[str] = []
    if any(mark in low for mark in _INVITE_MARKS):
        tokens.append("__invite")
    if any(mark in low for mark in _URL_MARKS):
        tokens.append("__url")
    if "@" in low:
        tokens.append("__mention")
    digits = sum(ch.isdigit() for ch in low)
    if digits >= 9:
        tokens.append("__many_digits")
    if any(mark in low for mark in _MONEY_MARKS):
        tokens.append("__money")
    emoji = sum(1 for ch in text if unicodedata.category(ch) == "So")
    tokens.append(f"__emoji{min(emoji, 4)}")
    tokens.append(f"__len{min(len(text) // 100, 6)}")
    return tokens


def features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Sparse feature vector: (indices, values), sublinear counts, L2-normalised."""
    norm = normalize(text[:4000])
    counts: dict[int, int] = {}

    def add(token: str) -> None:
        key = zlib.crc32(token.encode("utf-8")) & (DIM - 1)
        counts[key] = counts.get(key, 0) + 1

    padded = f" {norm} "
    for n in NGRAMS:
        for i in range(len(padded) - n + 1):
            add(f"c{n}:{padded[i : i + n]}")
    for word in norm.split():
        add("w:" + word.strip(_PUNCT))
    for token in meta_tokens(text):
        add(token)
        add(token)  # meta signals count a little more than one n-gram
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    val = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts))
    val /= float(np.linalg.norm(val)) or 1.0
    return idx, val


def _sigmoid(z: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class SpamModel:
    weights: np.ndarray  # float32, DIM
    bias: float
    threshold: float  # chosen on the development split (see benchmarks/spam.py)
    note: str = ""

    def score(self, text: str) -> float:
        idx, val = features(text)
        return float(_sigmoid(float(self.weights[idx] @ val) + self.bias))

    def scores(self, texts: Iterable[str]) -> list[float]:
        return [self.score(text) for text in texts]

    def learn(self, text: str, label: str, *, rate: float = 1.0, steps: int = 3) -> float:
        """A few gradient steps on one example the managers judged; returns the new score."""
        y = 1.0 if label == "spam" else 0.0
        idx, val = features(text)
        for _ in range(steps):
            p = float(_sigmoid(float(self.weights[idx] @ val) + self.bias))
            self.weights[idx] -= np.float32(rate * (p - y)) * val
        return self.score(text)

    def save(self, path: Path) -> None:
        keep = np.flatnonzero(np.abs(self.weights) > 1e-4).astype(np.int32)
        np.savez_compressed(
            path,
            idx=keep,
            w=self.weights[keep].astype(np.float16),
            bias=np.float32(self.bias),
            threshold=np.float32(self.threshold),
            dim_bits=np.int32(DIM_BITS),
            note=np.array(self.note),
        )

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH) -> SpamModel:
        with np.load(Path(path), allow_pickle=False) as data:
            if int(data["dim_bits"]) != DIM_BITS:
                raise ValueError(f"{path}: built for 2^{int(data['dim_bits'])} features, this code uses 2^{DIM_BITS}")
            weights = np.zeros(DIM, dtype=np.float32)
            weights[data["idx"]] = data["w"].astype(np.float32)
            return cls(weights, float(data["bias"]), float(data["threshold"]), str(data["note"]))


def train(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    epochs: int = 150,
    l2: float = 1e-4,
    rate: float = 0.05,
    threshold: float = 0.5,
) -> SpamModel:
    """Full-batch logistic regression (Adam, class-balanced, L2) over the sparse features."""
    feats = [features(t) for t in texts]
    y = np.asarray(labels, dtype=np.float32)
    lengths = np.array([len(i) for i, _ in feats])
    rows = np.repeat(np.arange(len(feats)), lengths)
    cols = np.concatenate([i for i, _ in feats]) if feats else np.zeros(0, dtype=np.int64)
    vals = np.concatenate([v for _, v in feats]) if feats else np.zeros(0, dtype=np.float32)
    weight = balanced_weights(y).astype(np.float32)
    w = np.zeros(DIM, dtype=np.float32)
    b = 0.0
    adam = Adam(w)
    for step in range(1, epochs + 1):
        z = np.bincount(rows, weights=w[cols] * vals, minlength=len(feats)) + b
        p = _sigmoid(z)
        err = (p - y) * weight / len(y)
        grad = np.bincount(cols, weights=err[rows] * vals, minlength=DIM).astype(np.float32) + l2 * w
        b = adam.step(w, b, grad, float(err.sum()), step, rate)
    return SpamModel(w.astype(np.float32), float(b), threshold)
