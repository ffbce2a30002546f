"""What the parts of the FAQ service share: limits, errors, the collaborators' protocols and the outcome."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bot.domain import Delivery
from bot.domain.messages import StoredMessage
from bot.services.faq_matcher import Match, TextEncoder

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
MODES = ("off", "mention", "auto")
SUGGESTION_LABEL = 48  # characters of a suggestion button
ADAPTERS_IN_MEMORY = 6  # knowledge bases whose adapters stay loaded (about 28 MB per view)
TRAINING_SLICE_STEPS = 5  # training steps per encoder-thread call: a question waits about 1-5 s behind one
ADAPTER_FILES_KEPT = 32  # most recently used adapter files kept on disk (one per view, 14 MB each)
LOAD_RETRY_S = 600  # after a failed encoder load, try again this much later
QUESTION_BATCH = 32  # member questions encoded in one forward pass at most
QUESTION_QUEUE = 256  # member questions waiting for the encoder at most (then: EncoderBusy)


class EncoderUnsuitable(RuntimeError):
    """The loaded encoder is not the multilingual one other features' signals are calibrated on."""


class EncoderBusy(Exception):
    """Too many member questions are waiting for the encoder: this one is not matched."""


class Roles(Protocol):
    async def can_manage(self, chat_id: int | None, user_id: int, *, sender_chat_id: int | None = None) -> bool: ...


class Messages(Protocol):
    """The stored group messages (bot.storage.messages.MessageRepository)."""

    async def get(self, chat_id: int, message_id: int) -> StoredMessage | None: ...


@dataclass
class Outcome:
    """What happened to one message (for tests and logs)."""

    action: str  # answer | suggest | abstain | cooldown | skipped
    reason: str = ""
    match: Match | None = None
    delivery: Delivery | None = None


def retry_later(now: int, failed_at: int | None) -> bool:
    """Whether something that failed at ``failed_at`` (None: never) is still inside LOAD_RETRY_S of ``now``."""
    return failed_at is not None and now - failed_at < LOAD_RETRY_S


def detect_language(text: str) -> str | None:
    try:
        from models.language import detect_language as detect
    except ImportError:  # pragma: no cover - models/ always ships it
        return None
    return detect(text)


def load_encoder(name: str) -> tuple[TextEncoder, str]:
    """The configured encoder and a tag naming it (stored next to every embedding)."""
    from models import encoder as models_encoder

    enc = models_encoder.load_default_encoder() if name == "default" else models_encoder.load_encoder(name)
    tag = f"{'multilingual-e5-small' if name == 'default' else name}:{enc.dim}"
    return enc, tag


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Background:
    """The FAQ's background tasks (re-indexing after an edit, adapter training): kept, logged, cancelled."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(
        self, work: Coroutine[Any, Any, Any], name: str, then: Callable[[], None] | None = None
    ) -> asyncio.Task[Any]:
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(functools.partial(self._done, then))
        return task

    def _done(self, then: Callable[[], None] | None, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("FAQ: re-indexing after an edit failed", exc_info=task.exception())
        if then is not None:
            then()

    async def cancel(self) -> None:
        for task in list(self.tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
