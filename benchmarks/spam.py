"""Spam detection on the held-out split: the shipped lexical model against a keyword-and-link baseline.

    python benchmarks/spam.py --data ../shared/datasets/tg-spam-samples [--json] [--retrain] [--encoder-head]

Precision and recall per language (en, ru, he) and overall, on the test split (the model never saw it; its
threshold was chosen on train+dev out-of-fold scores by models/train_spam.py). ``--retrain`` fits the model
again first, the same way, and reports that one (it should match the shipped file). Also prints the scoring
speed (messages per second, with the load average, model vs baseline in the same process).

``--encoder-head`` also measures the other route of issue #19: a logistic-regression head on multilingual-e5
sentence embeddings (models/spam_head.py, ``query:`` prefix like the FAQ's member text), and the average of
the two probabilities. Every route is fitted the way models/train_spam.py fits the lexical model: on train +
dev, threshold from 5-fold out-of-fold scores over train + dev (best recall at precision >= 0.98). The
out-of-fold figures over train + dev (``dev``) decide which route ships; ``test`` is reported, not used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.spam_data import Example, load
from models.spam_lexical import SpamModel, meta_tokens
from models.train_spam import fit, out_of_fold, pick_threshold

# A typical rule-based filter: a link, invite or mention together with a money/job/crypto word.
KEYWORDS = (
    "earn",
    "profit",
    "invest",
    "crypto",
    "bitcoin",
    "income",
    "bonus",
    "free",
    "giveaway",
    "casino",
    "forex",
    "заработ",
    "доход",
    "прибыл",
    "инвест",
    "крипт",
    "бонус",
    "бесплатн",
    "казино",
    "работа",
    "пиши",
    "להרוויח",
    "רווח",
    "השקע",
    "קריפטו",
    "בונוס",
    "חינם",
    "קזינו",
    "הכנסה",
    "עבודה",
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
        "n": len(examples),
        "spam": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
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


def per_language(pred: list[bool], chosen: list[Example]) -> dict[str, object]:
    out: dict[str, object] = {}
    for lang in ("en", "ru", "he", "all"):
        idx = [i for i, e in enumerate(chosen) if lang == "all" or e.lang == lang]
        out[lang] = figures([pred[i] for i in idx], [chosen[i] for i in idx])
    return out


def halfway_threshold(scores: list[float], labels: list[int], precision: float = 0.98) -> float:
    """models/train_spam.fit's rule: the best-recall cut at ``precision``, halfway down to the next score."""
    cut = pick_threshold(scores, labels, precision)
    lower = max((s for s in scores if s < cut), default=cut)
    return round((cut + lower) / 2, 4)


