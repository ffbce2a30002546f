"""Experiment (not shipped): a small linear head adapted to the knowledge base at save time.

A d×d linear map (initialised to the identity, after centring on the mean phrasing) is trained on
the entries' phrasings so that each phrasing is closest to its own entry's centroid (cross-entropy
over scaled cosines, 100 full-batch Adam steps: about half a second on CPU for 750 phrasings).
Thresholds and margin are tuned on CLINC150 val (+ out-of-scope train) exactly as in
benchmarks/faq.py and reported on test.

    python benchmarks/faq_head.py

Why it is not shipped: its score scale depends on the knowledge base (number of entries and
phrasings), so a 5-entry FAQ and a 150-entry FAQ would need different thresholds; see docs/faq.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmarks.faq as bench  # noqa: E402


def main() -> int:
    torch.manual_seed(0)
    test, val = bench.load_clinc("test"), bench.load_clinc("val")
    encoder, tag = bench.load_encoder("default")
    cache = ROOT / ".cache" / "faq-bench"
    flat = [v for vs in test.variants for v in vs]
    kb = bench.encode_cached(encoder, tag, flat, "query", cache)
    labels = torch.tensor([e for e, vs in enumerate(test.variants) for _ in vs])
    q_test = bench.encode_cached(encoder, tag, test.queries, "query", cache)
    q_val = bench.encode_cached(encoder, tag, val.queries, "query", cache)
    x = torch.tensor(kb)
    mu = x.mean(0)
    w = torch.nn.Parameter(torch.eye(x.shape[1]))
    b = torch.nn.Parameter(torch.zeros(x.shape[1]))
    opt = torch.optim.Adam([w, b], lr=5e-3, weight_decay=1e-4)
    onehot = torch.nn.functional.one_hot(labels, len(test.variants)).float()
    t0 = time.perf_counter()
    for _ in range(100):
        z = torch.nn.functional.normalize((x - mu) @ w + b, dim=1)
        c = torch.nn.functional.normalize(onehot.T @ z, dim=1)
        loss = torch.nn.functional.cross_entropy(20 * z @ c.T, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - t0
    with torch.no_grad():
        z = torch.nn.functional.normalize((x - mu) @ w + b, dim=1)
        c = torch.nn.functional.normalize(onehot.T @ z, dim=1)

        def score(q: np.ndarray) -> np.ndarray:
            return (torch.nn.functional.normalize((torch.tensor(q) - mu) @ w + b, dim=1) @ c.T).numpy()

        s_test, s_val = score(q_test), score(q_val)
    in_scope = np.array(test.labels) >= 0
    top1 = (s_test.argmax(1) == np.array(test.labels))[in_scope].mean()
    print(f"head trained in {train_s:.1f}s; top-1 on in-scope test {top1:.1%}")
    print(f"{'budget':<28} {'answer':>7} {'margin':>6}  {bench.HEADER}")
    for max_wrong, min_oos in ((0.04, 0.90), (0.05, 0.85)):
        found = bench.tune(
            s_val, val.labels, max_wrong=max_wrong, min_oos=min_oos, margins=[0, 0.01, 0.02, 0.05, 0.1, 0.15]
        )
        if found is None:
            continue
        th = found[0]
        c_test = bench.count(test.labels, bench.decide(s_test, th))
        print(f"wrong ≤ {max_wrong:.0%}, oos ≥ {min_oos:.0%} (val) {th.answer:7.3f} {th.margin:6.2f}  {c_test.row()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
