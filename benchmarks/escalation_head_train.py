"""Train the escalation head (``models/escalation_head.py``) on the development thread splits.

Usage::

    python benchmarks/escalation_head_train.py --train dev,val [--check test] [--out models/escalation_head.npz]
        [--cache /tmp/escalation-vectors.pkl]

Examples come from two places: every prototype sentence of ``bot/services/escalation/signals.py`` (its
class; the ordinary-talk classes become ``ordinary``, except ``outside``), and the labelled threads of the
``--train`` splits, one label per message derived from the thread's label and kind:

* a thread that needs a manager: its first message carries the kind's need (``repeated``: the raiser's
  later messages are ``chasing``, the first is left out; ``harassment``: the longest later message is
  the abuse, the first message is ordinary); the others are left out (peers' answers, "same here");
* a thread that does not: every member message is ``ordinary``, except the first message of an
  ``outside`` thread, which is ``outside``.

``--check`` prints the per-message agreement on other splits (the same labelling), to see whether the
head generalises. Never pass the held-out test split (``test2``) to ``--train`` or ``--check``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.services.escalation.signals import HEAD_CLASSES, prototype_texts
from models.escalation_head import DEFAULT_PATH, EscalationHead

DATA = Path(__file__).resolve().parent / "data" / "escalation_threads"
KIND_NEED = {
    "billing": "billing",
    "refund": "refund",
    "outage": "outage",
    "data_loss": "data_loss",
    "no_show": "no_show",
    "leave_threat": "leave_threat",
    "safety": "safety",
    "staff_question": "staff_question",
}


def thread_examples(thread: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, label) for the messages of one thread that carry a clear label."""
    members = [m for m in thread["messages"] if m["role"] == "member"]
    if not members:
        return []
    first = members[0]
    kind = thread["kind"]
    if not thread["needs_manager"]:
        out = [(m["text"], "ordinary") for m in members if len(m["text"].split()) >= 3]
        if kind == "outside" and out and out[0][0] == first["text"]:
            out[0] = (first["text"], "outside")
        return out
    if kind in KIND_NEED:
        return [(first["text"], KIND_NEED[kind])]
    if kind == "repeated":
        return [(m["text"], "chasing") for m in members[1:] if m["user_id"] == first["user_id"]]
    if kind == "harassment":
        later = [m for m in members[1:] if len(m["text"].split()) >= 4]
        if not later:
            return []
        abuse = max(later, key=lambda m: len(m["text"]))
        return [(first["text"], "ordinary"), (abuse["text"], "harassment")]
    return []


def examples(splits: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for split in splits:
        if split == "test2":
            raise SystemExit("test2 is the held-out test split: it is never used to train or check the head")
        for line in (DATA / f"{split}.jsonl").read_text("utf-8").splitlines():
            out += thread_examples(json.loads(line))
    return out


def prototype_examples() -> list[tuple[str, str]]:
    ordinary = {"self", "joke", "thanks", "howto", "chat"}
    return [(text, "ordinary" if name in ordinary else name) for name, text in prototype_texts()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="dev,val")
    parser.add_argument("--check", default="test")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--cache", type=Path, default=None, help="remembered vectors (a pickle of text → vector)")
    parser.add_argument("--l2", type=float, default=3e-3)
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    from models.encoder import E5Encoder

    cache: dict[str, Any] = {}
    if args.cache is not None and args.cache.is_file():
        cache = pickle.loads(args.cache.read_bytes())  # our own file
    encoder: Any = None

    def embed(texts: list[str]) -> np.ndarray:
        nonlocal encoder
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if todo:
            encoder = encoder or E5Encoder()
            for text, vector in zip(todo, encoder.encode_queries(todo), strict=True):
                cache[text] = np.asarray(vector, dtype=np.float32)
        return np.stack([cache[t] for t in texts])

    train_splits = [s for s in args.train.split(",") if s]
    train = prototype_examples() + examples(train_splits)
    x = embed([t for t, _ in train])
    head = EscalationHead.train(
        x,
        [label for _, label in train],
        HEAD_CLASSES,
        l2=args.l2,
        steps=args.steps,
        trained_on="prototypes + " + "+".join(train_splits),
    )
    counts = {c: sum(label == c for _, label in train) for c in HEAD_CLASSES}
    print(f"trained on {len(train)} examples ({head.trained_on}): {counts}")
    for split in [s for s in args.check.split(",") if s]:
        check = examples([split])
        if not check:
            continue
        p = head.probabilities(embed([t for t, _ in check]))
        guess = [HEAD_CLASSES[i] for i in p.argmax(axis=1)]
        right = sum(g == label for g, (_, label) in zip(guess, check, strict=True))
        need_right = sum(
            (g not in ("ordinary", "outside")) == (label not in ("ordinary", "outside"))
            for g, (_, label) in zip(guess, check, strict=True)
        )
        print(
            f"check {split}: {len(check)} messages, class agreement {right / len(check):.0%}, "
            f"need vs ordinary agreement {need_right / len(check):.0%}"
        )
    head.save(args.out)
    print(f"wrote {args.out}")
    if args.cache is not None:
        args.cache.write_bytes(pickle.dumps(cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
