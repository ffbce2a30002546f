"""The FAQ's encoder runtime: one dedicated thread (``models.batcher.MicroBatcher``) that owns the encoder.

Everything that touches the encoder runs there, in the order it was asked for: the load, bulk encodes of
FAQ phrasings, adapter training slices, and the member questions, batched. While a batch runs, new
questions wait and go together in the next forward pass (one pass for many is several times cheaper
than one each); at most QUESTION_QUEUE wait, beyond that :class:`EncoderBusy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from bot.services.faq.common import (
    QUESTION_BATCH,
    QUESTION_QUEUE,
    EncoderBusy,
    EncoderUnsuitable,
    Vectors,
    retry_later,
)
from bot.services.faq_matcher import TextEncoder
from models.batcher import BatcherClosed, BatcherOverloaded, MicroBatcher

log = logging.getLogger(__name__)
V = TypeVar("V")


@dataclass(frozen=True)
class _Question:
    encoder: TextEncoder | None  # None: the plain encoder
    text: str


class EncoderRuntime:
    """Loads the encoder once (retried LOAD_RETRY_S after a failure) and encodes on its thread.

    ``prepare(encoder, tag)`` runs once the encoder has loaded, before anything is encoded with it
    (the knowledge base re-embeds the phrasings saved with another encoder)."""

    def __init__(
        self,
        loader: Callable[[], tuple[TextEncoder, str]],
        *,
        name: str,
        clock: Callable[[], int],
        prepare: Callable[[TextEncoder, str], Awaitable[None]],
    ) -> None:
        self._loader = loader
        self.name = name  # the configured encoder, for the log
        self.clock = clock
        self._prepare = prepare
        self.encoder: TextEncoder | None = None
        self.tag = ""
        self._batcher: MicroBatcher[_Question, Vectors] = MicroBatcher(
            self._encode_batch,
            max_batch=QUESTION_BATCH,
            max_wait_ms=0,
            max_queue=QUESTION_QUEUE,
            name="faq-encoder",
            group_by=lambda q: id(q.encoder),  # one forward pass per encoder (communities with an adapter)
        )
        self._lock = asyncio.Lock()
        self._load_task: asyncio.Task[bool] | None = None
        self._failed_at: int | None = None
        # A quantized copy of the multilingual encoder for cheap first reads (escalation's signals).
        self._cheap: TextEncoder | None = None
        self._cheap_task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, *, load: bool) -> None:
        """Start the thread; ``load``: load the encoder in the background now rather than on first use."""
        await self._batcher.start()
        self._lock = asyncio.Lock()
        if load:
            self._load_task = asyncio.create_task(self.ensure(), name="faq-encoder-load")

    @property
    def started(self) -> bool:
        return self._batcher.running

    @property
    def ready(self) -> bool:
        return self.encoder is not None and self.started

    async def ensure(self) -> bool:
        """Load the encoder once; False when it cannot load (or the runtime is not started)."""
        if self.encoder is not None:
            return True
        if not self.started:
            return False
        async with self._lock:
            if self.encoder is not None:
                return True
            if retry_later(self.clock(), self._failed_at):
                return False
            try:
                encoder, tag = await self.run(self._loader)
            except Exception:
                # The bot still runs (sentiment, queue, posts); FAQ stays silent until the encoder loads.
                log.exception("FAQ answering is off: the encoder %r could not be loaded", self.name)
                self._failed_at = self.clock()
                return False
            self.tag = tag
            await self._prepare(encoder, tag)
            self.encoder = encoder
            return True

    def load_in_background(self) -> None:
        """Start loading unless a load runs or failed recently (callers judge without vectors meanwhile)."""
        if (
            self.started
            and (self._load_task is None or self._load_task.done())
            and not retry_later(self.clock(), self._failed_at)
        ):
            self._load_task = asyncio.create_task(self.ensure(), name="faq-encoder-load")

    async def close(self) -> None:
        """Let the loads and the batch in flight finish; questions still waiting get EncoderBusy."""
        for task in (self._load_task, self._cheap_task):
            if task is not None and not task.done():
                with contextlib.suppress(Exception):  # logged where it failed
                    await task
        await self._batcher.close()

    # --- on the encoder thread -----------------------------------------------------------

    async def run(self, fn: Callable[[], V]) -> V:
        """Run ``fn`` on the encoder thread, after what was asked of it before."""
        if not self.started:
            raise RuntimeError("the FAQ service is not started")
        return await self._batcher.run_in_thread(fn)

    async def encode(self, texts: Sequence[str], *, encoder: TextEncoder | None = None) -> Vectors:
        """Query-side vectors of ``texts`` in one call: the plain encoder's, or ``encoder``'s (an adapter)."""
        # FAQ questions and member questions are the same kind of text: both get the "query: " side.
        if not await self.ensure() or self.encoder is None:
            raise RuntimeError(f"the FAQ encoder {self.name!r} is not available (see the log)")
        fn = (encoder or self.encoder).encode_queries
        return np.asarray(await self.run(functools.partial(fn, list(texts))), dtype=np.float32)

    async def encode_question(self, text: str, encoder: TextEncoder | None) -> Vectors:
        """One member question, batched with the questions that arrive meanwhile."""
        try:
            return await self._batcher.submit(_Question(encoder, text))
        except BatcherOverloaded:
            raise EncoderBusy(f"{self._batcher.pending} questions are waiting for the encoder") from None
        except BatcherClosed:
            raise EncoderBusy("the FAQ service is closing") from None

    def _encode_batch(self, questions: list[_Question]) -> list[Vectors]:
        """On the encoder thread: one group of the batch, all for the same encoder."""
        encoder = questions[0].encoder or self.encoder
        if encoder is None:
            raise RuntimeError("the FAQ encoder is not loaded")
        vectors = np.asarray(encoder.encode_queries([q.text for q in questions]), dtype=np.float32)
        return list(vectors)

    # --- vectors for other features ------------------------------------------------------

    async def embed_plain(self, texts: Sequence[str], cheap: bool = False) -> Vectors | None:
        """Plain-encoder vectors for another feature (escalation signals), batched with member questions.

        ``cheap``: from an int8-quantized copy of the encoder (several times faster, cosine about 0.98 to
        the full one), loaded on first use; None until it is.

        None while the encoder is not loaded: its load is started in the background, and the caller
        judges without vectors meanwhile rather than waiting on the load. EncoderBusy when the queue is
        full; EncoderUnsuitable when the encoder is not multilingual (an English-only or stand-in one).
        """
        if not self.ready:
            self.load_in_background()
            return None
        if getattr(self.encoder, "multilingual", False) is not True:
            raise EncoderUnsuitable(f"the FAQ encoder {self.tag} is not multilingual-e5")
        encoder: TextEncoder | None = None
        if cheap:
            if self._cheap is None:
                if self._cheap_task is None:
                    self._cheap_task = asyncio.create_task(self._load_cheap(), name="faq-cheap-encoder-load")
                return None
            encoder = self._cheap
        if len(texts) > QUESTION_BATCH:
            return await self.encode(texts, encoder=encoder)
        vectors = await asyncio.gather(*(self.encode_question(text, encoder) for text in texts))
        return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 0), dtype=np.float32)

    async def _load_cheap(self) -> None:
        def load() -> TextEncoder:
            from models.encoder import E5Encoder

            return E5Encoder(quantize=True)  # shares the in-memory word embeddings with the others

        try:
            self._cheap = await self.run(load)
        except Exception:
            log.exception("the quantized encoder could not be loaded; escalation reads with the full one")
