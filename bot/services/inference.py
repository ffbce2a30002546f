"""Sentiment inference as a service: micro-batched, off the event loop, never blocking a message.

A full queue or a model error yields an "unclassified" verdict: the message is still recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from bot.domain import Sentiment, SentimentLabel

log = logging.getLogger(__name__)

# Texts longer than this are cut before classification; the head carries the sentiment.
MAX_CHARS = 1000


class VerdictLike(Protocol):
    label: str
    score: float
    negative: float
    neutral: float
    positive: float


class Classifier(Protocol):
    def predict(self, texts: list[str]) -> list[Any]: ...


def to_sentiment(verdict: VerdictLike) -> Sentiment:
    return Sentiment(
        label=SentimentLabel(verdict.label),
        score=float(verdict.score),
        negative=float(verdict.negative),
        neutral=float(verdict.neutral),
        positive=float(verdict.positive),
    )


class SentimentService:
    """Owns the model's inference thread through models.batcher.MicroBatcher."""

    def __init__(
        self,
        load_classifier: Callable[[], Classifier],
        *,
        max_batch: int = 32,
        max_wait_ms: float = 10.0,
        max_queue: int = 512,
    ) -> None:
        from models.batcher import MicroBatcher

        self._load_classifier = load_classifier
        self._classifier: Classifier | None = None
        self._batcher: MicroBatcher[str, Any] = MicroBatcher(
            self._predict, max_batch=max_batch, max_wait_ms=max_wait_ms, max_queue=max_queue, name="sentiment"
        )
        self.shed = 0
        self.errors = 0

    def _predict(self, texts: list[str]) -> list[Any]:
        assert self._classifier is not None
        return self._classifier.predict(texts)

    def _load(self) -> None:
        self._classifier = self._load_classifier()

    @property
    def classifier(self) -> Classifier | None:
        return self._classifier

    async def start(self) -> None:
        await self._batcher.start()
        # Load inside the inference thread: the tokenizer then lives on the thread that uses it.
        await self._batcher.run_in_thread(self._load)

    async def close(self) -> None:
        await self._batcher.close()

    async def classify(self, text: str) -> Sentiment:
        from models.batcher import BatcherOverloaded

        cleaned = text.strip()
        if not cleaned:
            return Sentiment.unclassified()
        try:
            verdict = await self._batcher.submit(cleaned[:MAX_CHARS])
        except BatcherOverloaded:
            self.shed += 1
            return Sentiment.unclassified()
        except Exception:
            self.errors += 1
            log.exception("sentiment classification failed; the message is stored unclassified")
            return Sentiment.unclassified()
        return to_sentiment(verdict)
