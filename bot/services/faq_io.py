"""The FAQ file format (TOML): parsing with per-entry validation, and writing it back.

::

    [[faq]]
    id = "refund"                                   # required: letters, digits, - and _ (1-64)
    questions = ["What is the refund policy?", "Can I get my money back?"]   # required, 1-50
    answer = "Full refund within <b>14 days</b> of the start."               # required, HTML
    enabled = true                                  # optional (default true)
    topic = 42                                      # optional: only answer in this forum topic
    buttons = [{ text = "Policy", url = "https://example.org/refunds" }]     # optional, up to 6
    answers = { ru = "Полный возврат в течение 14 дней.", he = "החזר מלא תוך 14 יום." }  # optional

A broken entry is reported with its position (1-based) and the field, for example
``entry 3 (id "refund"): questions: must be a list of 1-50 non-empty strings``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.services.posts_rules import TELEGRAM_TAGS
from bot.telegram.split import visible_html_len
from bot.textsafety import compile_pattern

__all__ = [
    "ANSWER_LIMIT",
    "FaqDraft",
    "FaqFileError",
    "FaqProblem",
    "dump_toml",
    "parse_toml",
    "validate_answer_html",
    "validate_entries",
]

KEY_RE = compile_pattern(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", name="faq_io.key")
MAX_QUESTIONS = 50
QUESTION_LIMIT = 500
ANSWER_LIMIT = 3500  # leaves room for the buttons' text and a header in one 4096-character message
MAX_BUTTONS = 6
LANGUAGE_RE = compile_pattern(r"^[a-z]{2}$", name="faq_io.language")
URL_RE = compile_pattern(r"^(https?|tg)://\S+$", name="faq_io.url", engine="re", why="a literal, then one class")
KNOWN_FIELDS = {"id", "questions", "answer", "enabled", "topic", "buttons", "answers"}
_ALLOWED_TAGS = TELEGRAM_TAGS | {"blockquote", "tg-emoji"}  # answers may also quote and use custom emoji
# Answers come from import files and admins: RE2, so "<a<a<a…" with no ">" cannot take quadratic time.
_TAG_RE = compile_pattern(r"<\s*(/?)\s*([a-zA-Z-]+)([^>]*)>", name="faq_io.tag")
# No answer this long can fit a message; refuse it before looking at its tags.
_RAW_ANSWER_LIMIT = 8 * ANSWER_LIMIT


class FaqFileError(Exception):
    """The file as a whole cannot be read (not TOML, no [[faq]] list)."""


@dataclass(frozen=True, slots=True)
class FaqProblem:
    position: int  # 1-based entry number in the file
    key: str | None
    field: str
    message: str

    def __str__(self) -> str:
        who = f"entry {self.position}" + (f" (id {json.dumps(self.key, ensure_ascii=False)})" if self.key else "")
        return f"{who}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class FaqDraft:
    """One validated entry, ready to be saved."""

    key: str
    questions: tuple[str, ...]
    answer: str
    enabled: bool = True
    thread_id: int | None = None
    buttons: tuple[tuple[str, str], ...] = ()
    answers: dict[str, str] = field(default_factory=dict)


def validate_answer_html(text: str) -> str | None:
    """None when ``text`` is acceptable Telegram HTML, else why not."""
    if not text.strip():
        return "must not be empty"
    if len(text) > _RAW_ANSWER_LIMIT:
        return f"is too long ({len(text)} characters with markup; at most {ANSWER_LIMIT} visible)"
    stack: list[str] = []
    for match in _TAG_RE.finditer(text):
        closing, tag = match.group(1) == "/", match.group(2).lower()
        if tag not in _ALLOWED_TAGS:
            return f"<{tag}> is not a tag Telegram accepts (use b, i, u, s, a, code, pre, blockquote)"
        if closing:
            if not stack or stack[-1] != tag:
                return f"</{tag}> does not close an open tag"
            stack.pop()
        else:
            stack.append(tag)
    if stack:
        return f"<{stack[-1]}> is never closed"
    try:
        length = visible_html_len(text)
    except Exception:
        length = len(text)
    if length > ANSWER_LIMIT:
        return f"is too long ({length} characters; at most {ANSWER_LIMIT})"
    return None


def _problem(problems: list[FaqProblem], pos: int, key: str | None, fld: str, msg: str) -> None:
    problems.append(FaqProblem(pos, key, fld, msg))


def validate_entries(raw: Iterable[Any]) -> tuple[list[FaqDraft], list[FaqProblem]]:
    """Validate every entry; return the good drafts and every problem found (all of them)."""
    drafts: list[FaqDraft] = []
    problems: list[FaqProblem] = []
    seen: dict[str, int] = {}
    for pos, item in enumerate(raw, start=1):
        before = len(problems)
        if not isinstance(item, dict):
            _problem(problems, pos, None, "faq", "must be a table ([[faq]] with id, questions, answer)")
            continue
        key_value = item.get("id")
        key = key_value if isinstance(key_value, str) else None
        for unknown in sorted(set(item) - KNOWN_FIELDS):
            _problem(problems, pos, key, unknown, f"unknown field (known: {', '.join(sorted(KNOWN_FIELDS))})")
        if key is None or not KEY_RE.match(key):
            _problem(
                problems, pos, key, "id", "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit"
            )
        elif key in seen:
            _problem(problems, pos, key, "id", f"duplicates entry {seen[key]}")
        else:
            seen[key] = pos
        questions = item.get("questions")
        clean_questions: list[str] = []
        if (
            not isinstance(questions, list)
            or not 1 <= len(questions) <= MAX_QUESTIONS
            or not all(isinstance(q, str) and q.strip() for q in questions)
        ):
            _problem(problems, pos, key, "questions", f"must be a list of 1-{MAX_QUESTIONS} non-empty strings")
        else:
            for i, q in enumerate(questions, start=1):
                if len(q) > QUESTION_LIMIT:
                    _problem(problems, pos, key, f"questions[{i}]", f"is longer than {QUESTION_LIMIT} characters")
                clean_questions.append(" ".join(q.split()))
            clean_questions = list(dict.fromkeys(clean_questions))
        answer = item.get("answer")
        if not isinstance(answer, str):
            _problem(problems, pos, key, "answer", "must be a string (HTML)")
        else:
            why = validate_answer_html(answer)
            if why:
                _problem(problems, pos, key, "answer", why)
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            _problem(problems, pos, key, "enabled", "must be true or false")
        topic = item.get("topic")
        if topic is not None and (not isinstance(topic, int) or isinstance(topic, bool) or topic <= 0):
            _problem(problems, pos, key, "topic", "must be a positive forum topic id (message_thread_id)")
        buttons: list[tuple[str, str]] = []
        raw_buttons = item.get("buttons", [])
        if not isinstance(raw_buttons, list) or len(raw_buttons) > MAX_BUTTONS:
            _problem(problems, pos, key, "buttons", f"must be a list of up to {MAX_BUTTONS} {{ text, url }} tables")
        else:
            for i, b in enumerate(raw_buttons, start=1):
                if not isinstance(b, dict) or set(b) != {"text", "url"}:
                    _problem(problems, pos, key, f"buttons[{i}]", 'must be { text = "…", url = "https://…" }')
                    continue
                text, url = b["text"], b["url"]
                if not isinstance(text, str) or not text.strip() or len(text) > 64:
                    _problem(problems, pos, key, f"buttons[{i}].text", "must be 1-64 characters")
                elif not isinstance(url, str) or not URL_RE.match(url):
                    _problem(problems, pos, key, f"buttons[{i}].url", "must be an http(s):// or tg:// link")
                else:
                    buttons.append((text.strip(), url))
        answers: dict[str, str] = {}
        raw_answers = item.get("answers", {})
        if not isinstance(raw_answers, dict):
            _problem(problems, pos, key, "answers", 'must be a table of language = "answer" (ru = "…")')
        else:
            for lang, text in raw_answers.items():
                if not LANGUAGE_RE.match(str(lang)):
                    _problem(problems, pos, key, f"answers.{lang}", "the key must be a two-letter language code")
                elif not isinstance(text, str):
                    _problem(problems, pos, key, f"answers.{lang}", "must be a string (HTML)")
                else:
                    why = validate_answer_html(text)
                    if why:
                        _problem(problems, pos, key, f"answers.{lang}", why)
                    else:
                        answers[str(lang)] = text
        if len(problems) == before and key is not None and isinstance(answer, str):
            drafts.append(
                FaqDraft(
                    key=key,
                    questions=tuple(clean_questions),
                    answer=answer.strip(),
                    enabled=bool(enabled),
                    thread_id=topic if isinstance(topic, int) else None,
                    buttons=tuple(buttons),
                    answers=answers,
                )
            )
    return drafts, problems


def parse_toml(text: str) -> tuple[list[FaqDraft], list[FaqProblem]]:
    """Parse a whole file. Raises :class:`FaqFileError` when it is not a FAQ file at all."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FaqFileError(f"not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"faq"})
    if extra:
        raise FaqFileError(f"unknown top-level key(s): {', '.join(extra)} (entries go in [[faq]] tables)")
    raw = data.get("faq")
    if not isinstance(raw, list) or not raw:
        raise FaqFileError("no entries: write each one as a [[faq]] table with id, questions and answer")
    return validate_entries(raw)


def _s(value: str) -> str:
    # A JSON string with non-ASCII kept is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


def dump_toml(drafts: Iterable[FaqDraft], *, header: str | None = None) -> str:
    lines: list[str] = []
    if header:
        lines.extend(f"# {line}" for line in header.splitlines())
        lines.append("")
    for d in drafts:
        lines.append("[[faq]]")
        lines.append(f"id = {_s(d.key)}")
        lines.append("questions = [" + ", ".join(_s(q) for q in d.questions) + "]")
        lines.append(f"answer = {_s(d.answer)}")
        if not d.enabled:
            lines.append("enabled = false")
        if d.thread_id is not None:
            lines.append(f"topic = {int(d.thread_id)}")
        if d.buttons:
            inner = ", ".join(f"{{ text = {_s(t)}, url = {_s(u)} }}" for t, u in d.buttons)
            lines.append(f"buttons = [{inner}]")
        if d.answers:
            inner = ", ".join(f"{lang} = {_s(text)}" for lang, text in sorted(d.answers.items()))
            lines.append(f"answers = {{ {inner} }}")
        lines.append("")
    return "\n".join(lines)
