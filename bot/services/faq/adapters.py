"""Adapting the encoder to a knowledge base (models/faq_adapter.py): keys, files, training, the English view.

An adapter is named by a hash of the encoder, the recipe and the phrasings (one per view). It is kept in
memory (the ADAPTERS_IN_MEMORY most recent), on disk next to the database (ADAPTER_FILES_KEPT files), or
trained on the encoder thread in slices of TRAINING_SLICE_STEPS, so member questions get their turn.
A failed training is logged and retried LOAD_RETRY_S later.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import FaqSettings
from bot.services.faq.common import (
    ADAPTER_FILES_KEPT,
    ADAPTERS_IN_MEMORY,
    LOAD_RETRY_S,
    TRAINING_SLICE_STEPS,
    Background,
    retry_later,
)
from bot.services.faq.runtime import EncoderRuntime
from bot.services.faq_matcher import TextEncoder
from models.faq_adapter import (
    ENGLISH_RECIPE,
    AdapterRecipe,
    AdapterTrainer,
    KbAdapter,
    TwoViewAdapter,
    background_for,
    english_background,
    english_groups,
    kb_key,
    supports_adaptation,
)

log = logging.getLogger(__name__)

Adapter = KbAdapter | TwoViewAdapter


@dataclass(frozen=True)
class AdapterKeys:
    """Names of one knowledge base's adapters (a hash of encoder, recipe and phrasings per view)."""

    primary: str
    phrasings: list[list[str]]
    english: str  # "" without an English view
    english_phrasings: list[list[str]]

    @property
    def both(self) -> str:
        return f"{self.primary}+{self.english}"


