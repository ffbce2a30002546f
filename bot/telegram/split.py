"""Split long message texts into parts that Telegram accepts.

Telegram limits a message to 4096 characters and a caption to 1024, counted *after*
entity parsing and in UTF-16 code units (an emoji outside the BMP counts as two).
For HTML texts this module:

* never cuts inside a tag (``<a href="...">``) or an entity (``&amp;``, ``&#128512;``);
* prefers paragraph breaks, then line breaks, then spaces, and only then a hard cut;
* keeps formatting balanced: tags still open at the end of a part are closed there and
  reopened (with their attributes) at the start of the next part;
* drops the whitespace it cut at (Telegram trims it anyway) and never yields a part
  with no visible text.

Measuring is conservative: tags count zero, the four named entities Telegram knows and
numeric entities count as the character they stand for, anything else counts raw.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.textsafety import SafePattern, compile_pattern

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "split_html",
    "split_plain",
    "split_text",
    "utf16_len",
    "visible_html_len",
]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_MIN_LIMIT = 16

# A tag (Telegram's HTML has no comments or doctypes) or an entity Telegram decodes.
_TAG_OR_ENTITY = r"<[a-zA-Z/][^<>]*>|&(?:lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});"


def _scanner(source: str, name: str, why: str) -> SafePattern:
    """A pattern that walks a whole message text: Python's engine, newlines included, up to 1 MiB."""
    return compile_pattern(source, name=name, engine="re", dotall=True, max_len=1 << 20, why=why)


# A tag, or an entity, or one character.
# One match per character of text: Python's engine is much faster here than RE2's per-match cost, and
# the pattern cannot backtrack far (a tag's body stops at the next "<" or ">", an entity is bounded).
_TOKEN_RE = _scanner(
    _TAG_OR_ENTITY + r"|.",
    "split.token",
    "a tag body is one class that stops at the next < or >, an entity is bounded, else one character",
)
# The same tokens, but a run of plain text is one match: measuring a text that fits needs no per-character work.
_RUN_RE = _scanner(
    _TAG_OR_ENTITY + r"|[^<&]+|.",
    "split.run",
    "as split.token; a plain run is one negated class, so the engine never backtracks into it",
)
_TAG_NAME_RE = compile_pattern(r"<\s*(/?)\s*([a-zA-Z][\w-]*)", name="split.tag_name")

_TEXT, _OPEN, _CLOSE, _ENTITY = 0, 1, 2, 3
_PARA, _LINE, _WORD = 0, 1, 2


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the way Telegram counts it."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True, slots=True)
class _Tok:
    raw: str
    width: int  # visible UTF-16 units after entity parsing
    kind: int
    name: str = ""  # tag name for _OPEN/_CLOSE


def _entity_width(raw: str) -> int:
    decoded = html.unescape(raw)
    if decoded == raw:  # not something we could decode: count it raw
        return utf16_len(raw)
    return max(1, utf16_len(decoded))