def compare_routes(model: SpamModel, examples: list[Example]) -> dict[str, object]:
    """Lexical vs e5 head vs their average: dev (out-of-fold over train + dev) and test figures, speed."""
    import numpy as np
    import torch

    from models._runtime import limit_torch_threads
    from models.encoder import load_default_encoder
    from models.spam_head import out_of_fold_vectors, train_head

    devside = [e for e in examples if e.split in ("train", "dev")]  # the same rows, in the same order, as fit()
    test = [e for e in examples if e.split == "test"]
    labels = [e.label for e in devside]
    limit_torch_threads()  # as the bot's model threads: half the cores, STEWARD_TORCH_THREADS overrides
    started = time.perf_counter()
    encoder = load_default_encoder()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors = encoder.encode_queries([e.text for e in devside + test])
    embed_s = time.perf_counter() - started
    dev_vec, test_vec = vectors[: len(devside)], vectors[len(devside) :]
    single = [e.text for e in test[:40]]
    started = time.perf_counter()
    for text in single:  # one message at a time, as the bot sees them
        encoder.encode_queries([text])
    single_s = time.perf_counter() - started

    oof = {"lexical": out_of_fold(devside), "e5_head": out_of_fold_vectors(dev_vec, labels)}
    oof["average"] = [(a + b) / 2 for a, b in zip(oof["lexical"], oof["e5_head"], strict=True)]
    head = train_head(dev_vec, labels)
    test_lexical = model.scores(e.text for e in test)
    test_scores = {"lexical": test_lexical, "e5_head": head.score_vectors(test_vec)}
    test_scores["average"] = [(a + b) / 2 for a, b in zip(test_lexical, test_scores["e5_head"], strict=True)]
    routes: dict[str, object] = {}
    for name, dev_scores in oof.items():
        cut = halfway_threshold(dev_scores, labels)
        # The lexical route's test figures use the shipped (or --retrain) model and its own threshold.
        test_cut = model.threshold if name == "lexical" else cut
        routes[name] = {
            "threshold": cut if name != "lexical" else {"out_of_fold": cut, "model": model.threshold},
            "dev": per_language([s >= cut for s in dev_scores], devside),
            "test": per_language([s >= test_cut for s in test_scores[name]], test),
        }
    # Paired on dev: what each route changes against the lexical model, message by message.
    lexical_cut = halfway_threshold(oof["lexical"], labels)
    paired: dict[str, dict[str, int]] = {}
    for name in ("e5_head", "average"):
        cut = halfway_threshold(oof[name], labels)
        pairs = [
            (a >= lexical_cut, b >= cut, e.label) for a, b, e in zip(oof["lexical"], oof[name], devside, strict=True)
        ]
        paired[name] = {
            "spam_caught_only_by_it": sum(1 for a, b, y in pairs if y and b and not a),
            "spam_caught_only_by_lexical": sum(1 for a, b, y in pairs if y and a and not b),
            "ham_flagged_only_by_it": sum(1 for a, b, y in pairs if not y and b and not a),
            "ham_flagged_only_by_lexical": sum(1 for a, b, y in pairs if not y and a and not b),
        }
    routes["baseline"] = {
        "dev": per_language([baseline(e.text) for e in devside], devside),
        "test": per_language([baseline(e.text) for e in test], test),
    }
    lexical_speed = speed(model, [e.text for e in examples])
    return {
        "routes": routes,
        "dev_paired_vs_lexical": paired,
        "speed": {
            "lexical_msgs_per_s": lexical_speed["model_msgs_per_s"],
            "e5_batched_msgs_per_s": round(len(vectors) / embed_s, 1),
            "e5_one_at_a_time_msgs_per_s": round(len(single) / single_s, 1),
            "e5_load_s": round(load_s, 1),
            "baseline_msgs_per_s": lexical_speed["baseline_msgs_per_s"],
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "torch_threads": torch.get_num_threads(),
            "embedding_dim": int(np.asarray(vectors).shape[1]),
        },
    }


def print_routes(result: dict[str, object]) -> None:
    routes = result["routes"]
    assert isinstance(routes, dict)
    for split in ("dev", "test"):
        label = "dev (out-of-fold, train+dev)" if split == "dev" else "test (held out)"
        print(f"\n{label:30} " + "".join(f"{name + ' P / R (fp)':>24}" for name in routes))
        for lang in ("en", "ru", "he", "all"):
            first = routes["lexical"][split][lang]
            cells = "".join(
                f"{str(r[split][lang]['precision']) + ' / ' + str(r[split][lang]['recall']):>19} "
                f"({r[split][lang]['fp']})"
                for r in routes.values()
            )
            print(f"  {lang:4} n={first['n']:4} spam={first['spam']:3}         {cells}")
    print(f"\nthresholds: { {k: v.get('threshold') for k, v in routes.items() if 'threshold' in v} }")
    print(f"dev, paired against lexical: {result['dev_paired_vs_lexical']}")
    print(f"speed: {result['speed']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/datasets/tg-spam-samples"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument(
        "--encoder-head",
        action="store_true",
        help="also measure an e5-embedding head and the average of both (loads the encoder)",
    )
    args = parser.parse_args()
    data = args.data if args.data.exists() else None
    if data is None:
        print(f"note: {args.data} is absent; only Steward's own examples are used", file=sys.stderr)
    examples = load(data)
    model = fit(data) if args.retrain else SpamModel.load()
    result: dict[str, Any] = {
        "model": "retrained" if args.retrain else "shipped models/weights/spam-lexical.npz",
        "threshold": model.threshold,
        "note": model.note,
        "test": report(model, examples, "test"),
        "speed": speed(model, [e.text for e in examples]),
    }
    if args.encoder_head:
        result["encoder_head"] = compare_routes(model, examples)
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
            print(
                f"  {lang:4} n={m['n']:4} spam={m['spam']:3}   {m['precision']} / {m['recall']} ({m['fp']})"
                f"      {b['precision']} / {b['recall']} ({b['fp']})"
            )
    print(f"\nspeed: {result['speed']}")
    if args.encoder_head:
        head = result["encoder_head"]
        assert isinstance(head, dict)
        print_routes(head)


if __name__ == "__main__":
    main()
