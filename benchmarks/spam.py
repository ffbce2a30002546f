"""Spam detection on the held-out split: the shipped lexical model against a keyword-and-link baseline.

    python benchmarks/spam.py --data ../shared/datasets/tg-spam-samples [--json] [--retrain]

Precision and recall per language (en, ru, he) and overall, on the test split (the model never saw it; its
threshold was chosen on train+dev out-of-fold scores by models/train_spam.py). ``--retrain`` fits the model
again first, the same way, and reports that one (it should match the shipped file). Also prints the scoring
speed (messages per second, with the load average, model vs baseline in the same process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.spam_data import Example, load
from models.spam_lexical import SpamModel, meta_tokens
from models.train_spam import fit

# A typical rule-based filter: a link, invite or mention together with a money/job/crypto word.
KEYWORDS = (
    "earn", "profit", "invest", "crypto", "bitcoin", "income", "bonus", "free", "giveaway", "casino", "forex",
    "заработ", "доход", "прибыл", "инвест", "крипт", "бонус", "бесплатн", "казино", "работа", "пиши",
    "להרוויח", "רווח", "השקע", "קריפטו", "בונוס", "חינם", "קזינו", "הכנסה", "עבודה",
)


def baseline(text: str) -> bool:
    low = text.lower()
    tokens = meta_tokens(text)
    has_link = "__url" in tokens or "__invite" in tokens or "__mention" in tokens
    return has_link and any(word in low for word in KEYWORDS)


def figures(pred: list[bool], examples: list[Example]) -> dict[str, float | int | None]:
    tp = sum(1 for p, e in zip(pred, examples, strict=True) if p and e.label)
    fp = sum(1 for p, e in zip(pred, examples, strict=True) if p and not e.label)
    fn = sum(1 for p, e in zip(pred, examples, strict=True) if not p and e.label)
    return {
        "n": len(examples), "spam": tp + fn, "tp": tp, "fp": fp, "fn": fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
    }


def report(model: SpamModel, examples: list[Example], split: str) -> dict[str, object]:
    chosen = [e for e in examples if e.split == split]
    model_pred = [model.score(e.text) >= model.threshold for e in chosen]
    base_pred = [baseline(e.text) for e in chosen]
    out: dict[str, object] = {}
    for lang in ("en", "ru", "he", "all"):
        idx = [i for i, e in enumerate(chosen) if lang == "all" or e.lang == lang]
        sub = [chosen[i] for i in idx]
        out[lang] = {
            "model": figures([model_pred[i] for i in idx], sub),
            "baseline": figures([base_pred[i] for i in idx], sub),
        }
    return out


def speed(model: SpamModel, texts: list[str]) -> dict[str, float]:
    start = time.perf_counter()
    for text in texts:
        model.score(text)
    model_s = time.perf_counter() - start
    start = time.perf_counter()
    for text in texts:
        baseline(text)
    base_s = time.perf_counter() - start
    return {
        "model_msgs_per_s": round(len(texts) / model_s, 1),
        "baseline_msgs_per_s": round(len(texts) / base_s, 1),
        "model_vs_baseline_time": round(model_s / base_s, 1),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/datasets/"
                        "tg-spam-samples")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args()
    data = args.data if args.data.exists() else None
    if data is None:
        print(f"note: {args.data} is absent; only Steward's own examples are used", file=sys.stderr)
    examples = load(data)
    model = fit(data) if args.retrain else SpamModel.load()
    result = {
        "model": "retrained" if args.retrain else "shipped models/weights/spam-lexical.npz",
        "threshold": model.threshold,
        "note": model.note,
        "test": report(model, examples, "test"),
        "speed": speed(model, [e.text for e in examples]),
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(f"{result['model']}, threshold {model.threshold:.4f} ({model.note})")
    for split in ("test",):
        print(f"\n{split} split      model P / R (fp)        baseline P / R (fp)")
        table = result[split]
        assert isinstance(table, dict)
        for lang, row in table.items():
            m, b = row["model"], row["baseline"]
            print(f"  {lang:4} n={m['n']:4} spam={m['spam']:3}   {m['precision']} / {m['recall']} ({m['fp']})"
                  f"      {b['precision']} / {b['recall']} ({b['fp']})")
    print(f"\nspeed: {result['speed']}")


if __name__ == "__main__":
    main()
