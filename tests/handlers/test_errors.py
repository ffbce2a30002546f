"""The dispatcher-level errors handler (handlers/errors.py): a handler that raises is logged with the update's
type and chat (the token redacted) and the person waiting gets a polite answer, through the outbox."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Update

from bot.app import Steward
from handlers.callbacks import FaqVote
from tests.handlers.conftest import MANAGER, TOKEN
from tests.mocked_bot import make_message, make_user, message_update

MEMBER = 78
GROUP = -1001999888777
LEAKY = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # shaped like a bot token


def journal(app: Steward, kind: type) -> list[Any]:
    return [request for request in app.bot.session.journal if isinstance(request, kind)]  # type: ignore[attr-defined]


def raising(exc: Exception) -> Any:
    async def broken(*_: Any, **__: Any) -> None:
        raise exc

    return broken


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "handlers.errors" and r.levelno == logging.ERROR]


async def test_a_command_that_raises_gets_a_polite_reply_and_one_redacted_log_line(
    app: Steward, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fire = RuntimeError(f"database on fire, url https://api.telegram.org/bot{LEAKY}/x and {TOKEN}")
    monkeypatch.setattr(app.desk, "manager_started", raising(fire))
    caplog.set_level(logging.INFO)
    await app.dispatcher.feed_update(app.bot, message_update(MANAGER, MANAGER, "/start", update_id=501))
    await app.outbox.close()
    [reply] = journal(app, SendMessage)
    assert reply.chat_id == MANAGER and "something went wrong" in reply.text
    [line] = failure_lines(caplog)
    assert "update 501 (message) in chat 77 failed" in line
    assert "RuntimeError: database on fire" in line and "Traceback" in line
    assert LEAKY not in line and "<redacted>" in line


async def test_a_button_that_raises_is_answered(
    app: Steward, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.faq, "vote", raising(ValueError("vote table missing")))
    query = CallbackQuery(
        id="q1",
        from_user=make_user(MEMBER),
        chat_instance="c",
        message=make_message(5, GROUP, from_user=make_user(1)),
        data=FaqVote(answer_id=3, up=True).pack(),
    )
    await app.dispatcher.feed_update(app.bot, Update(update_id=502, callback_query=query))
    await app.outbox.close()
    answers = journal(app, AnswerCallbackQuery)
    assert [a.callback_query_id for a in answers] == ["q1"]
    assert "something went wrong" in (answers[0].text or "")
    [line] = failure_lines(caplog)
    assert f"update 502 (callback_query) in chat {GROUP} failed" in line and "vote table missing" in line


async def test_an_ordinary_group_message_that_raises_is_logged_but_not_answered(
    app: Steward, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.community_service, "on_message", raising(RuntimeError("listener failed")))
    await app.dispatcher.feed_update(app.bot, message_update(GROUP, MEMBER, "hello all", update_id=503))
    await app.outbox.close()
    assert journal(app, SendMessage) == []  # the group is not told about a message nobody asked the bot about
    [line] = failure_lines(caplog)
    assert f"update 503 (message) in chat {GROUP} failed" in line