class AdapterStore:
    def __init__(
        self,
        runtime: EncoderRuntime,
        settings: FaqSettings,
        background: Background,
        *,
        adapter_dir: Path | None,
        recipe: AdapterRecipe,
        english_loader: Callable[[], tuple[TextEncoder, str]] | None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.background = background
        self.adapter_dir = adapter_dir
        self.recipe = recipe
        self._adapters: OrderedDict[str, Adapter] = OrderedDict()
        self._failed: dict[str, int] = {}
        self._lock = asyncio.Lock()
        # The English-only encoder of the adapted English view (settings.english_encoder); loaded on
        # the first knowledge base with English phrasings.
        self._english_loader = english_loader
        self._english: Any = None
        self._english_tag = ""
        self._english_failed_at: int | None = None
        self.training: dict[str, asyncio.Task[Any]] = {}  # by AdapterKeys.both, running in the background

    @property
    def adapts(self) -> bool:
        encoder = self.runtime.encoder
        return self.settings.adapt and encoder is not None and supports_adaptation(encoder)

    def _too_soon(self, failed_at: int | None) -> bool:
        return retry_later(self.runtime.clock(), failed_at)

    async def keys(self, groups: Sequence[Sequence[str]]) -> AdapterKeys:
        phrasings = [list(g) for g in groups]
        if self._english is None and self._english_loader is not None:
            async with self._lock:
                await self._ensure_english()
        english = english_groups(phrasings) if self._english is not None else []
        return AdapterKeys(
            kb_key(self.runtime.tag, self.recipe, phrasings),
            phrasings,
            kb_key(self._english_tag, ENGLISH_RECIPE, english) if english else "",
            english,
        )

    def loaded(self, key: str) -> Adapter | None:
        """The adapter in memory under ``key`` (AdapterKeys.both), without training or loading it."""
        return self._adapters.get(key)

    def retry_at(self, keys: AdapterKeys) -> int | None:
        """When a training of ``keys`` that failed recently may be tried again (None: not failed lately)."""
        failed = self._failed.get(keys.both)
        return failed + LOAD_RETRY_S if failed is not None and self._too_soon(failed) else None

    def _file(self, key: str) -> Path | None:
        return self.adapter_dir / f"{key}.pt" if self.adapter_dir is not None else None

    def on_disk(self, keys: AdapterKeys) -> bool:
        files = [self._file(k) for k in (keys.primary, keys.english) if k]
        return all(f is not None and f.is_file() for f in files)

    async def get(self, keys: AdapterKeys) -> Adapter | None:
        """The adapter for these keys: in memory, on disk, or trained now on the encoder thread.

        With an English encoder and English phrasings it has two views (models/faq_adapter.TwoViewAdapter).
        None when training failed (retried after LOAD_RETRY_S); the failure is logged."""
        if (adapter := self._adapters.get(keys.both)) is not None:
            self._adapters.move_to_end(keys.both)
            return adapter
        # One training at a time: it takes the encoder thread anyway, and a second caller then finds it done.
        async with self._lock:
            if (adapter := self._adapters.get(keys.both)) is not None:
                return adapter
            if self._too_soon(self._failed.get(keys.both)):
                return None
            try:
                adapter = await self._load_or_train(keys)
            except Exception:
                log.exception("FAQ: adapting the encoder to a knowledge base failed; its questions stay unanswered")
                self._failed[keys.both] = self.runtime.clock()
                return None
            self._failed.pop(keys.both, None)
            self._adapters[keys.both] = adapter
            while len(self._adapters) > ADAPTERS_IN_MEMORY:
                self._adapters.popitem(last=False)
            return adapter

    def train_in_background(self, keys: AdapterKeys, then: Callable[[], None]) -> None:
        """Train (or load) the adapter for ``keys`` unless that runs already; ``then`` when it is done."""
        if keys.both in self.training:
            return

        def done() -> None:
            self.training.pop(keys.both, None)
            then()

        self.training[keys.both] = self.background.spawn(self.get(keys), f"faq-adapt-{keys.primary[:8]}", done)

    async def _ensure_english(self) -> bool:
        """Load the English encoder once (under _lock); False when there is none: not configured,
        or it failed to load (retried after LOAD_RETRY_S)."""
        if self._english is not None:
            return True
        if self._english_loader is None:
            return False
        if self._too_soon(self._english_failed_at):
            return False
        try:
            encoder, tag = await self.runtime.run(self._english_loader)
        except Exception:
            log.exception(
                "FAQ: the English encoder %r could not be loaded; English questions are matched by the main "
                "encoder alone",
                self.settings.english_encoder,
            )
            self._english_failed_at = self.runtime.clock()
            return False
        if not supports_adaptation(encoder):
            log.warning("FAQ: the English encoder %s cannot be adapted; it is not used", tag)
            self._english_loader = None
            return False
        self._english, self._english_tag = encoder, tag
        return True

    async def _load_or_train(self, keys: AdapterKeys) -> Adapter:
        """Each view from its file, or trained (in slices on the encoder thread) and saved."""
        base: Any = self.runtime.encoder
        run = self.runtime.run
        primary = await run(functools.partial(self._load_view, keys.primary, base, self.recipe))
        english_view = None
        if keys.english:
            english_view = await run(functools.partial(self._load_view, keys.english, self._english, ENGLISH_RECIPE))
        if primary is None or (keys.english and english_view is None):
            # Judged by the multilingual base: its cosine scale is the one BACKGROUND_TOO_CLOSE is set on.
            background = await run(functools.partial(background_for, base, keys.phrasings))
            if primary is None:
                primary = await self._train_view(keys.primary, base, self.recipe, keys.phrasings, background)
            if keys.english and english_view is None:
                english_view = await self._train_view(
                    keys.english, self._english, ENGLISH_RECIPE, keys.english_phrasings, english_background(background)
                )
        return primary if english_view is None else TwoViewAdapter(primary, english_view)

    def _load_view(self, key: str, encoder: Any, recipe: AdapterRecipe) -> KbAdapter | None:
        """On the encoder thread."""
        file = self._file(key)
        if file is None or not file.is_file():
            return None
        try:
            adapter = KbAdapter.load(file, encoder, recipe, key)
        except Exception:
            log.warning("FAQ: the adapter file %s is unreadable; training it again", file, exc_info=True)
            return None
        file.touch()
        return adapter

    async def _train_view(
        self, key: str, encoder: Any, recipe: AdapterRecipe, groups: list[list[str]], background: list[str]
    ) -> KbAdapter:
        started = time.perf_counter()
        run = self.runtime.run
        trainer = await run(functools.partial(AdapterTrainer, encoder, groups, recipe, key=key, background=background))
        # A few steps per call: member questions queued on the encoder thread get their turn in between.
        while not await run(functools.partial(trainer.run, TRAINING_SLICE_STEPS)):
            pass
        adapter = trainer.result()
        log.info(
            "FAQ: adapted %s to a knowledge base of %d entries, %d phrasings in %.1f s",
            type(encoder).__name__,
            len(groups),
            sum(map(len, groups)),
            time.perf_counter() - started,
        )
        if (file := self._file(key)) is not None:
            try:
                await run(functools.partial(adapter.save, file))
                self._prune_files()
            except OSError:
                log.warning("FAQ: could not save the adapter to %s (it is trained again after a restart)", file)
        return adapter

    def _prune_files(self) -> None:
        if self.adapter_dir is None:
            return
        files = sorted(self.adapter_dir.glob("*.pt"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in files[ADAPTER_FILES_KEPT:]:
            with contextlib.suppress(OSError):
                old.unlink()
