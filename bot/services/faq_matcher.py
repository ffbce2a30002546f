"""FAQ matching: a hybrid of sentence-embedding similarity and a character n-gram lexical score,
with three bands (answer, suggest, abstain). Pure numpy: no aiogram, no storage, no model loading.

For every entry the matcher computes

* ``semantic`` = ``(1 - centroid_weight) * max_v cos(q, v) + centroid_weight * cos(q, centroid)``
  over the entry's question variants ``v`` (the centroid is the normalised mean of the variants);
* ``lexical`` = the best TF-IDF cosine of character 3–5-grams between the query and a variant
  (any script, see :mod:`bot.services.faq_lexical`);
* ``score`` = ``(semantic + lexical_weight * lexical) / (1 + lexical_weight)`` (so it stays in [-1, 1]),
  plus ``cross_lingual_offset`` when the question is written in another script than every phrasing of
  the entry (cross-lingual cosines are systematically lower; without it a Russian or Hebrew question
  would never reach an English entry's answer band).

With an English view (``english_view`` > 0, models/faq_adapter.TwoViewAdapter) the last
``english_view`` numbers of every vector come from an English-only encoder and are zero for text it
cannot read. Where the question and a phrasing both have them, that phrasing's cosine is
``(1 - english_weight) * primary + english_weight * english`` (likewise for the centroids), and the
entry's score gets ``english_offset``, which puts the mix on the primary encoder's threshold scale.

The best entry is **answered** when its score reaches ``answer`` *and* beats the second-best
entry by at least ``margin`` (two near-equal entries mean the bot is not sure which one is
meant); otherwise entries scoring at least ``suggest`` are **suggested** (up to three);
otherwise the matcher **abstains**.

Scores live on the encoder's cosine scale: multilingual-e5 compresses cosines into roughly
0.7–0.95, so its thresholds sit high (see docs/faq.md and benchmarks/faq.py for the curve).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from bot.services.faq_lexical import CharNgramTfidf, dominant_script

__all__ = [
    "Band",
    "Candidate",
    "FaqIndex",
    "IndexedEntry",
    "Match",
    "MatcherParams",
    "TextEncoder",
    "Thresholds",
]

Band = Literal["answer", "suggest", "abstain"]
Vectors = npt.NDArray[np.float32]


@runtime_checkable
class TextEncoder(Protocol):
    """The contract of models.encoder: L2-normalised float32 rows, e5 prefixes applied inside."""

    dim: int

    def encode_queries(self, texts: list[str]) -> Vectors: ...

    def encode_passages(self, texts: list[str]) -> Vectors: ...


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float
    suggest: float
    margin: float = 0.0

    def __post_init__(self) -> None:
        if self.suggest > self.answer:
            raise ValueError(f"suggest threshold {self.suggest} is above the answer threshold {self.answer}")


@dataclass(frozen=True, slots=True)
class MatcherParams:
    # Picked on CLINC150 validation data (benchmarks/faq.py); see docs/faq.md.
    centroid_weight: float = 0.7
    lexical_weight: float = 0.05
    # Added to an entry's score when the question is in another script than all of the entry's phrasings
    # (a Russian question, an English entry): e5 cosines across languages run about 0.04-0.08 lower for
    # the same meaning, and the out-of-scope ones about 0.04 lower, on benchmarks/data/faq_probe_*.
    cross_lingual_offset: float = 0.04
    max_suggestions: int = 3
    # The English view (see the module docstring); 0: none. Picked on CLINC150 val (benchmarks/faq.py):
    # the mix is more precise than e5 alone at the same score, so it needs a lower bar: with margin 0.10
    # e5 alone reaches 4.5 % wrong answers at 0.52, the mix at 0.49. The offset lets one set of
    # thresholds serve English questions (mix) and the others (e5 alone).
    english_view: int = 0
    english_weight: float = 0.7
    english_offset: float = 0.03

    def adapted(self) -> MatcherParams:
        """The parameters for an encoder adapted to the knowledge base (models/faq_adapter.py).

        Fine-tuning on the (usually English) phrasings pulls same-language paraphrases together more
        than translations: on benchmarks/data/faq_probe_* the right entry's score for a Russian or
        Hebrew question runs 0.1-0.2 below the English paraphrase's, and out-of-scope questions in
        those languages about 0.1 below English ones, so the offset grows to 0.10."""
        return replace(self, cross_lingual_offset=0.10)

    def with_english_view(self, width: int) -> MatcherParams:
        return replace(self, english_view=width)


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    entry_id: int
    variants: tuple[str, ...]
    vectors: Vectors  # one L2-normalised row per variant
    thread_id: int | None = None  # only matches in this forum topic when set


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: int
    score: float
    semantic: float
    lexical: float


@dataclass(frozen=True, slots=True)
class Match:
    band: Band
    candidates: list[Candidate] = field(default_factory=list)  # best first, at most max_suggestions

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class FaqIndex:
    """An immutable index over one community's entries (its own plus the global ones)."""

    def __init__(self, entries: Sequence[IndexedEntry], params: MatcherParams | None = None) -> None:
        self.params = params or MatcherParams()
        self.entries = [e for e in entries if len(e.variants) and e.vectors.shape[0] == len(e.variants)]
        self._owner = np.array([i for i, e in enumerate(self.entries) for _ in e.variants], dtype=np.int64)
        texts = [v for e in self.entries for v in e.variants]
        width = self.params.english_view
        if self.entries:
            vectors = np.concatenate([e.vectors for e in self.entries]).astype(np.float32)
        else:
            vectors = np.zeros((0, 0), dtype=np.float32)
        if width and vectors.shape[1] > width:
            self._vectors, english = vectors[:, :-width], vectors[:, -width:]
            self._english: Vectors | None = english
            self._variant_english = np.abs(english).sum(axis=1) > 0
            self._english_centroids = self._centroids_of(english, self._variant_english)
            self._entry_english = self._per_entry_max(self._variant_english.astype(np.float32)) > 0
        else:
            self._vectors, self._english = vectors, None
        self._centroids = self._centroids_of(self._vectors, np.ones(len(self._vectors), dtype=bool))
        self._lexical = CharNgramTfidf(texts)
        self._scripts = [frozenset(filter(None, (dominant_script(v) for v in e.variants))) for e in self.entries]
        self._threads = np.array([-1 if e.thread_id is None else e.thread_id for e in self.entries], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.entries)

    def _centroids_of(self, vectors: Vectors, use: npt.NDArray[np.bool_]) -> Vectors:
        """The normalised mean of each entry's rows where ``use`` (a zero row for an entry without any)."""
        sums = np.zeros((len(self.entries), vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
        np.add.at(sums, self._owner[use], vectors[use])
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32)

    def _per_entry_max(self, values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = np.full(len(self.entries), -np.inf, dtype=np.float32)
        np.maximum.at(out, self._owner, values)
        return out

    def scores(self, text: str, query: Vectors) -> tuple[Vectors, Vectors, Vectors]:
        """(score, semantic, lexical) per entry for one query (``query`` is one normalised row)."""
        p = self.params
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        offset = np.zeros(len(self.entries), dtype=np.float32)
        if self._english is not None:
            q, q_english = q[: -p.english_view], q[-p.english_view :]
        variant = self._vectors @ q
        centroid = self._centroids @ q
        if self._english is not None and np.any(q_english):
            w = np.float32(p.english_weight)
            variant = np.where(self._variant_english, (1 - w) * variant + w * (self._english @ q_english), variant)
            mixed = (1 - w) * centroid + w * (self._english_centroids @ q_english)
            centroid = np.where(self._entry_english, mixed, centroid)
            offset = np.where(self._entry_english, np.float32(p.english_offset), offset)
        best_variant = self._per_entry_max(variant.astype(np.float32))
        semantic = (1.0 - p.centroid_weight) * best_variant + p.centroid_weight * centroid
        lexical = self._per_entry_max(self._lexical.scores(text))
        score = (semantic + p.lexical_weight * lexical) / (1.0 + p.lexical_weight) + offset
        script = dominant_script(text)
        if script is not None and p.cross_lingual_offset:
            foreign = np.array([bool(s) and script not in s for s in self._scripts], dtype=bool)
            score = score + np.where(foreign, np.float32(p.cross_lingual_offset), np.float32(0.0))
        return score.astype(np.float32), semantic, lexical

    def match(self, text: str, query: Vectors, thresholds: Thresholds, *, thread_id: int | None = None) -> Match:
        if not self.entries:
            return Match("abstain")
        score, semantic, lexical = self.scores(text, query)
        # Topic-bound entries only match in their topic.
        allowed = (self._threads < 0) | (self._threads == (-2 if thread_id is None else thread_id))
        score = np.where(allowed, score, -np.inf)
        order = np.argsort(-score, kind="stable")
        order = order[np.isfinite(score[order])]
        if not len(order):
            return Match("abstain")

        def cand(i: int) -> Candidate:
            return Candidate(self.entries[i].entry_id, float(score[i]), float(semantic[i]), float(lexical[i]))

        best = float(score[order[0]])
        second = float(score[order[1]]) if len(order) > 1 else -np.inf
        if best >= thresholds.answer and best - second >= thresholds.margin:
            return Match("answer", [cand(int(i)) for i in order[: self.params.max_suggestions]])
        suggested = [cand(int(i)) for i in order[: self.params.max_suggestions] if score[i] >= thresholds.suggest]
        if suggested:
            return Match("suggest", suggested)
        return Match("abstain", [cand(int(order[0]))])