def _tokenize_html(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group(0)
        if len(raw) > 1 and raw[0] == "<":
            nm = _TAG_NAME_RE.match(raw)
            if nm is None:  # "</ …>" has no name: it is text, one token per character like any other text
                toks.extend(_Tok(ch, utf16_len(ch), _TEXT) for ch in raw)
                continue
            kind = _CLOSE if nm.group(1) else _OPEN
            toks.append(_Tok(raw, 0, kind, nm.group(2).lower()))
        elif len(raw) > 1 and raw[0] == "&":
            toks.append(_Tok(raw, _entity_width(raw), _ENTITY))
        else:
            toks.append(_Tok(raw, utf16_len(raw), _TEXT))
    return toks


def _tokenize_plain(text: str) -> list[_Tok]:
    return [_Tok(ch, utf16_len(ch), _TEXT) for ch in text]


def _measure_html(text: str) -> tuple[int, bool]:
    """Visible width in UTF-16 units and whether any visible non-space text is there."""
    width, content = 0, False
    for m in _RUN_RE.finditer(text):
        raw = m.group(0)
        if raw[0] == "<" and len(raw) > 1 and _TAG_NAME_RE.match(raw) is not None:
            continue  # a tag (one without a name, such as "</>", is text as in _tokenize_html)
        if raw[0] == "&" and len(raw) > 1:
            width += _entity_width(raw)
            content = True
        else:
            width += utf16_len(raw)
            content = content or not raw.isspace()
    return width, content


def visible_html_len(text: str) -> int:
    """Visible length of an HTML text in UTF-16 units (tags count zero)."""
    return _measure_html(text)[0]


def _apply(stack: list[_Tok], tok: _Tok) -> None:
    if tok.kind == _OPEN:
        stack.append(tok)
    elif tok.kind == _CLOSE:
        for k in range(len(stack) - 1, -1, -1):
            if stack[k].name == tok.name:
                del stack[k]
                break


def _has_content(toks: list[_Tok]) -> bool:
    return any(t.kind in (_TEXT, _ENTITY) and not t.raw.isspace() for t in toks)


@dataclass(slots=True)
class _Cut:
    end: int  # tokens[start:end] go into the part
    resume: int  # the next part starts here (the separator is skipped)
    width: int  # visible width of the part up to `end`
    stack: tuple[_Tok, ...]  # tags open at `end`


def _split_tokens(toks: list[_Tok], limit: int) -> list[str]:
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit must be at least {_MIN_LIMIT}")
    parts: list[str] = []
    n = len(toks)
    i = 0
    carried: tuple[_Tok, ...] = ()  # tags to reopen at the start of the part
    while i < n:
        stack = list(carried)
        width = 0
        j = i
        best: list[_Cut | None] = [None, None, None]
        while j < n:
            tok = toks[j]
            if width + tok.width > limit:
                break
            if tok.kind == _TEXT and tok.raw.isspace() and j > i:
                if tok.raw == "\n":
                    prev = toks[j - 1]
                    if prev.kind == _TEXT and prev.raw == "\n" and j - 1 > i:
                        best[_PARA] = _Cut(j - 1, j + 1, width - 1, tuple(stack))
                    best[_LINE] = _Cut(j, j + 1, width, tuple(stack))
                best[_WORD] = _Cut(j, j + 1, width, tuple(stack))
            _apply(stack, tok)
            width += tok.width
            j += 1
        if j == i:  # cannot happen (no token is wider than 2 units), but a split must always move on
            _apply(stack, toks[j])
            width += toks[j].width
            j += 1
        here = _Cut(j, j, width, tuple(stack))  # the end of the text, or a hard cut
        cut = here if j >= n else (_choose(best, limit) or here)
        body = toks[i : cut.end]
        if _has_content(body):
            opening = "".join(t.raw for t in carried)
            closing = "".join(f"</{t.name}>" for t in reversed(cut.stack))
            parts.append(opening + "".join(t.raw for t in body) + closing)
        # tags opened or closed inside the skipped separator still count
        after = list(cut.stack)
        for tok in toks[cut.end : cut.resume]:
            _apply(after, tok)
        carried = tuple(after)
        i = cut.resume
    return parts


def _choose(best: list[_Cut | None], limit: int) -> _Cut | None:
    """Prefer the strongest boundary that still fills at least half of the part."""
    floor = limit // 2
    for kind in (_PARA, _LINE, _WORD):
        cut = best[kind]
        if cut is not None and cut.width >= floor:
            return cut
    candidates = [c for c in best if c is not None and c.width > 0]
    if candidates:
        return max(candidates, key=lambda c: c.end)
    return None


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split an HTML-formatted text into balanced parts of at most ``limit`` visible units."""
    width, content = _measure_html(text)
    if not content:
        return []
    if width <= limit:
        return [text]
    return _split_tokens(_tokenize_html(text), limit)


def split_plain(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split a text sent without a parse mode."""
    if utf16_len(text) <= limit:
        return [text] if text.strip() else []
    return _split_tokens(_tokenize_plain(text), limit)


def split_text(text: str, parse_mode: str | None, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` for ``parse_mode``.

    HTML is split entity-aware. Without a parse mode the raw text is measured. Markdown
    is split on boundaries and measured raw (raw is never shorter than parsed, so the
    parts fit), but a Markdown entity spanning a cut is not repaired: prefer HTML.
    """
    if parse_mode is not None and parse_mode.lower() == "html":
        return split_html(text, limit)
    return split_plain(text, limit)
