"""The hybrid matcher: answer, suggest and abstain bands, the margin, topics, and the lexical score."""

from __future__ import annotations

import numpy as np
import pytest

from bot.services.faq_lexical import CharNgramTfidf, char_ngrams
from bot.services.faq_matcher import FaqIndex, IndexedEntry, MatcherParams, Thresholds


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def entry(entry_id: int, *rows: np.ndarray, thread_id: int | None = None) -> IndexedEntry:
    return IndexedEntry(entry_id, tuple(f"q{entry_id}-{i}" for i in range(len(rows))), np.stack(rows), thread_id)


# Embedding-only scores make the bands easy to reason about.
SEMANTIC = MatcherParams(centroid_weight=0.0, lexical_weight=0.0)
TH = Thresholds(answer=0.9, suggest=0.6, margin=0.05)


def test_answer_when_sure_and_clear_of_the_runner_up() -> None:
    index = FaqIndex([entry(1, unit(1, 0, 0)), entry(2, unit(0, 1, 0))], SEMANTIC)
    match = index.match("x", unit(1, 0.1, 0), TH)
    assert match.band == "answer"
    assert match.best is not None and match.best.entry_id == 1


def test_two_close_entries_are_suggested_not_answered() -> None:
    index = FaqIndex([entry(1, unit(1, 0.05, 0)), entry(2, unit(1, -0.05, 0)), entry(3, unit(0, 0, 1))], SEMANTIC)
    match = index.match("x", unit(1, 0, 0), TH)
    assert match.band == "suggest"
    assert {c.entry_id for c in match.candidates} == {1, 2}  # entry 3 is below the suggest threshold


def test_middle_band_suggests_up_to_three() -> None:
    rows = [unit(1, 0.2 + i / 10, 0) for i in range(5)]
    index = FaqIndex([entry(i + 1, r) for i, r in enumerate(rows)], SEMANTIC)
    match = index.match("x", unit(0, 1, 0), Thresholds(answer=0.95, suggest=0.1, margin=0.0))
    assert match.band == "suggest"
    assert len(match.candidates) == 3
    scores = [c.score for c in match.candidates]
    assert scores == sorted(scores, reverse=True)


def test_far_question_abstains_and_empty_index_abstains() -> None:
    index = FaqIndex([entry(1, unit(1, 0, 0))], SEMANTIC)
    assert index.match("x", unit(0, 1, 0), TH).band == "abstain"
    assert FaqIndex([], SEMANTIC).match("x", unit(0, 1, 0), TH).band == "abstain"


def test_best_variant_and_centroid_both_count() -> None:
    e = entry(1, unit(1, 0, 0), unit(0, 1, 0))
    q = unit(1, 0, 0)
    best_only = FaqIndex([e], MatcherParams(centroid_weight=0.0, lexical_weight=0.0)).scores("x", q)[0][0]
    centroid_only = FaqIndex([e], MatcherParams(centroid_weight=1.0, lexical_weight=0.0)).scores("x", q)[0][0]
    assert best_only == pytest.approx(1.0)
    assert centroid_only == pytest.approx(np.sqrt(0.5), rel=1e-5)


def test_topic_bound_entries_match_only_in_their_topic() -> None:
    index = FaqIndex([entry(1, unit(1, 0, 0), thread_id=7), entry(2, unit(0.8, 0.6, 0))], SEMANTIC)
    q = unit(1, 0, 0)
    in_topic = index.match("x", q, TH, thread_id=7)
    elsewhere = index.match("x", q, TH, thread_id=None)
    assert in_topic.best is not None and in_topic.best.entry_id == 1
    assert elsewhere.best is not None and elsewhere.best.entry_id == 2


def test_lexical_score_breaks_a_semantic_tie() -> None:
    same = unit(1, 0, 0)
    a = IndexedEntry(1, ("What is the refund policy?",), np.stack([same]))
    b = IndexedEntry(2, ("Where is the parking?",), np.stack([same]))
    index = FaqIndex([a, b], MatcherParams(centroid_weight=0.0, lexical_weight=0.2))
    match = index.match("refund policy please", same, Thresholds(answer=0.5, suggest=0.3, margin=0.01))
    assert match.band == "answer" and match.best is not None and match.best.entry_id == 1


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        Thresholds(answer=0.5, suggest=0.7)


def test_char_ngrams_keep_words_apart() -> None:
    # "lads" must not match inside "salads" the way a substring keyword filter does.
    tfidf = CharNgramTfidf(["fresh salads every day", "hello lads"])
    scores = tfidf.scores("lads")
    assert scores[1] > 3 * scores[0]


