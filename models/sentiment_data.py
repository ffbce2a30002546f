"""Readers for the sentiment datasets in ``../shared/datasets`` (research-only data: never copied into the repo).

Every reader returns ``Example`` rows with a label in ``negative|neutral|positive`` and a language code.
Labels of 2-class sets (Hebrew) are ``negative|positive`` only.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.textsafety import compile_pattern

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
LABEL_ID = {name: i for i, name in enumerate(LABELS)}
DEFAULT_DATA_DIR = Path("../shared/datasets")

UMSAB_LANGS = {
    "arabic": "ar",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "portuguese": "pt",
    "spanish": "es",
}
DATASETS = ("tweeteval", "umsab", "rusentitweet", "cedr", "hebrew", "sst3")
TWO_CLASS = frozenset({"hebrew"})

_USER = compile_pattern(
    r"(?<![\w@])@\w+", name="sentiment.user", engine="re", why="a one-character look-behind, a literal, one class"
)
_URL = compile_pattern(
    r"(?:https?://|www\.)\S+", name="sentiment.url", engine="re", why="a literal prefix, then one class"
)


def preprocess(text: str) -> str:
    """cardiffnlp-style preprocessing: ``@name`` → ``@user``, links → ``http``; whitespace collapsed."""
    text = _USER.sub("@user", text)
    text = _URL.sub("http", text)
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    lang: str
    source: str


def _tsv(path: Path, lang: str, source: str) -> list[Example]:
    out: list[Example] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 2:
                continue
            text, label = "\t".join(row[:-1]).strip(), row[-1].strip()
            if label in LABEL_ID and text:
                out.append(Example(text, label, lang, source))
    return out


def _lines(text_path: Path, label_path: Path, lang: str, source: str) -> list[Example]:
    texts = text_path.read_text("utf-8").split("\n")
    labels = label_path.read_text("utf-8").split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    if labels and labels[-1] == "":
        labels.pop()
    if len(texts) != len(labels):
        raise ValueError(f"{text_path}: {len(texts)} texts but {len(labels)} labels")
    return [Example(t.strip(), LABELS[int(y)], lang, source) for t, y in zip(texts, labels, strict=True)]


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"dataset file not found: {path} (pass --data-dir)")
    return path


def load_split(name: str, split: str, data_dir: Path = DEFAULT_DATA_DIR) -> list[Example]:
    """``split`` is ``train``, ``val`` or ``test``; sets without a val split raise ``KeyError``."""
    d = Path(data_dir)
    if name == "tweeteval":
        if split == "train":
            return semeval_train(d)
        base = _require(d / "tweeteval-sentiment")
        return _lines(base / f"{split}_text.txt", base / f"{split}_labels.txt", "en", "tweeteval")
    if name == "umsab":
        out: list[Example] = []
        for folder, lang in UMSAB_LANGS.items():
            base = _require(d / "umsab" / folder)
            out += _lines(base / f"{split}_text.txt", base / f"{split}_labels.txt", lang, "umsab")
        return out
    if name == "rusentitweet":
        if split == "val":
            raise KeyError("rusentitweet has no val split")
        rows = _tsv(_require(d / "rusentitweet" / f"{split}.tsv"), "ru", "rusentitweet")
        return rows
    if name == "cedr":
        if split == "val":
            raise KeyError("cedr has no val split")
        return _tsv(_require(d / "cedr-ru-derived-sentiment" / f"{split}.tsv"), "ru", "cedr")
    if name == "hebrew":
        fname = {"train": "train", "val": "dev", "test": "test"}[split]
        return _tsv(_require(d / "hebrew-sentiment-amram2018" / f"{fname}.tsv"), "he", "hebrew")
    if name == "sst3":
        fname = {"train": "train", "val": "dev", "test": "test"}[split]
        return _tsv(_require(d / "sst3-en" / f"{fname}.tsv"), "en", "sst3")
    raise KeyError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")


def semeval_train(d: Path) -> list[Example]:
    """SemEval 2013–2016 pool minus the 1,790 rows that duplicate TweetEval val (val picks the model)."""
    base = _require(d / "semeval-2013-2016-task4a-en")
    rows = _tsv(base / "train.tsv", "en", "semeval")
    origin = base / "train_origin.tsv"
    if not origin.exists():
        return rows
    flags = origin.read_text("utf-8").split("\n")[1:]
    keep = [not (len(f.split("\t")) > 2 and f.split("\t")[2].strip() == "1") for f in flags if f.strip()]
    if len(keep) != len(rows):
        return rows
    return [r for r, k in zip(rows, keep, strict=True) if k]


def rusentitweet_speech_acts(d: Path) -> list[Example]:
    """Greetings, thanks and congratulations: positive for a community manager."""
    path = d / "rusentitweet" / "speech_act_train.tsv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Example(row[0].strip(), "positive", "ru", "rusentitweet-speech")
            for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            if row and row[0].strip()
        ]


def iter_training_sets(d: Path) -> Iterator[tuple[str, list[Example]]]:
    """Every train split we have, all languages."""
    yield "semeval", semeval_train(d)
    yield "umsab", load_split("umsab", "train", d)
    yield "rusentitweet", load_split("rusentitweet", "train", d) + rusentitweet_speech_acts(d)
    yield "cedr", load_split("cedr", "train", d)
    yield "hebrew", load_split("hebrew", "train", d)
    yield "sst3", load_split("sst3", "train", d)


def iter_validation_sets(d: Path) -> Iterator[tuple[str, list[Example]]]:
    yield "tweeteval", load_split("tweeteval", "val", d)
    yield "umsab", load_split("umsab", "val", d)
    yield "hebrew", load_split("hebrew", "val", d)
    yield "sst3", load_split("sst3", "val", d)
