"""A lexical score that works on any script: TF-IDF over character n-grams, cosine similarity.

Character n-grams inside word boundaries (" ref", "refu", "fund ") survive inflection
("refund"/"refunds", "пароль"/"пароля", "הסיסמה"/"סיסמה") and need no tokenizer or stemmer
per language, so Russian and Hebrew work the same as English. Short words are padded with
spaces, so "lads" and "salads" share little ("lads" ≠ " lads " inside "salads").

Pure Python + numpy; an inverted index keeps scoring a query proportional to its n-grams.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bot.textsafety import compile_pattern

__all__ = ["CharNgramTfidf", "char_ngrams", "dominant_script", "normalise_for_lexical"]

_NON_WORD = compile_pattern(r"[\W_]+", name="faq_lexical.non_word", engine="re", why="one character class, repeated")
# Hebrew niqqud and other combining marks carry no meaning for matching.
_MARKS = compile_pattern(r"[\u0591-\u05c7\u0300-\u036f]", name="faq_lexical.marks", engine="re", why="one character")


def normalise_for_lexical(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    text = _MARKS.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def dominant_script(text: str) -> str | None:
    """The script most letters are written in ("LATIN", "CYRILLIC", "HEBREW", …), or None without letters."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            if name:
                counts[name.split(" ", 1)[0]] += 1
    return counts.most_common(1)[0][0] if counts else None


def char_ngrams(text: str, sizes: Sequence[int] = (3, 4, 5)) -> Counter[str]:
    """Counts of the n-grams of each word padded with spaces (like scikit-learn's ``char_wb``)."""
    grams: Counter[str] = Counter()
    for word in normalise_for_lexical(text).split():
        padded = f" {word} "
        for n in sizes:
            if len(padded) < n:
                continue
            for i in range(len(padded) - n + 1):
                grams[padded[i : i + n]] += 1
    return grams


class CharNgramTfidf:
    """Sublinear TF-IDF vectors of the documents; ``scores(query)`` gives the cosine to each one."""

    def __init__(self, documents: Sequence[str], sizes: Sequence[int] = (3, 4, 5)) -> None:
        self.sizes = tuple(sizes)
        self.size = len(documents)
        counts = [char_ngrams(doc, self.sizes) for doc in documents]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        n = max(1, self.size)
        self.idf = {gram: math.log((1 + n) / (1 + d)) + 1.0 for gram, d in df.items()}
        self._default_idf = math.log(1 + n) + 1.0  # an n-gram no document has
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for doc_id, c in enumerate(counts):
            weights = {g: (1.0 + math.log(tf)) * self.idf[g] for g, tf in c.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for g, w in weights.items():
                postings[g].append((doc_id, w / norm))
        # One (doc ids, weights) pair of arrays per n-gram: scoring is a bincount, not a Python loop.
        self.postings: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {
            g: (np.array([d for d, _ in p], dtype=np.int64), np.array([w for _, w in p], dtype=np.float32))
            for g, p in postings.items()
        }

    def scores(self, query: str) -> npt.NDArray[np.float32]:
        out = np.zeros(self.size, dtype=np.float32)
        c = char_ngrams(query, self.sizes)
        if not c or not self.size:
            return out
        weights = {g: (1.0 + math.log(tf)) * self.idf.get(g, self._default_idf) for g, tf in c.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        ids: list[npt.NDArray[np.int64]] = []
        values: list[npt.NDArray[np.float32]] = []
        for g, w in weights.items():
            posting = self.postings.get(g)
            if posting is not None:
                ids.append(posting[0])
                values.append(posting[1] * np.float32(w / norm))
        if not ids:
            return out
        return np.bincount(np.concatenate(ids), weights=np.concatenate(values), minlength=self.size).astype(np.float32)
