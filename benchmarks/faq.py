"""FAQ matching benchmark: the Steward matcher against a Rose-style keyword filter and plain BM25.

Usage::

    python benchmarks/faq.py --kb FILE.toml --queries FILE.jsonl [--json]
    python benchmarks/faq.py --dataset clinc150 [--json]
    python benchmarks/faq.py --kb benchmarks/data/faq_probe_kb.toml --queries benchmarks/data/faq_probe_queries.jsonl

* ``--kb`` is a knowledge base in the import format (docs/faq.md); ``--queries`` is JSONL with
  ``{"text": …, "faq": id or null}`` (null: out of scope) and an optional ``"lang"``, which adds a
  per-language table.
* ``--dataset clinc150`` reads ../shared/datasets/clinc150/data_full.json: the first 5 train
  queries of each intent are the entries' variants; the test queries plus the out-of-scope test
  queries are the evaluation. Thresholds are *tuned on the validation split* (in-scope val
  queries, out-of-scope val and train queries) and then reported on test, next to the shipped
  defaults; the test split never picks a parameter.

Figures: ``answered_correct``, ``answered_wrong`` (a wrong entry, or any answer to an
out-of-scope query), ``suggested_correct`` (suggestions that contain the right entry),
``abstained_oos`` (out-of-scope queries that got no answer: silence or only suggestions),
``abstained_in_scope``. With ``--json`` the last line is one JSON object with those counts and
``total`` for the Steward matcher (at the shipped defaults, or at ``--answer/--suggest/--margin``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import FaqSettings  # noqa: E402
from bot.services.faq_io import parse_toml  # noqa: E402
from bot.services.faq_matcher import FaqIndex, IndexedEntry, MatcherParams, TextEncoder, Thresholds  # noqa: E402
from models.faq_adapter import (  # noqa: E402
    ENGLISH_RECIPE,
    AdapterRecipe,
    TwoViewAdapter,
    adapt_views,
    english_groups,
    kb_key,
    supports_adaptation,
)

DATASETS = ROOT.parent / "shared" / "datasets"
NONE = -1
MARGINS = [0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15]


@dataclass
class Problem:
    entry_keys: list[str]
    variants: list[list[str]]
    queries: list[str]
    labels: list[int]  # entry index or NONE
    langs: list[str | None]


@dataclass
class Counts:
    answered_correct: int = 0
    answered_wrong: int = 0
    suggested_correct: int = 0
    abstained_oos: int = 0
    abstained_in_scope: int = 0
    suggested_oos: int = 0  # out-of-scope queries that got "Did you mean" buttons (noise)
    total: int = 0
    in_scope: int = 0
    oos: int = 0

    def add(self, label: int, answered: int | None, suggested: Sequence[int]) -> None:
        self.total += 1
        if label == NONE:
            self.oos += 1
        else:
            self.in_scope += 1
        if answered is not None:
            if answered == label:
                self.answered_correct += 1
            else:
                self.answered_wrong += 1
            return
        if label == NONE:
            self.abstained_oos += 1
            if suggested:
                self.suggested_oos += 1
        else:
            self.abstained_in_scope += 1
            if label in suggested:
                self.suggested_correct += 1

    def as_json(self) -> dict[str, int]:
        keys = (
            "answered_correct",
            "answered_wrong",
            "suggested_correct",
            "abstained_oos",
            "abstained_in_scope",
            "total",
        )
        return {key: getattr(self, key) for key in keys}

    def row(self) -> str:
        pct = lambda n, d: f"{100 * n / d:5.1f}%" if d else "   - "  # noqa: E731
        return (
            f"{pct(self.answered_correct, self.in_scope)} {pct(self.answered_wrong, self.total)} "
            f"{pct(self.suggested_correct, self.in_scope)} {pct(self.abstained_oos, self.oos)} "
            f"{pct(self.suggested_oos, self.oos)}"
        )


HEADER = "right/in-scope  wrong/all  suggested-right/in-scope  no-answer/oos  suggested/oos"


# ---------------------------------------------------------------- problems


def load_files(kb: Path, queries: Path) -> Problem:
    drafts, problems = parse_toml(kb.read_text("utf-8"))
    if problems:
        raise SystemExit("the knowledge base has errors:\n" + "\n".join(map(str, problems)))
    keys = [d.key for d in drafts]
    index = {k: i for i, k in enumerate(keys)}
    texts, labels, langs = [], [], []
    for n, line in enumerate(queries.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        faq = row.get("faq")
        if faq is not None and faq not in index:
            raise SystemExit(f"{queries}:{n}: unknown faq id {faq!r}")
        texts.append(str(row["text"]))
        labels.append(NONE if faq is None else index[faq])
        langs.append(row.get("lang"))
    return Problem(keys, [list(d.questions) for d in drafts], texts, labels, langs)


def load_clinc(split: str, variants_per_intent: int = 5) -> Problem:
    path = DATASETS / "clinc150" / "data_full.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found (see ../shared/datasets/clinc150/SOURCE.md)")
    data = json.loads(path.read_text("utf-8"))
    per_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in data["train"]:
        if len(per_intent[intent]) < variants_per_intent:
            per_intent[intent].append(text)
    keys = sorted(per_intent)
    index = {k: i for i, k in enumerate(keys)}
    oos = [t for t, _ in data[f"oos_{split}"]]
    if split == "val":
        # Only 100 out-of-scope val queries: add the 100 out-of-scope train ones (never test) for tuning.
        oos += [t for t, _ in data["oos_train"]]
    queries = [t for t, _ in data[split]] + oos
    labels = [index[i] for _, i in data[split]] + [NONE] * len(oos)
    return Problem(keys, [per_intent[k] for k in keys], queries, labels, [None] * len(queries))


# ---------------------------------------------------------------- encoder


def load_encoder(name: str) -> tuple[TextEncoder, str]:
    from bot.services.faq import load_encoder as load

    return load(name)


def encode_cached(encoder: TextEncoder, tag: str, texts: list[str], kind: str, cache: Path | None) -> np.ndarray:
    if cache is not None:
        digest = hashlib.sha256(("\x00".join([tag, kind, *texts])).encode()).hexdigest()[:20]
        file = cache / f"{digest}.npy"
        if file.is_file():
            return np.load(file)
    fn = encoder.encode_queries if kind == "query" else encoder.encode_passages
    out = np.concatenate([fn(texts[i : i + 256]) for i in range(0, len(texts), 256)]) if texts else np.zeros((0, 1))
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(file, out)
    return out


# ---------------------------------------------------------------- systems


class Steward:
    def __init__(self, problem: Problem, kb_vectors: list[np.ndarray], params: MatcherParams) -> None:
        entries = [IndexedEntry(i, tuple(v), kb_vectors[i]) for i, v in enumerate(problem.variants)]
        self.index = FaqIndex(entries, params)

    def score_all(self, queries: list[str], vectors: np.ndarray) -> np.ndarray:
        return np.stack([self.index.scores(t, vectors[i])[0] for i, t in enumerate(queries)])


def decide(scores: np.ndarray, th: Thresholds, k: int = 3) -> list[tuple[int | None, list[int]]]:
    out: list[tuple[int | None, list[int]]] = []
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    for row, idx in zip(scores, order, strict=True):
        best, second = row[idx[0]], (row[idx[1]] if len(idx) > 1 else -np.inf)
        if best >= th.answer and best - second >= th.margin:
            out.append((int(idx[0]), []))
        else:
            out.append((None, [int(i) for i in idx if row[i] >= th.suggest]))
    return out


def count(
    labels: list[int], decisions: list[tuple[int | None, list[int]]], mask: Sequence[bool] | None = None
) -> Counts:
    c = Counts()
    for i, (label, (answered, suggested)) in enumerate(zip(labels, decisions, strict=True)):
        if mask is None or mask[i]:
            c.add(label, answered, suggested)
    return c


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class RoseFilter:
    """What a group admin sets up in a Rose-like bot: ``/filter <keyword> <answer>`` per entry, the
    keyword being the entry's id ("refund", "pto_balance" → "pto balance"). A message that contains
    the keyword as whole words gets that answer; the first filter that matches wins."""

    def __init__(self, keys: list[str]) -> None:
        self.patterns = [
            re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, re.split(r"[_\-\s]+", k.lower()))) + r"(?!\w)")
            for k in keys
        ]

    def decide(self, queries: list[str]) -> list[tuple[int | None, list[int]]]:
        out: list[tuple[int | None, list[int]]] = []
        for q in queries:
            hit = next((i for i, p in enumerate(self.patterns) if p.search(q.lower())), None)
            out.append((hit, []))
        return out


class BM25:
    """Plain Okapi BM25 over word tokens of every variant; an entry scores its best variant."""

    def __init__(self, variants: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        docs = [(e, Counter(words(v))) for e, vs in enumerate(variants) for v in vs]
        self.n_entries = len(variants)
        self.owner = np.array([e for e, _ in docs], dtype=np.int64)
        n = len(docs)
        lengths = np.array([sum(c.values()) for _, c in docs], dtype=np.float64)
        avg = lengths.mean() if n else 1.0
        df: Counter[str] = Counter()
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, (_, c) in enumerate(docs):
            df.update(c.keys())
            for w, tf in c.items():
                postings[w].append((i, tf))
        self.n_docs = n
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for w, p in postings.items():
            idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
            ids = np.array([i for i, _ in p], dtype=np.int64)
            tf = np.array([t for _, t in p], dtype=np.float64)
            self.postings[w] = (ids, idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[ids] / avg)))

    def scores(self, query: str) -> np.ndarray:
        parts = [self.postings[w] for w in set(words(query)) if w in self.postings]
        per_doc = (
            np.bincount(
                np.concatenate([p[0] for p in parts]),
                weights=np.concatenate([p[1] for p in parts]),
                minlength=self.n_docs,
            )
            if parts
            else np.zeros(self.n_docs)
        )
        out = np.zeros(self.n_entries)
        np.maximum.at(out, self.owner, per_doc)
        return out


# ---------------------------------------------------------------- tuning


def tune(
    scores: np.ndarray, labels: list[int], *, max_wrong: float, min_oos: float, margins: Sequence[float]
) -> tuple[Thresholds, Counts] | None:
    """The thresholds that answer the most in-scope queries right within the error budget."""
    best: tuple[int, Thresholds, Counts] | None = None
    tops = np.sort(scores.max(axis=1))
    for margin in margins:
        for answer in np.unique(np.quantile(tops, np.linspace(0.0, 0.995, 200))):
            th = Thresholds(float(answer), float(answer), float(margin))
            c = count(labels, decide(scores, th))
            within = c.answered_wrong <= max_wrong * c.total and c.abstained_oos >= min_oos * max(1, c.oos)
            if within and (best is None or c.answered_correct > best[0]):
                best = (c.answered_correct, th, c)
    return None if best is None else (best[1], best[2])


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    defaults = FaqSettings()
    params = MatcherParams(centroid_weight=args.centroid_weight, lexical_weight=args.lexical_weight)
    shipped = Thresholds(
        args.answer if args.answer is not None else defaults.answer_threshold,
        args.suggest if args.suggest is not None else defaults.suggest_threshold,
        args.margin if args.margin is not None else defaults.margin,
    )
    if args.dataset:
        problem, tuning = load_clinc("test"), load_clinc("val")
        name = "CLINC150 (5 variants per intent; test + out-of-scope test)"
    else:
        problem, tuning = load_files(Path(args.kb), Path(args.queries)), None
        name = f"{args.kb} × {args.queries}"
    t0 = time.perf_counter()
    encoder, tag = load_encoder(args.encoder)
    cache = Path(args.cache) if args.cache else None
    flat = [v for vs in problem.variants for v in vs]
    adapt_note = "no adaptation"
    if args.adapt and supports_adaptation(encoder):
        # What the bot does when a knowledge base is saved: fine-tune the top blocks on its phrasings, and
        # those of the English encoder on the English phrasings (the English view).
        english_encoder, english_tag = load_encoder(args.english_encoder) if args.english_encoder else (None, "")
        t_adapt = time.perf_counter()
        adapted = adapt_views(encoder, problem.variants, english_encoder)  # type: ignore[arg-type]
        views = [f"{tag} ({AdapterRecipe()})"]
        tag = f"{tag}+adapter:{kb_key(tag, AdapterRecipe(), problem.variants)}"
        params = params.adapted()
        if isinstance(adapted, TwoViewAdapter):
            views.append(f"{english_tag} on the English phrasings ({ENGLISH_RECIPE})")
            tag += f"+english:{kb_key(english_tag, ENGLISH_RECIPE, english_groups(problem.variants))}"
            params = params.with_english_view(adapted.english_dim)
        adapt_note = f"adapted to the knowledge base in {time.perf_counter() - t_adapt:.1f}s: {' + '.join(views)}"
        encoder = adapted
    flat_vectors = encode_cached(encoder, tag, flat, "query", cache)
    kb_vectors, at = [], 0
    for vs in problem.variants:
        kb_vectors.append(flat_vectors[at : at + len(vs)])
        at += len(vs)
    steward = Steward(problem, kb_vectors, params)
    q_vectors = encode_cached(encoder, tag, problem.queries, "query", cache)
    steward_scores = steward.score_all(problem.queries, q_vectors)
    encode_s = time.perf_counter() - t0

    bm25 = BM25(problem.variants)
    bm25_scores = np.stack([bm25.scores(q) for q in problem.queries])
    rose = RoseFilter(problem.entry_keys)

    print(f"FAQ benchmark: {name}")
    print(
        f"entries {len(problem.variants)}, variants {len(flat)}, queries {len(problem.queries)} "
        f"({sum(1 for y in problem.labels if y != NONE)} in scope, {sum(1 for y in problem.labels if y == NONE)} "
        f"out of scope); encoder {tag}; matcher {params}; encoding+scoring {encode_s:.1f}s"
    )
    print(adapt_note)

    tuned_th = None
    bm25_th = Thresholds(args.bm25_threshold, args.bm25_threshold, 0.0)
    if tuning is not None:
        tv = encode_cached(encoder, tag, tuning.queries, "query", cache)
        t_scores = steward.score_all(tuning.queries, tv)
        found = tune(
            t_scores,
            tuning.labels,
            max_wrong=args.max_wrong,
            min_oos=args.min_oos,
            margins=MARGINS,
        )
        if found is not None:
            # The suggest threshold: as low as possible while at most --max-oos-suggested of the
            # out-of-scope val queries get "Did you mean" buttons (noise for the group).
            a, m = found[0].answer, found[0].margin
            suggest = a
            for cand in np.linspace(a, a - 0.2, 81):
                c = count(tuning.labels, decide(t_scores, Thresholds(a, float(cand), m)))
                if c.suggested_oos > args.max_oos_suggested * max(1, c.oos):
                    break
                suggest = float(cand)
            tuned_th = Thresholds(a, suggest, m)
            print(
                f"tuned on val (wrong ≤ {args.max_wrong:.1%}, no-answer/oos ≥ {args.min_oos:.0%}): "
                f"answer ≥ {tuned_th.answer:.4f}, margin ≥ {tuned_th.margin:.3f}, suggest ≥ {tuned_th.suggest:.4f}"
                f"  val: {found[1].row()}"
            )
        b_scores = np.stack([bm25.scores(q) for q in tuning.queries])
        found_b = tune(b_scores, tuning.labels, max_wrong=args.max_wrong, min_oos=args.min_oos, margins=[0.0])
        if found_b is not None:
            bm25_th = found_b[0]
            print(f"BM25 threshold tuned on val the same way: {bm25_th.answer:.2f}")
        else:
            print("BM25: no threshold meets the error budget on val; using --bm25-threshold")

    rows: list[tuple[str, Counts]] = []
    shipped_counts = count(problem.labels, decide(steward_scores, shipped))
    rows.append(
        (
            f"Steward (shipped: answer {shipped.answer:.3f}, suggest {shipped.suggest:.3f}, "
            f"margin {shipped.margin:.3f})",
            shipped_counts,
        )
    )
    if tuned_th is not None:
        rows.append(
            (
                f"Steward (tuned on val: answer {tuned_th.answer:.3f}, margin {tuned_th.margin:.3f}, "
                f"suggest {tuned_th.suggest:.3f})",
                count(problem.labels, decide(steward_scores, tuned_th)),
            )
        )
    rows.append(("Rose-style keyword filter (keyword = entry id)", count(problem.labels, rose.decide(problem.queries))))
    rows.append(
        (f"plain BM25 (words, answer ≥ {bm25_th.answer:.2f})", count(problem.labels, decide(bm25_scores, bm25_th)))
    )

    print()
    print(f"{'system':<72} {HEADER}")
    for label, c in rows:
        print(f"{label:<72} {c.row()}   n={c.total}")

    langs = sorted({lang for lang in problem.langs if lang})
    if langs:
        print("\nper language (Steward, shipped thresholds):")
        decisions = decide(steward_scores, shipped)
        for lang in langs:
            mask = [lg == lang for lg in problem.langs]
            c = count(problem.labels, decisions, mask)
            print(f"  {lang:<6} {c.row()}   n={c.total}")

    print("\nthreshold curve (Steward on this evaluation set, margin and suggest gap as shipped):")
    print(f"  {'answer':>7}  {HEADER}")
    tops = steward_scores.max(axis=1)
    lo, hi = float(np.quantile(tops, 0.05)), float(np.quantile(tops, 0.995))
    for a in np.linspace(lo, hi, 12):
        th = Thresholds(float(a), float(a) - (shipped.answer - shipped.suggest), shipped.margin)
        print(f"  {a:7.4f}  {count(problem.labels, decide(steward_scores, th)).row()}")
    result = shipped_counts.as_json()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    defaults = FaqSettings()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kb", help="knowledge base in the import format (TOML)")
    p.add_argument("--queries", help='JSONL of {"text": …, "faq": id or null}')
    p.add_argument("--dataset", choices=["clinc150"], help="built-in dataset mode")
    p.add_argument("--encoder", default=defaults.encoder, help="as faq.encoder in the config (default: %(default)s)")
    p.add_argument(
        "--adapt",
        action=argparse.BooleanOptionalAction,
        default=defaults.adapt,
        help="fine-tune the encoder's top blocks on the knowledge base first, as the bot does (default: %(default)s)",
    )
    p.add_argument(
        "--english-encoder",
        default=defaults.english_encoder,
        help="with --adapt: the English-only encoder of the English view, '' for none (default: %(default)s)",
    )
    p.add_argument("--answer", type=float, help="answer threshold (default: the shipped one)")
    p.add_argument("--suggest", type=float, help="suggest threshold (default: the shipped one)")
    p.add_argument("--margin", type=float, help="best minus second-best (default: the shipped one)")
    p.add_argument("--centroid-weight", type=float, default=MatcherParams().centroid_weight)
    p.add_argument("--lexical-weight", type=float, default=MatcherParams().lexical_weight)
    p.add_argument("--bm25-threshold", type=float, default=8.0, help="BM25 answer threshold in file mode")
    p.add_argument("--max-wrong", type=float, default=0.045, help="tuning: wrong answers / all queries")
    p.add_argument("--min-oos", type=float, default=0.90, help="tuning: unanswered out-of-scope queries")
    p.add_argument(
        "--max-oos-suggested", type=float, default=0.15, help="tuning: out-of-scope queries shown suggestions"
    )
    p.add_argument("--cache", default=str(ROOT / ".cache" / "faq-bench"), help="embedding cache ('' to disable)")
    p.add_argument("--json", action="store_true", help="print the Steward counts as JSON on the last line")
    args = p.parse_args(argv)
    if not args.dataset and not (args.kb and args.queries):
        p.error("give --kb and --queries, or --dataset clinc150")
    result = run(args)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
