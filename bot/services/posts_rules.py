"""What a scheduled post must be before it is stored: Telegram's HTML subset, media, buttons, options.

:func:`validate` raises :class:`PostError` naming the field, in words a manager can act on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser

from bot.domain.posts import Post
from bot.services.schedule import Cron, ScheduleError

Clock = Callable[[], datetime]
MAX_TEXT = 4096

# The tags Telegram's HTML parse mode knows.
TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)


class PostError(ValueError):
    """A post a manager described that cannot be scheduled; the message says why."""


def utc_clock() -> datetime:
    return datetime.now(UTC)


class _HtmlCheck(HTMLParser):
    """Telegram's HTML subset: known tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.problem = self.problem or "<br> is not supported; use a line break"
        elif tag not in TELEGRAM_TAGS:
            self.problem = self.problem or f"<{tag}> is not supported by Telegram"
        else:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problem = self.problem or f"</{tag}> does not close the open tag"
        else:
            self.stack.pop()


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse this HTML, or None."""
    checker = _HtmlCheck()
    try:
        checker.feed(text)
        checker.close()
    except Exception as exc:  # HTMLParser is lenient; this is a safety net
        return str(exc)
    if checker.problem:
        return checker.problem
    if checker.stack:
        return f"<{checker.stack[-1]}> is never closed"
    return None


def validate(post: Post) -> None:
    """Raise PostError naming the field when a post cannot be sent as described."""
    problem = html_problem(post.text)
    if problem:
        raise PostError(f"text: {problem} (escape a literal < as &lt;)")
    if post.media_kind not in (None, "photo", "document"):
        raise PostError(f"media: must be photo or document, not {post.media_kind!r}")
    if post.media_kind is not None and not post.media:
        raise PostError("media: a file_id or URL is required")
    if not post.text.strip() and post.media_kind is None:
        raise PostError("text: the post is empty")
    if len(post.text) > MAX_TEXT * 4:
        raise PostError("text: too long (more than 16384 characters)")
    for row in post.buttons:
        for button in row:
            if not isinstance(button, dict) or not button.get("text") or not button.get("url"):
                raise PostError("buttons: each button needs a text and a url")
            if not str(button["url"]).startswith(("https://", "http://", "tg://")):
                raise PostError(f"buttons: {button['url']!r} is not a link (https://…)")
            if len(str(button["text"])) > 64:
                raise PostError("buttons: a button text is longer than 64 characters")
    if post.unpin_after_min is not None and post.unpin_after_min < 1:
        raise PostError("unpin_after: must be at least 1 minute")
    if post.unpin_after_min is not None and not post.pin:
        raise PostError("unpin_after: only for pinned posts (set pin = true)")
    if post.lateness_s < 0:
        raise PostError("late: cannot be negative")
    if post.thread_id is not None and post.thread_id < 1:
        raise PostError("topic: must be a forum topic id (a positive number)")
    if post.cron is not None:
        try:
            Cron.parse(post.cron)
        except ScheduleError as exc:
            raise PostError(f"cron: {exc}") from None
