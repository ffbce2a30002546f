"""A small head on multilingual-e5 vectors: which need (or ordinary talk) a community message reads as.

A linear softmax layer (one weight row per class) over the encoder's normalised sentence vectors,
trained by ``benchmarks/escalation_head_train.py`` on the escalation prototypes and on the messages of
the *development* thread splits only (see ``benchmarks/data/escalation_threads/README.md``). The
encoder is multilingual, so the head reads Russian and Hebrew as it reads English; it needs no word
list. Weights live next to this file (``escalation_head.npz``, a few tens of KiB). Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_PATH", "EscalationHead", "load_head"]

Vectors = npt.NDArray[np.float32]
DEFAULT_PATH = Path(__file__).with_name("escalation_head.npz")


class EscalationHead:
    """Softmax over ``classes`` from ``vector @ weights + bias``."""

    def __init__(self, classes: Sequence[str], weights: Vectors, bias: Vectors, *, trained_on: str = "") -> None:
        self.classes = list(classes)
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.trained_on = trained_on
        if self.weights.shape != (self.weights.shape[0], len(self.classes)) or self.bias.shape != (len(self.classes),):
            raise ValueError("escalation head: weights do not fit the classes")

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def probabilities(self, vectors: Vectors) -> Vectors:
        """One row of class probabilities per vector (rows of ``vectors``)."""
        logits = np.atleast_2d(np.asarray(vectors, dtype=np.float32)) @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            classes=np.array(self.classes),
            weights=self.weights,
            bias=self.bias,
            trained_on=np.array(self.trained_on),
        )

    @classmethod
    def train(
        cls,
        vectors: Vectors,
        labels: Sequence[str],
        classes: Sequence[str],
        *,
        l2: float = 3e-3,
        steps: int = 600,
        lr: float = 0.5,
        scale: float = 20.0,
        trained_on: str = "",
    ) -> EscalationHead:
        """Class-balanced softmax regression by full-batch gradient descent with momentum (deterministic).

        ``scale`` multiplies the (unit-length) inputs, so that a linear layer can separate the tight
        cone e5 puts every sentence in without huge weights."""
        x = np.asarray(vectors, dtype=np.float64) * scale
        index = {c: i for i, c in enumerate(classes)}
        y = np.array([index[label] for label in labels])
        n, d = x.shape
        k = len(classes)
        counts = np.bincount(y, minlength=k).astype(np.float64)
        sample_w = (n / (k * np.maximum(counts, 1.0)))[y]
        onehot = np.zeros((n, k))
        onehot[np.arange(n), y] = 1.0
        w = np.zeros((d, k))
        b = np.zeros(k)
        vw = np.zeros_like(w)
        vb = np.zeros_like(b)
        for _ in range(steps):
            logits = x @ w + b
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            g = (p - onehot) * sample_w[:, None] / n
            gw = x.T @ g + l2 * w
            gb = g.sum(axis=0)
            vw = 0.9 * vw - lr * gw
            vb = 0.9 * vb - lr * gb
            w += vw
            b += vb
        return cls(classes, (w * scale).astype(np.float32), b.astype(np.float32), trained_on=trained_on)


def load_head(path: Path | None = None) -> EscalationHead | None:
    """The shipped head, or None when its file is absent (the prototypes alone then decide)."""
    path = path or DEFAULT_PATH
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        return EscalationHead(
            [str(c) for c in data["classes"]],
            data["weights"],
            data["bias"],
            trained_on=str(data["trained_on"]),
        )
