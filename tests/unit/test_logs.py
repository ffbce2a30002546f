"""The bot token never reaches a log line (issue #13, point 4): messages, exceptions, tracebacks, stacks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, RedactFilter, RedactingFormatter, RedactingStream, redact

TOKEN = "123456789:AAHsecretsecretsecretsecretsecret12"
URL = f"http://127.0.0.1:8765/bot{TOKEN}/getMe"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s", [TOKEN]))
    handler.addFilter(RedactFilter([TOKEN]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_message_and_arguments_are_redacted(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = logged
    logger.info("calling %s", URL)
    out = buffer.getvalue()
    assert TOKEN not in out and f"bot{REDACTED}/getMe" in out


def test_exception_text_and_traceback_are_redacted(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = logged

    def call_api() -> None:
        try:
            raise OSError(f"TooManyRedirects: url='{URL}'")
        except OSError as exc:
            raise RuntimeError(f"HTTP Client says - {exc}") from exc

    try:
        call_api()
    except RuntimeError:
        logger.exception("polling failed")
    out = buffer.getvalue()
    assert "Traceback" in out and "TooManyRedirects" in out and "The above exception" in out
    assert TOKEN not in out
    assert "123456789" not in out


def test_stack_info_is_redacted(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buffer = logged
    record = logger.makeRecord(
        logger.name,
        logging.WARNING,
        __file__,
        1,
        "where am I",
        None,
        None,
        sinfo=f'Stack (most recent call last):\n  File "x.py", line 1, in <module>\n    get("{URL}")',
    )
    logger.handle(record)
    assert "Stack (most recent" in buffer.getvalue() and TOKEN not in buffer.getvalue()


def test_a_token_shaped_string_is_redacted_even_when_unknown() -> None:
    other = "987654321:BBHxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx99"
    assert redact(f"url='https://api.telegram.org/bot{other}/getMe'") == (
        f"url='https://api.telegram.org/bot{REDACTED}/getMe'"
    )
    assert redact("at 12:30 we met") == "at 12:30 we met"


def test_url_encoded_token_is_redacted() -> None:
    from bot.logs import add_secret

    add_secret("42:short-token")
    assert redact("GET /bot42%3Ashort-token/getMe") == f"GET /bot{REDACTED}/getMe"
    assert redact("GET /bot42:short-token/getMe") == f"GET /bot{REDACTED}/getMe"


def test_redacting_stream() -> None:
    inner = io.StringIO()
    stream = RedactingStream(inner)  # type: ignore[arg-type]
    stream.write(f"steward: check failed: {URL}\n")
    assert TOKEN not in inner.getvalue() and REDACTED in inner.getvalue()