@pytest.mark.parametrize(
    ("query", "docs", "expected"),
    [
        ("сбросить пароль", ["как сбросить пароль", "где расписание"], 0),
        ("паролю", ["как сбросить пароль", "где расписание"], 0),  # inflection shares n-grams
        ("הסיסמה", ["איך מאפסים סיסמה", "מתי השיעור"], 0),
        ("refunds", ["refund policy", "parking"], 0),
    ],
)
def test_lexical_score_works_on_any_script(query: str, docs: list[str], expected: int) -> None:
    scores = CharNgramTfidf(docs).scores(query)
    assert int(np.argmax(scores)) == expected
    assert scores[expected] > 0.1


def test_char_ngrams_normalise_case_and_niqqud() -> None:
    assert char_ngrams("Пароль") == char_ngrams("пароль")
    assert char_ngrams("שָׁלוֹם") == char_ngrams("שלום")


def test_a_question_in_another_script_gets_the_cross_lingual_offset() -> None:
    v = unit(1, 0, 0)
    index = FaqIndex(
        [IndexedEntry(1, ("How do I reset my password?",), np.stack([v]))],
        MatcherParams(centroid_weight=0.0, lexical_weight=0.0, cross_lingual_offset=0.04),
    )
    same = index.scores("how to reset the password", v)[0][0]
    russian = index.scores("как сбросить пароль", v)[0][0]
    hebrew = index.scores("איך מאפסים סיסמה", v)[0][0]
    assert same == pytest.approx(1.0)
    assert russian == pytest.approx(1.04) and hebrew == pytest.approx(1.04)


# --- the English view (models/faq_adapter.TwoViewAdapter): [primary | english] per vector ----------------

ENGLISH = MatcherParams(centroid_weight=0.0, lexical_weight=0.0, cross_lingual_offset=0.0).with_english_view(2)


def two_views(primary: np.ndarray, english: np.ndarray | None) -> np.ndarray:
    return np.concatenate([primary, english if english is not None else np.zeros(2, np.float32)])


def test_where_both_sides_read_english_the_two_cosines_are_mixed_and_offset() -> None:
    phrasing = two_views(unit(1, 0, 0), unit(1, 0))
    index = FaqIndex([entry(1, phrasing)], ENGLISH)
    question = two_views(unit(1, 1, 0), unit(1, 1))
    score, _, _ = index.scores("how do I reset my password", question)
    primary, english = float(unit(1, 0, 0) @ unit(1, 1, 0)), float(unit(1, 0) @ unit(1, 1))
    w = ENGLISH.english_weight
    assert score[0] == pytest.approx((1 - w) * primary + w * english + ENGLISH.english_offset, abs=1e-6)


def test_a_question_the_english_encoder_cannot_read_is_scored_by_the_primary_view_alone() -> None:
    index = FaqIndex([entry(1, two_views(unit(1, 0, 0), unit(1, 0)))], ENGLISH)
    score, _, _ = index.scores("как сбросить пароль", two_views(unit(1, 1, 0), None))
    assert score[0] == pytest.approx(float(unit(1, 0, 0) @ unit(1, 1, 0)), abs=1e-6)


def test_an_entry_without_english_phrasings_is_scored_by_the_primary_view_alone() -> None:
    # Entry 1 is English; entry 2 is written in Russian only (its English half is zero).
    english, russian = two_views(unit(0, 1, 0), unit(0, 1)), two_views(unit(1, 0, 0), None)
    index = FaqIndex([entry(1, english), entry(2, russian)], ENGLISH)
    score, _, _ = index.scores("reset password", two_views(unit(1, 0.5, 0), unit(1, 0)))
    assert score[1] == pytest.approx(float(unit(1, 0, 0) @ unit(1, 0.5, 0)), abs=1e-6)
    w = ENGLISH.english_weight
    primary = float(unit(0, 1, 0) @ unit(1, 0.5, 0))
    assert score[0] == pytest.approx((1 - w) * primary + ENGLISH.english_offset, abs=1e-6)


def test_the_english_view_changes_which_entry_wins() -> None:
    # The primary view slightly prefers entry 2; the English view clearly prefers entry 1.
    rows = [two_views(unit(1, 0.3, 0), unit(1, 0)), two_views(unit(1, 0, 0), unit(0, 1))]
    question = two_views(unit(1, 0.05, 0), unit(1, 0.1))
    primary_only = FaqIndex([entry(1, rows[0][:3]), entry(2, rows[1][:3])], ENGLISH.with_english_view(0))
    alone = primary_only.match("x", question[:3], Thresholds(0.0, 0.0))
    assert alone.best is not None and alone.best.entry_id == 2
    mixed = FaqIndex([entry(1, rows[0]), entry(2, rows[1])], ENGLISH).match("x", question, Thresholds(0.0, 0.0))
    assert mixed.best is not None and mixed.best.entry_id == 1
