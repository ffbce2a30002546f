"""No pattern that runs on untrusted text can stall the bot (issue #13, point 1).

Three guards:

* every pattern in bot/, handlers/ and models/ that looks at text from Telegram or an import file
  is compiled through ``bot.textsafety`` (a scan of the source finds any other ``re`` call);
* a property test feeds every registered pattern 4096-character runs of its own tokens (the
  alternatives it is built from) and holds each call to a few milliseconds of CPU;
* the repeated greeting that used to take minutes is answered at once.
"""

from __future__ import annotations

import ast
import importlib
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import textsafety

ROOT = Path(__file__).resolve().parents[2]
MATCHING_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
# Files whose patterns never see text from Telegram or an import file.
NOT_UNTRUSTED = {
    "bot/textsafety.py": "the registry itself",
    "bot/config.py": "the operator's own config file",
    "bot/i18n_catalogs.py": "a developer tool over the project's .po files",
    "bot/storage/db.py": "migration file names shipped with the bot",
}
NOT_UNTRUSTED_DIRS = {
    "bot/sandbox/": "the stand-in Telegram used by tests and the demo",
    "bot/demo/": "the demo's scripted stand-in models",
}

# A 4096-character message is the longest Telegram sends.
MESSAGE = 4096
CALL_BUDGET_S = 0.005  # "a few milliseconds" of this thread's CPU per call
PER_MATCH_S = 0.00003  # and at most 30 µs more for each match a call returns


