"""The e5-embedding spam head candidate (models/spam_head.py) and its benchmark route: numpy only here."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from models.spam_head import EmbeddingHead, out_of_fold_vectors, train_head


def _blobs(n: int, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Two noisy, L2-normalised clusters in 16 dimensions (spam near +e0, ordinary near -e0), interleaved."""
    rng = np.random.default_rng(seed)
    labels = [i % 3 == 0 for i in range(n)]
    centre = np.zeros(16)
    centre[0] = 1.0
    x = np.stack([(centre if y else -centre) + rng.normal(0, 0.6, 16) for y in labels])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), [int(y) for y in labels]


def test_head_separates_embedding_clusters_and_scores_are_probabilities() -> None:
    x, y = _blobs(120)
    head = train_head(x, y)
    scores = head.score_vectors(x)
    assert all(0.0 < s < 1.0 for s in scores)
    spam = [s for s, label in zip(scores, y, strict=True) if label]
    ham = [s for s, label in zip(scores, y, strict=True) if not label]
    assert float(np.mean(spam)) > 0.8 and float(np.mean(ham)) < 0.2
    assert head.score_vectors(np.zeros((0, 16), np.float32)) == []


def test_out_of_fold_rows_are_scored_by_heads_that_did_not_see_them() -> None:
    x, y = _blobs(60, seed=1)
    seen: list[int] = []

    def spy(vectors: np.ndarray, labels: Sequence[int]) -> EmbeddingHead:
        seen.append(len(vectors))
        return train_head(vectors, labels)

    scores = out_of_fold_vectors(x, y, folds=5, fit=spy)
    assert seen == [48] * 5 and len(scores) == 60
    # Row 0's label never reaches the head that scores row 0 (deterministic training: the same score).
    flipped = list(y)
    flipped[0] = 1 - flipped[0]
    again = out_of_fold_vectors(x, flipped, folds=5)
    assert again[0] == scores[0] and again[1] != scores[1]


def test_bad_shapes_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="vectors"):
        train_head(np.zeros((3, 4), np.float32), [1, 0])
