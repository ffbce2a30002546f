"""Spam seed data: tg-spam-samples (../shared/datasets, MIT) plus Steward's own English and Hebrew examples.

Split deterministically by a hash of the normalised text (so duplicates land in one split): 60 % train,
20 % dev (thresholds), 20 % test (final figures only). The language of a dataset line is its script:
Hebrew letters → he, Cyrillic → ru, otherwise en; the project's own files carry their language.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from models.spam_lexical import normalize

OWN_DIR = Path(__file__).parent / "data"
OWN_FILES = {"en": "spam_own_en.txt", "he": "spam_own_he.txt"}
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: int  # 1 spam, 0 ordinary
    lang: str
    source: str
    split: str


def script_language(text: str) -> str:
    hebrew = sum(1 for ch in text if "\u0590" <= ch <= "\u05ff")
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if hebrew and hebrew >= cyrillic:
        return "he"
    if cyrillic and cyrillic >= latin * 0.3:
        return "ru"
    return "en"


def split_of(text: str) -> str:
    bucket = int(hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()[:8], 16) % 10
    return "train" if bucket < 6 else "dev" if bucket < 8 else "test"


def load(dataset_dir: Path | None) -> list[Example]:
    """Every example, deduplicated by normalised text (a text both spam and ham is dropped)."""
    raw: list[tuple[str, int, str | None, str]] = []
    if dataset_dir is not None:
        for name, label in (("spam.txt", 1), ("ham.txt", 0)):
            for line in (dataset_dir / name).read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    raw.append((line.strip(), label, None, "tg-spam-samples"))
    for lang, name in OWN_FILES.items():
        for line in (OWN_DIR / name).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            kind, _, text = line.partition("\t")
            if kind not in ("spam", "ham") or not text.strip():
                raise ValueError(f"{name}: bad line {line[:60]!r}")
            raw.append((text.strip(), 1 if kind == "spam" else 0, lang, "steward"))
    seen: dict[str, set[int]] = {}
    for text, label, _, _ in raw:
        seen.setdefault(normalize(text), set()).add(label)
    out: list[Example] = []
    used: set[str] = set()
    for text, label, known, source in raw:
        key = normalize(text)
        if len(seen[key]) > 1 or key in used:
            continue
        used.add(key)
        out.append(Example(text, label, known or script_language(text), source, split_of(text)))
    return out
