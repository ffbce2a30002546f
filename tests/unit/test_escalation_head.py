"""The escalation head (models/escalation_head.py): training, saving, and how SignalModel uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.services.escalation.signals import HEAD_CLASSES, SignalModel, prototype_texts
from models.escalation_head import DEFAULT_PATH, EscalationHead, load_head


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _toy(dim: int = 16, per_class: int = 6, seed: int = 3) -> tuple[np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = _unit(rng.normal(size=(len(HEAD_CLASSES), dim)))
    x = np.concatenate([centres[i] + 0.1 * rng.normal(size=(per_class, dim)) for i in range(len(HEAD_CLASSES))])
    labels = [c for c in HEAD_CLASSES for _ in range(per_class)]
    return _unit(x), labels, centres


def test_training_separates_the_classes_and_a_saved_head_loads_the_same(tmp_path: Path) -> None:
    x, labels, centres = _toy()
    head = EscalationHead.train(x, labels, HEAD_CLASSES, steps=300, trained_on="toy")
    guess = [HEAD_CLASSES[i] for i in head.probabilities(centres).argmax(axis=1)]
    assert guess == list(HEAD_CLASSES)
    path = tmp_path / "head.npz"
    head.save(path)
    again = load_head(path)
    assert again is not None and again.trained_on == "toy" and again.classes == list(HEAD_CLASSES)
    assert np.allclose(again.probabilities(centres), head.probabilities(centres))
    assert load_head(tmp_path / "absent.npz") is None


def test_signal_model_reads_on_the_head_scale_and_ignores_a_head_that_does_not_fit() -> None:
    x, labels, centres = _toy()
    head = EscalationHead.train(x, labels, HEAD_CLASSES, steps=300)
    protos = _unit(np.random.default_rng(5).normal(size=(len(prototype_texts()), 16)))
    classes = [name for name, _ in prototype_texts()]
    model = SignalModel(protos, classes, head=head)
    refund = model.signals(centres[HEAD_CLASSES.index("refund")], need_margin=0.0, need_floor=0.0)
    assert refund.scale == "head" and refund.need == "refund" and 0.0 < refund.margin <= 1.0
    outside = model.signals(centres[HEAD_CLASSES.index("outside")], need_margin=0.0, need_floor=0.0)
    assert outside.outside and outside.need is None and outside.margin < 0
    assert model.cheap_margin < 0
    wider = _unit(np.random.default_rng(6).normal(size=(len(classes), 24)))
    plain = SignalModel(wider, classes, head=head)  # a 16-dimension head on 24-dimension vectors
    assert plain.head is None and plain.signals(wider[0], need_margin=0.0, need_floor=0.0).scale == "cosine"


def test_the_shipped_head_fits_the_e5_encoder_and_the_classes() -> None:
    if not DEFAULT_PATH.is_file():
        pytest.skip("no shipped head")
    head = load_head()
    assert head is not None and head.dim == 384 and set(head.classes) == set(HEAD_CLASSES)
    assert "test2" not in head.trained_on  # the held-out split never trains it
