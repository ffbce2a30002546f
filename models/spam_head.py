"""A spam head on sentence embeddings: logistic regression in numpy over (e.g.) multilingual-e5 vectors.

The candidate that benchmarks/spam.py ``--encoder-head`` measures against the shipped lexical model
(models/spam_lexical.py). It is fitted the same way as the lexical model (class-balanced, L2, full-batch
Adam; threshold from 5-fold out-of-fold scores over train + dev, models/train_spam.py's rule) so the two
routes are compared like for like. ``EmbeddingHead.score_vectors`` takes the encoder's output; embedding is
the caller's job (the FAQ's encoder thread in the bot, ``encode_queries`` like the FAQ for member text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from models._adam import Adam, balanced_weights

Vectors = npt.NDArray[np.float32]


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), dtype=np.float64)


@dataclass
class EmbeddingHead:
    weights: npt.NDArray[np.float32]  # (dim,)
    bias: float
    threshold: float = 0.5

    def score_vectors(self, vectors: Vectors) -> list[float]:
        if len(vectors) == 0:
            return []
        z = np.asarray(vectors, dtype=np.float64) @ self.weights.astype(np.float64) + self.bias
        return [float(p) for p in _sigmoid(z)]


def train_head(
    vectors: Vectors,
    labels: Sequence[int],
    *,
    epochs: int = 300,
    l2: float = 1e-3,
    rate: float = 0.05,
) -> EmbeddingHead:
    """Full-batch, class-balanced logistic regression with L2 (Adam), as models.spam_lexical.train."""
    x = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y) or len(y) == 0:
        raise ValueError(f"need (n, dim) vectors and n labels, got {x.shape} and {len(y)}")
    weight = balanced_weights(y)
    w = np.zeros(x.shape[1])
    b = 0.0
    adam = Adam(w)
    for step in range(1, epochs + 1):
        p = _sigmoid(x @ w + b)
        err = (p - y) * weight / len(y)
        grad = x.T @ err + l2 * w
        b = adam.step(w, b, grad, float(err.sum()), step, rate)
    return EmbeddingHead(w.astype(np.float32), float(b))


def out_of_fold_vectors(
    vectors: Vectors,
    labels: Sequence[int],
    folds: int = 5,
    fit: Callable[[Vectors, Sequence[int]], EmbeddingHead] = train_head,
) -> list[float]:
    """Each row scored by a head that did not see it; folds are ``i % folds`` in order (as train_spam)."""
    scores = [0.0] * len(labels)
    rows = np.arange(len(labels))
    for fold in range(folds):
        keep = rows % folds != fold
        head = fit(vectors[keep], [labels[i] for i in rows[keep]])
        held = rows[~keep]
        for i, s in zip(held, head.score_vectors(vectors[held]), strict=True):
            scores[int(i)] = s
    return scores
