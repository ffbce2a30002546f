"""Logging setup, and the one redactor for the bot token.

The token is redacted from everything the bot writes: every log record (its message, its
exception text and traceback, its stack), and every line a command prints (``steward run`` and
``steward check`` wrap stdout and stderr). Two nets: the secrets this process knows (the token
from the config, added with :func:`add_secret`, also in its URL-encoded form), and anything shaped
like a bot token (digits, a colon, 20+ token characters), so even a token that came from somewhere
else is not printed.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import quote

from bot.textsafety import compile_pattern

__all__ = [
    "REDACTED",
    "RedactFilter",
    "RedactingFormatter",
    "RedactingStream",
    "add_secret",
    "redact",
    "redacted_std_streams",
    "setup_logging",
]

REDACTED = "<redacted>"
_TOKEN_SHAPE = compile_pattern(r"\d{3,20}:[A-Za-z0-9_-]{20,}", name="logs.token_shape", max_len=1 << 22)
_SECRETS: set[str] = set()


def add_secret(secret: str | None) -> None:
    """Redact ``secret`` (and its URL-encoded spelling) from all output from now on."""
    if secret:
        _SECRETS.add(secret)
        _SECRETS.add(quote(secret, safe=""))


def redact(text: str, secrets: list[str] | None = None) -> str:
    """``text`` without the known secrets or anything shaped like a bot token."""
    for secret in sorted({*_SECRETS, *(secrets or [])}, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    if ":" in text:
        text = _TOKEN_SHAPE.sub(REDACTED, text)
    return text


class RedactFilter(logging.Filter):
    """Cleans the record itself: message, exception (with its traceback) and stack, for any handler."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message, self.secrets)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info:
            # Format the traceback now, redacted; the handler then prints exc_text as it is.
            record.exc_text = self._formatter.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class RedactingFormatter(logging.Formatter):
    """The last net: the formatted line as a whole is redacted, whatever put the token in it."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written through it (a command's stdout or stderr)."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", "utf-8"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextmanager
def redacted_std_streams() -> Iterator[None]:
    """Redact everything printed to stdout and stderr inside the block (tracebacks included)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def setup_logging(*, level: int = logging.INFO, secrets: list[str] | None = None) -> None:
    for secret in secrets or []:
        add_secret(secret)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets or []))
    handler.addFilter(RedactFilter(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs each update at INFO; keep production logs readable.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
