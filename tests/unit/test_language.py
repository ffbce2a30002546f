"""The light language detector (no model)."""

from __future__ import annotations

import pytest

from models.language import detect_language, dominant_language, looks_english, sentiment_support


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hello everyone, what is the schedule for today?", "en"),
        ("Привет всем, какое расписание на сегодня?", "ru"),
        ("Привіт усім, що сьогодні є в програмі?", "uk"),
        ("שלום לכולם, מה הלוח זמנים היום?", "he"),
        ("مرحبا بالجميع ما هو الجدول اليوم", "ar"),
        ("Bonjour à tous, je ne sais pas où est la salle", "fr"),
        ("Hola a todos, ¿qué es lo que pasa con el evento?", "es"),
        ("Hallo, ich bin nicht sicher, ob das gut ist", "de"),
    ],
)
def test_detects_common_languages(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "ok", "👍👍👍", "12345", "https://example.com/some/path"])
def test_unsure_returns_none(text: str) -> None:
    assert detect_language(text) is None


def test_dominant_language_and_support() -> None:
    msgs = ["Привет всем, как дела?"] * 6 + ["ok"] * 3 + ["Hello, how are you all doing?"] * 2
    assert dominant_language(msgs) == "ru"
    assert dominant_language(["ok"] * 10) is None
    assert sentiment_support("he") == (True, None)
    ok, better = sentiment_support("uk")
    assert not ok and better is not None and "/" in better


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("What is the refund policy?", True),
        ("refund policy?", True),  # no stopword at all: Latin text with no sign of another language
        ("set a 4 minute timer", True),  # a lone "a" is not Portuguese
        ("Где взять API ключ?", False),
        ("איך מאפסים סיסמה?", False),
        ("Où est la gare?", False),
        ("Wo ist der Bahnhof, bitte?", False),
        ("¿Dónde está la estación de tren?", False),
        ("👍👍", False),
    ],
)
def test_looks_english_decides_what_an_english_only_encoder_reads(text: str, english: bool) -> None:
    assert looks_english(text) is english
