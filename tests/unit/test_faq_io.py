"""The FAQ file format: every problem is reported with its position and field; valid files round-trip."""

from __future__ import annotations

import pytest

from bot.services.faq_io import FaqDraft, FaqFileError, dump_toml, parse_toml, validate_answer_html

GOOD = """
[[faq]]
id = "refund"
questions = ["What is the refund policy?", "Can I get my money back?"]
answer = "Full refund within 14 days of the start."
"""


def test_the_issue_shape_is_accepted() -> None:
    drafts, problems = parse_toml(GOOD)
    assert problems == []
    assert drafts == [
        FaqDraft(
            "refund",
            ("What is the refund policy?", "Can I get my money back?"),
            "Full refund within 14 days of the start.",
        )
    ]


def test_extensions_are_accepted() -> None:
    drafts, problems = parse_toml(
        GOOD
        + """
[[faq]]
id = "slides"
questions = ["Where are the slides?"]
answer = "In the <a href=\\"https://example.org\\">Files</a> tab."
enabled = false
topic = 42
buttons = [{ text = "Files", url = "https://example.org/files" }]
answers = { ru = "Во вкладке Файлы.", he = "בלשונית קבצים." }
"""
    )
    assert problems == []
    slides = drafts[1]
    assert (slides.enabled, slides.thread_id, slides.buttons) == (False, 42, (("Files", "https://example.org/files"),))
    assert slides.answers == {"ru": "Во вкладке Файлы.", "he": "בלשונית קבצים."}


def test_every_problem_names_position_and_field() -> None:
    text = (
        GOOD
        + """
[[faq]]
id = "refund"
questions = ["dup"]
answer = "x"

[[faq]]
id = "no answer"
questions = "not a list"

[[faq]]
id = "bad-html"
questions = ["q"]
answer = "<b>never closed"
buttons = [{ text = "t", url = "javascript:alert(1)" }]
colour = "red"
"""
    )
    drafts, problems = parse_toml(text)
    assert [d.key for d in drafts] == ["refund"]
    found = {(p.position, p.field) for p in problems}
    assert (2, "id") in found  # duplicate
    assert {(3, "id"), (3, "questions"), (3, "answer")} <= found
    assert {(4, "answer"), (4, "buttons[1].url"), (4, "colour")} <= found
    assert str(next(p for p in problems if p.position == 3 and p.field == "answer")).startswith(
        'entry 3 (id "no answer"): answer:'
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [("this is = = not toml", "not valid TOML"), ("title = 'x'", "unknown top-level"), ("", "no entries")],
)
def test_unreadable_files_are_refused_whole(text: str, error: str) -> None:
    with pytest.raises(FaqFileError, match=error):
        parse_toml(text)


def test_answer_html_is_checked() -> None:
    assert validate_answer_html("<b>ok</b> <i>fine</i>") is None
    assert "never closed" in (validate_answer_html("<b>open") or "")
    assert "not a tag" in (validate_answer_html("<script>x</script>") or "")
    assert "too long" in (validate_answer_html("x" * 5000) or "")
    assert validate_answer_html("   ") == "must not be empty"


def test_dump_and_parse_round_trip() -> None:
    drafts = [
        FaqDraft(
            "a",
            ('He said "hi"', "Кто? מי?"),
            "<b>x</b> \\ y\nline two",
            False,
            3,
            (("Link", "https://e.org/?a=1&b=2"),),
            {"he": "כן"},
        ),
        FaqDraft("b", ("q",), "answer"),
    ]
    again, problems = parse_toml(dump_toml(drafts, header="export"))
    assert problems == []
    assert [(d.key, d.questions, d.answer, d.enabled, d.thread_id, d.buttons, d.answers) for d in again] == [
        (d.key, d.questions, d.answer, d.enabled, d.thread_id, d.buttons, d.answers) for d in drafts
    ]
