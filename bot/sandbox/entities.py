"""Text entities the way Telegram computes them: UTF-16 offsets, auto-detected commands, mentions and URLs,
and a small HTML ``parse_mode`` parser that fails like the real one on malformed markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

__all__ = ["EntityParseError", "detect_entities", "parse_html", "utf16_len"]


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


_COMMAND = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?!\w)")
_HASHTAG = re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")
_URL = re.compile(
    r"(?<![\w@/.])(?:(?:https?|tg)://[^\s<>\"]+|(?:www\.|t\.me/)[^\s<>\"]+"
    r"|(?:[A-Za-z0-9-]+\.)+(?:com|org|net|io|ru|me|dev|app|info|il|co|uk|de)(?:/[^\s<>\"]*)?(?![\w.]))"
)
_EMAIL = re.compile(r"(?<![\w.])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_TRAILING_PUNCT = ".,;:!?)]}'\""


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram's clients/servers add on their own: bot_command, mention, hashtag, url, email."""
    spans: list[tuple[int, int, str]] = []

    def add(start: int, end: int, kind: str) -> None:
        for s, e, _ in spans:
            if start < e and s < end:
                return
        spans.append((start, end, kind))

    for m in _COMMAND.finditer(text):
        add(m.start(), m.end(), "bot_command")
    for m in _EMAIL.finditer(text):
        add(m.start(), m.end(), "email")
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _TRAILING_PUNCT:
            end -= 1
        add(m.start(), end, "url")
    for m in _MENTION.finditer(text):
        add(m.start(), m.end(), "mention")
    for m in _HASHTAG.finditer(text):
        add(m.start(), m.end(), "hashtag")
    spans.sort()
    return [{"type": kind, "offset": utf16_len(text[:s]), "length": utf16_len(text[s:e])} for s, e, kind in spans]


class EntityParseError(ValueError):
    """Raised with Telegram's wording for a ``parse_mode`` text that cannot be parsed."""


_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
}


class _HtmlToEntities(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0  # utf-16 units emitted so far
        self.stack: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        extra: dict[str, Any] = {}
        if tag in _SIMPLE_TAGS:
            kind = _SIMPLE_TAGS[tag]
            if tag == "blockquote" and "expandable" in attr:
                kind = "expandable_blockquote"
        elif tag == "span" and attr.get("class") == "tg-spoiler":
            kind = "spoiler"
        elif tag == "a":
            href = attr.get("href")
            if not href:
                kind = "_ignore"
            elif href.startswith("tg://user?id="):
                kind = "text_mention"
                try:
                    extra["user"] = {"id": int(href.split("=", 1)[1]), "is_bot": False, "first_name": "User"}
                except ValueError as exc:
                    raise EntityParseError(f"Bad Request: can't parse entities: wrong user id {href}") from exc
            else:
                kind = "text_link"
                extra["url"] = href
        elif tag == "tg-emoji":
            kind = "custom_emoji"
            extra["custom_emoji_id"] = attr.get("emoji-id") or "0"
        else:
            raise EntityParseError(
                f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}" at byte offset '
                f"{self._byte_offset()}"
            )
        if kind == "code" and self.stack and self.stack[-1][0] == "pre":
            # <pre><code class="language-x"> → one pre entity with a language
            cls = attr.get("class") or ""
            if cls.startswith("language-"):
                self.stack[-1][2]["language"] = cls[len("language-") :]
            kind = "_ignore"
        self.stack.append((tag if kind != "_ignore" else f"_{tag}", self.length, {"type": kind, **extra}))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise EntityParseError(
                f"Bad Request: can't parse entities: Unexpected end tag at byte offset {self._byte_offset()}"
            )
        open_tag, start, entity = self.stack.pop()
        if open_tag.lstrip("_") != tag:
            raise EntityParseError(
                f"Bad Request: can't parse entities: Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag.lstrip("_")}>", found "</{tag}>"'
            )
        if open_tag.startswith("_") or entity["type"] == "_ignore":
            return
        if self.length > start:
            self.entities.append({**entity, "offset": start, "length": self.length - start})

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += utf16_len(data)

    def _byte_offset(self) -> int:
        return len("".join(self.parts).encode())


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)``.

    Raises :class:`EntityParseError` (with the Bot API's description) on unsupported or unbalanced tags, the
    way sending ``"a < b"`` unescaped with ``parse_mode=HTML`` fails against the real API.
    """
    if re.search(r"<(?![A-Za-z/!])", text):
        pos = re.search(r"<(?![A-Za-z/!])", text)
        offset = len(text[: pos.start() if pos else 0].encode())
        raise EntityParseError(f'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset {offset}')
    parser = _HtmlToEntities()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityParseError(
            f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{parser.stack[-1][0].lstrip("_")}"'
        )
    parser.entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), parser.entities