def _modules_using_textsafety() -> list[str]:
    names = []
    for folder in ("bot", "handlers", "models"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "bot.textsafety" in path.read_text("utf-8"):
                names.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return names


def _load_all_patterns() -> list[textsafety.SafePattern]:
    for name in _modules_using_textsafety():
        importlib.import_module(name)
    # Patterns built at run time: one of each kind, as the bot builds them.
    from bot.services.escalation.policy import TermMatcher
    from bot.services.faq import mention_pattern
    from bot.services.feeds import has_keyword

    TermMatcher(["refund", "money back", "charge*", "не работает", "לא עובד", "scam"]).find("x")
    has_keyword("x", ["sale now"])
    mention_pattern(None)
    mention_pattern("steward_bot")
    return sorted(textsafety.registered(), key=lambda p: p.name)


PATTERNS = _load_all_patterns()
_GENERIC_TOKENS = ["a", "1", " ", "  ", "<", ">", "<a", "&", "&#", "@", "/", "#", ":", "|", "-", "'", "\n", "x y"]


def _tokens(source: str) -> list[str]:
    """The literal pieces a pattern is built from: the alternatives a backtracking engine would retry."""
    flat = re.sub(r"\[(?:\\.|[^\]])*\]", "|", source)  # character classes
    flat = re.sub(r"\\[pP](?:\{\w+\}|\w)|\\[dDwWsSbB]|\(\?P?<\w+>|\(\?[:=!<]+|\{\d+(?:,\d*)?\}", "|", flat)
    flat = re.sub(r"\\(.)", r"\1", flat)  # escaped punctuation stands for itself
    pieces = {piece for piece in re.split(r"[()|?*+^$]", flat) if piece.strip()}
    return sorted(pieces)[:200]


@contextmanager
def _at_most(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _cpu_seconds(call: Callable[[], Any]) -> float:
    """The least of three runs, in this thread's CPU time (other processes on the machine do not count)."""
    best = float("inf")
    with _at_most(2.0):  # a backtracking blow-up fails the test instead of hanging the suite
        for _ in range(3):
            start = time.thread_time()
            call()
            best = min(best, time.thread_time() - start)
    return best


def _calls(pattern: textsafety.SafePattern, text: str) -> Iterator[tuple[str, Callable[[], Any]]]:
    yield "search", lambda: pattern.search(text)
    yield "match", lambda: pattern.match(text)
    yield "fullmatch", lambda: pattern.fullmatch(text)
    yield "findall", lambda: pattern.findall(text)
    yield "sub", lambda: pattern.sub("", text)


@st.composite
def _adversarial(draw: st.DrawFn, pattern: textsafety.SafePattern) -> str:
    tokens = _tokens(pattern.source) + _GENERIC_TOKENS
    chosen = draw(st.lists(st.sampled_from(tokens), min_size=1, max_size=4))
    separator = draw(st.sampled_from(["", " ", "  ", "-", "\n", ", "]))
    tail = draw(st.sampled_from(["", "x", " x", "?", "!", " |", ">", ";", "\u05d0", "\U0001f600"]))
    unit = separator.join(chosen) + separator
    body = (unit * (MESSAGE // max(1, len(unit)) + 1))[: MESSAGE - len(tail)]
    return body + tail


def test_every_pattern_on_untrusted_text_goes_through_the_registry() -> None:
    offenders = []
    for folder in ("bot", "handlers", "models"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in NOT_UNTRUSTED or any(rel.startswith(d) for d in NOT_UNTRUSTED_DIRS):
                continue
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "re":
                    offenders.append(f"{rel}:{node.lineno} from re import …")
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "re"
                    and node.attr in MATCHING_CALLS
                ):
                    offenders.append(f"{rel}:{node.lineno} re.{node.attr}")
    assert not offenders, "compile these through bot.textsafety:\n" + "\n".join(offenders)


def test_the_registry_holds_the_patterns_of_every_module() -> None:
    names = {p.name for p in PATTERNS}
    for expected in (
        "questions.only_polite",
        "questions.chitchat",
        "questions.interrogative",
        "questions.leading_greeting",
        "escalation.terms",
        "escalation.stems",
        "faq_lexical.non_word",
        "faq_io.tag",
        "feeds.tag",
        "feeds.keyword",
        "split.token",
        "language.word",
        "sentiment.user",
        "posts.button_line",
        "faq.mention",
    ):
        assert expected in names
    # The backtracking engine is the exception, and each use says why it cannot backtrack.
    assert all(p.why for p in PATTERNS if p.engine == "re")
    assert sum(p.engine == "re2" for p in PATTERNS) >= 20


def test_python_engine_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        textsafety.compile_pattern(r"(a|a)*b", name="test.unjustified", engine="re")


def test_input_is_capped() -> None:
    pattern = textsafety.compile_pattern(r"b", name="test.cap", max_len=10)
    assert pattern.search("a" * 20 + "b") is None
    assert pattern.fullmatch("b" * 11) is None
    # sub keeps what it did not look at: nothing a user wrote is dropped.
    assert pattern.sub("c", "b" * 12) == "c" * 10 + "bb"


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_pattern_stays_fast_on_repeated_tokens(pattern: textsafety.SafePattern, data: st.DataObject) -> None:
    text = data.draw(_adversarial(pattern))
    matches = len(pattern.findall(text))
    for call_name, call in _calls(pattern, text):
        # A call that returns many matches may spend a little on each (RE2's Python wrapper builds one
        # object per match): still linear, which is the point; backtracking blows far past this.
        budget = CALL_BUDGET_S + (PER_MATCH_S * matches if call_name in ("findall", "sub") else 0.0)
        spent = _cpu_seconds(call)
        assert spent < budget, f"{pattern.name}.{call_name} took {spent * 1000:.1f} ms on {text[:80]!r}…"


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_pattern_stays_fast_on_each_token_repeated(pattern: textsafety.SafePattern) -> None:
    """Every token on its own, repeated to a full message and spoiled at the end (the classic blow-up)."""
    for token in _tokens(pattern.source)[:60]:
        text = ((token + " ") * (MESSAGE // (len(token) + 1)))[: MESSAGE - 1] + "x"
        spent = _cpu_seconds(lambda: (pattern.match(text), pattern.search(text)))  # noqa: B023
        assert spent < 2 * CALL_BUDGET_S, f"{pattern.name} took {spent * 1000:.1f} ms on {token!r} repeated"


@pytest.mark.parametrize(
    "text",
    [
        "hi there " * 40 + "x",
        "hello there all " * 30 + "?",
        ("hey there everyone thanks again " * 200)[:4095] + "x",
        "спасибо большое всем " * 40 + "а как",
        "שלום חברים " * 40 + "איך",
    ],
)
def test_repeated_greetings_are_answered_at_once(text: str) -> None:
    from bot.services.questions import is_question, is_small_talk

    with _at_most(2.0):
        start = time.thread_time()
        is_question(text)
        is_small_talk(text)
        spent = time.thread_time() - start
    assert spent < 0.05
