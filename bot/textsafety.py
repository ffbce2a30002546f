"""The one place where patterns that run on untrusted text are compiled.

Text from Telegram (members, admins, feed items) and from import files reaches regular
expressions all over the bot. Python's ``re`` backtracks: a pattern where two alternatives can
match the same text (``hi`` + ``there`` or ``hi there``) takes exponential time on a message that
repeats them, and the whole bot stops answering every community while it runs. So every such
pattern is compiled here, and this module keeps a registry of them that a property test walks
(tests/unit/test_textsafety.py), feeding each one long runs of its own tokens.

Two engines:

* ``re2`` (the default): Google's RE2, linear time by construction, whatever the pattern. It has
  no look-around and its ``\\w``, ``\\d``, ``\\s``, ``\\b`` are ASCII-only, so Unicode classes are
  spelled out (``WORD_CHAR`` below) and a trailing ``\\b`` becomes ``END_OF_WORD``.
* ``re``: Python's engine, only for patterns that need look-around or are faster here because
  they match one character at a time, and only with a ``why`` that says why the pattern cannot
  backtrack (no two alternatives start with the same text, no nested repetition). The property
  test holds them to the same time limit.

Every pattern also looks at no more than ``max_len`` characters of its input. ``fullmatch`` on
a longer text is ``None`` (a text longer than the cap is not wholly anything); ``sub`` replaces
in the first ``max_len`` characters and keeps the rest as it was (nothing a user wrote is
dropped); the other calls look at the first ``max_len`` characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, Literal

import re2

__all__ = [
    "DEFAULT_MAX_LEN",
    "END_OF_WORD",
    "NOT_WORD_CHAR",
    "WORD_CHAR",
    "SafePattern",
    "compile_pattern",
    "compiled_cached",
    "escape",
    "registered",
]

Engine = Literal["re2", "re"]

# Telegram messages are at most 4096 characters; NFKC can lengthen a text a little.
DEFAULT_MAX_LEN = 8192

# RE2 spellings of Python's Unicode classes (Python's ``\w`` is str.isalnum() plus "_").
WORD_CHAR = r"[\pL\pN_]"
NOT_WORD_CHAR = r"[^\pL\pN_]"
# A Unicode ``\b`` after a word: the end of the text or a non-word character (which is consumed).
END_OF_WORD = rf"(?:$|{NOT_WORD_CHAR})"

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern raises; it need not also print to stderr

_REGISTRY: dict[str, SafePattern] = {}


class SafePattern:
    """A compiled pattern with a cap on the length of text it looks at."""

    __slots__ = ("_compiled", "engine", "max_len", "name", "source", "why")

    def __init__(
        self, name: str, source: str, *, engine: Engine, ignorecase: bool, dotall: bool, max_len: int, why: str
    ) -> None:
        if max_len < 1:
            raise ValueError("max_len must be positive")
        self.name = name
        self.source = source
        self.engine: Engine = engine
        self.max_len = max_len
        self.why = why
        self._compiled: Any
        if engine == "re2":
            inline = ("i" if ignorecase else "") + ("s" if dotall else "")
            self._compiled = re2.compile(f"(?{inline}){source}" if inline else source, _RE2_OPTIONS)
        elif engine == "re":
            if not why.strip():
                raise ValueError(f"pattern {name!r}: the 're' engine needs a reason it cannot backtrack")
            self._compiled = re.compile(source, (re.IGNORECASE if ignorecase else 0) | (re.DOTALL if dotall else 0))
        else:  # pragma: no cover - guarded by the type
            raise ValueError(f"unknown engine {engine!r}")

    def __repr__(self) -> str:
        return f"SafePattern({self.name!r}, engine={self.engine!r}, max_len={self.max_len})"

    def _cut(self, text: str) -> str:
        return text if len(text) <= self.max_len else text[: self.max_len]

    def search(self, text: str) -> Any:
        return self._compiled.search(self._cut(text))

    def match(self, text: str) -> Any:
        return self._compiled.match(self._cut(text))

    def fullmatch(self, text: str) -> Any:
        if len(text) > self.max_len:
            return None
        return self._compiled.fullmatch(text)

    def finditer(self, text: str) -> Iterator[Any]:
        return iter(self._compiled.finditer(self._cut(text)))

    def findall(self, text: str) -> list[Any]:
        return list(self._compiled.findall(self._cut(text)))

    def sub(self, repl: str | Callable[[Any], str], text: str, count: int = 0) -> str:
        """Replace in the first ``max_len`` characters; a longer text keeps its tail as it was."""
        head, tail = text[: self.max_len], text[self.max_len :]
        return str(self._compiled.sub(repl, head, count=count)) + tail


def compile_pattern(
    source: str,
    *,
    name: str,
    engine: Engine = "re2",
    ignorecase: bool = False,
    dotall: bool = False,
    max_len: int = DEFAULT_MAX_LEN,
    why: str = "",
) -> SafePattern:
    """Compile ``source`` and register it under ``name`` (a later pattern of the same name replaces it)."""
    pattern = SafePattern(name, source, engine=engine, ignorecase=ignorecase, dotall=dotall, max_len=max_len, why=why)
    _REGISTRY[name] = pattern
    return pattern


# ``compile_pattern`` for patterns built at run time (a bot username, a feed's keyword): the same
# source and options give the same compiled pattern.
compiled_cached = lru_cache(maxsize=256)(compile_pattern)


def escape(text: str) -> str:
    """Escape ``text`` as a literal for either engine (RE2 accepts Python's escapes of punctuation)."""
    return re.escape(text)


def registered() -> list[SafePattern]:
    """Every pattern compiled so far, for the property test."""
    return list(_REGISTRY.values())
