"""Train the shipped spam model: ``python -m models.train_spam --data ../shared/datasets/tg-spam-samples``.

Fits on the train and dev splits, picks the threshold from 5-fold out-of-fold scores over them (the score with
the best recall whose precision is at least ``--precision``; a false positive costs more than a miss), and
writes models/weights/spam-lexical.npz.
The test split is left for benchmarks/spam.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.spam_data import Example, load
from models.spam_lexical import DEFAULT_PATH, SpamModel, train


def pick_threshold(scores: list[float], labels: list[int], precision: float) -> float:
    """The threshold with the best recall among those whose precision reaches ``precision`` (ties: higher)."""
    best: tuple[float, float] | None = None
    for cut in sorted(set(scores)):
        chosen = [y for s, y in zip(scores, labels, strict=True) if s >= cut]
        if not chosen:
            continue
        tp = sum(chosen)
        prec = tp / len(chosen)
        rec = tp / max(sum(labels), 1)
        if prec >= precision and (best is None or rec > best[1] or (rec == best[1] and cut > best[0])):
            best = (cut, rec)
    return best[0] if best is not None else max(scores, default=0.5)


def out_of_fold(examples: list[Example], folds: int = 5) -> list[float]:
    """Each example scored by a model that did not see it (``folds``-fold over the list, in order)."""
    scores = [0.0] * len(examples)
    for fold in range(folds):
        part = [e for i, e in enumerate(examples) if i % folds != fold]
        model = train([e.text for e in part], [e.label for e in part])
        for i, e in enumerate(examples):
            if i % folds == fold:
                scores[i] = model.score(e.text)
    return scores


def fit(data_dir: Path | None, precision: float = 0.98) -> SpamModel:
    """Fit on train + dev; the threshold comes from 5-fold out-of-fold scores over the same rows (every
    dev-side row counts, none is scored by a model that saw it). n-gram sizes, L2 and epochs were chosen the
    same way (docs/moderation.md). The test split is never touched here."""
    examples = [e for e in load(data_dir) if e.split in ("train", "dev")]
    scores = out_of_fold(examples)
    labels = [e.label for e in examples]
    cut = pick_threshold(scores, labels, precision)
    lower = max((s for s in scores if s < cut), default=cut)  # halfway to the next score: not glued to one row
    model = train([e.text for e in examples], labels)
    model.threshold = round((cut + lower) / 2, 4)
    model.note = f"fit on train+dev ({len(examples)}); threshold from out-of-fold precision >= {precision}"
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/datasets/tg-spam-samples"))
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--precision", type=float, default=0.98)
    args = parser.parse_args()
    model = fit(args.data if args.data.exists() else None, args.precision)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB), threshold {model.threshold}: {model.note}")


if __name__ == "__main__":
    main()
