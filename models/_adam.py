"""The optimiser both spam models train with: class-balanced weights and Adam on one weight vector and a bias."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def balanced_weights(y: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per-example weights that give both classes the same total weight (spam is the rare class)."""
    pos = max(float(y.sum()), 1.0)
    neg = max(float(len(y) - y.sum()), 1.0)
    return np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * neg))


class Adam:
    """Adam (beta1 0.9, beta2 0.999) for a logistic regression's weights ``w`` (updated in place) and bias."""

    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def __init__(self, w: np.ndarray) -> None:
        self.m: np.ndarray = np.zeros_like(w)
        self.v: np.ndarray = np.zeros_like(w)
        self.mb = self.vb = 0.0

    def step(self, w: np.ndarray, b: float, grad: np.ndarray, gb: float, step: int, rate: float) -> float:
        """One update at ``step`` (from 1); returns the new bias."""
        beta1, beta2, eps = self.beta1, self.beta2, self.eps
        self.m = beta1 * self.m + (1 - beta1) * grad
        self.v = beta2 * self.v + (1 - beta2) * grad * grad
        w -= rate * (self.m / (1 - beta1**step)) / (np.sqrt(self.v / (1 - beta2**step)) + eps)
        self.mb = beta1 * self.mb + (1 - beta1) * gb
        self.vb = beta2 * self.vb + (1 - beta2) * gb * gb
        return b - rate * (self.mb / (1 - beta1**step)) / (math.sqrt(self.vb / (1 - beta2**step)) + eps)
