"""Evaluate a sentiment model on a test split.

    python -m models.evaluate_sentiment --dataset tweeteval [--data-dir ../shared/datasets] [--model DIR] [--json]

Prints macro-averaged recall (TweetEval's official metric), accuracy and the confusion matrix, per language
where the set has several (UMSAB). On 2-class sets (Hebrew) a neutral prediction counts as wrong and the
macro-recall averages the two real classes. With ``--json`` the last line is one JSON object with
``macro_recall``, ``accuracy`` and ``n`` (plus per-language figures).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.sentiment_data import DATASETS, DEFAULT_DATA_DIR, LABEL_ID, LABELS, TWO_CLASS, load_split


def scores(y: npt.NDArray[np.int64], p: npt.NDArray[np.int64], classes: list[int]) -> dict[str, Any]:
    cm = np.zeros((3, 3), np.int64)
    for a, b in zip(y, p, strict=True):
        cm[a, b] += 1
    recalls = {LABELS[c]: float(cm[c, c] / max(1, cm[c].sum())) for c in classes}
    return {
        "macro_recall": float(np.mean(list(recalls.values()))),
        "accuracy": float((y == p).mean()) if len(y) else 0.0,
        "n": len(y),
        "recall": recalls,
        "confusion": cm.tolist(),
    }


def format_block(title: str, s: dict[str, Any]) -> str:
    lines = [
        f"{title}: macro-recall {s['macro_recall']:.4f}  accuracy {s['accuracy']:.4f}  n={s['n']}",
        "  recall: " + "  ".join(f"{k} {v:.3f}" for k, v in s["recall"].items()),
        "  confusion (rows = gold, columns = predicted negative/neutral/positive):",
    ]
    for i, row in enumerate(s["confusion"]):
        lines.append(f"    {LABELS[i]:>8} " + " ".join(f"{v:6d}" for v in row))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, choices=DATASETS)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--split", default="test", choices=("test", "val"))
    ap.add_argument("--model", default="", help="model dir or hub name (default: the shipped model)")
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N rows")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    try:
        rows = load_split(args.dataset, args.split, args.data_dir)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.limit:
        rows = rows[: args.limit]
    from models.sentiment import load, load_default

    t0 = time.perf_counter()
    clf = load(args.model) if args.model else load_default()
    t_load = time.perf_counter() - t0
    texts = [r.text for r in rows]
    t0 = time.perf_counter()
    preds: list[str] = []
    for i in range(0, len(texts), 512):
        preds += [v.label for v in clf.predict(texts[i : i + 512])]
    dt = time.perf_counter() - t0
    y = np.array([LABEL_ID[r.label] for r in rows], np.int64)
    p = np.array([LABEL_ID[x] for x in preds], np.int64)
    classes = [0, 2] if args.dataset in TWO_CLASS else [0, 1, 2]
    overall = scores(y, p, classes)
    result: dict[str, Any] = {"dataset": args.dataset, "split": args.split, **overall}
    print(
        f"model: {args.model or 'default (models/weights/sentiment-e5)'}  load {t_load:.1f}s  "
        f"predict {dt:.1f}s ({len(texts) / max(dt, 1e-9):.0f} texts/s)"
    )
    print(format_block(f"{args.dataset} {args.split}", overall))
    langs = sorted({r.lang for r in rows})
    if len(langs) > 1:
        per: dict[str, Any] = {}
        for lang in langs:
            m = np.array([r.lang == lang for r in rows])
            per[lang] = scores(y[m], p[m], classes)
            print(format_block(f"  [{lang}]", per[lang]))
        result["per_language"] = {
            k: {"macro_recall": round(v["macro_recall"], 4), "accuracy": round(v["accuracy"], 4), "n": v["n"]}
            for k, v in per.items()
        }
    if args.json:
        out = {
            k: (round(v, 4) if isinstance(v, float) else v)
            for k, v in result.items()
            if k not in ("confusion", "recall")
        }
        print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
