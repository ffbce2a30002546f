"""Run the real bot (real Dispatcher.start_polling over HTTP) against the sandbox Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import Steward
from bot.config import Settings
from bot.sandbox import Call, SandboxBotAPI
from tests.fakes import FakeClassifier, HashingEncoder

TOKEN = "123456:TEST-token"
MANAGER_ID = 500
ADMIN_ID = 600


@dataclass
class Harness:
    app: Steward
    sandbox: SandboxBotAPI
    classifier: FakeClassifier
    settings: Settings

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until the sandbox has no undelivered updates and the bot is idle."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self._idle():
                await asyncio.sleep(0.05)
                if self._idle():
                    return
            await asyncio.sleep(0.02)
        raise TimeoutError("the bot did not settle")

    async def say(self, chat_id: int, user_id: int, text: str, *, reply_in: int | None = None, **send: Any) -> Call:
        """``user_id`` writes ``text`` in ``chat_id``; the bot's first sendMessage after it to ``reply_in``
        (default: the same chat)."""
        since = self.sandbox.mark()
        self.sandbox.send_message(chat_id, user_id, text, **send)
        return await self.sandbox.wait_for(
            "sendMessage", since=since, chat_id=chat_id if reply_in is None else reply_in
        )

    async def press(self, chat_id: int, user_id: int, message_id: int, label: str) -> dict[str, Any]:
        """``user_id`` presses the button labelled ``label`` on the message as it is now; the bot's answer to
        the callback query, once the bot is idle again."""
        data = buttons(message_now(self.sandbox, chat_id, message_id))[label]
        assert len(data.encode()) <= 64
        since = self.sandbox.mark()
        query_id = self.sandbox.press_button(chat_id, user_id, message_id, data)
        await self.sandbox.wait_for(
            "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id, since=since
        )
        await self.settle()
        answer = self.sandbox.callback_answer(query_id)
        assert answer is not None
        return answer

    def _idle(self) -> bool:
        return not self.sandbox.pending_updates() and app_idle(self.app)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """A message's inline keyboard: each button's label → its callback data (a link button: its URL)."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b.get("callback_data") or b.get("url") for row in rows for b in row}


def message_now(sandbox: SandboxBotAPI, chat_id: int, message_id: int) -> dict[str, Any]:
    """The message as the chat shows it now (after any edits)."""
    return next(m for m in sandbox.messages(chat_id) if m["message_id"] == message_id)


def app_idle(app: Steward) -> bool:
    """No update in handling, nothing queued in the outbox, no case card still on its way."""
    return app.in_flight.count == 0 and app.outbox.pending == 0 and app.escalation.cards_pending == 0


def make_settings(tmp_path: Path, api_base: str, **sections: dict[str, Any]) -> Settings:
    data: dict[str, Any] = {
        "telegram": {"token": TOKEN, "api_base": api_base, "polling_timeout": 1},
        "database": {"path": str(tmp_path / "steward.db")},
        "managers": {"ids": [MANAGER_ID]},
        "sentiment": {"max_wait_ms": 2.0},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return Settings(**data)


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    sandbox: SandboxBotAPI | None = None,
    classifier: FakeClassifier | None = None,
    encoder: Any | None = None,
    populate: Callable[[SandboxBotAPI], object] | None = None,
    **sections: dict[str, Any],
) -> AsyncIterator[Harness]:
    """The bot polling the sandbox (its own unless one is given; ``populate`` fills it before the bot starts)."""
    own_sandbox = sandbox is None
    if sandbox is None:
        sandbox = SandboxBotAPI(token=TOKEN)
        await sandbox.start()
    if populate is not None:
        populate(sandbox)
    classifier = classifier or FakeClassifier()
    settings = make_settings(tmp_path, sandbox.base_url, **sections)
    # The FAQ encoder is a deterministic fake unless a test passes one (no weights in tests).
    faq_encoder = encoder if encoder is not None else HashingEncoder()
    app = Steward(
        settings,
        classifier_loader=lambda: classifier,
        faq_encoder_loader=lambda: (faq_encoder, f"{type(faq_encoder).__name__}:{faq_encoder.dim}"),
    )
    await app.start()
    since = sandbox.mark()
    polling = asyncio.create_task(app.run_polling(handle_signals=False))
    try:
        await sandbox.wait_for("getUpdates", since=since, timeout=10)
        yield Harness(app, sandbox, classifier, settings)
    finally:
        with suppress(RuntimeError):
            await app.dispatcher.stop_polling()
        with suppress(asyncio.CancelledError):
            await asyncio.wait_for(polling, 10)
        await app.stop()
        await app.close_session()
        if own_sandbox:
            await sandbox.stop()
