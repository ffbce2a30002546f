"""Run the real bot (real Dispatcher.start_polling over HTTP) against the sandbox Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import Steward
from bot.config import Settings
from bot.sandbox import SandboxBotAPI
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

    def _idle(self) -> bool:
        return not self.sandbox.pending_updates() and app_idle(self.app)


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
    **sections: dict[str, Any],
) -> AsyncIterator[Harness]:
    own_sandbox = sandbox is None
    if sandbox is None:
        sandbox = SandboxBotAPI(token=TOKEN)
        await sandbox.start()
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
