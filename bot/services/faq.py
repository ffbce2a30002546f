"""FAQ answering: the knowledge base, matching group questions, answers, suggestions, votes,
unanswered questions and the "save as FAQ" offer.

The service never imports aiogram: it sends through the outbox with plain types and builds its
callback data through the :class:`~bot.domain.buttons.ButtonPort` that the front-end provides.
Encoding runs on one dedicated worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import logging
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from bot.config import FaqSettings
from bot.domain import Button, Delivery, Keyboard, MessageContext, Priority
from bot.domain.buttons import ButtonPort
from bot.i18n import Translator
from bot.services.faq_io import FaqDraft, validate_answer_html
from bot.services.faq_matcher import (
    FaqIndex,
    IndexedEntry,
    Match,
    MatcherParams,
    TextEncoder,
    Thresholds,
)
from bot.services.ports import Sender
from bot.services.questions import is_small_talk
from bot.services.quotas import QuotaReached
from bot.services.settings import community_setting
from bot.storage.faq import GLOBAL, FaqRepository, StoredEntry, Unanswered
from bot.telegram.links import message_link_or_none
from bot.textsafety import SafePattern, compile_pattern, compiled_cached, escape
from bot.timeutil import epoch_now
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
_SLUG_WORD = compile_pattern(r"[a-z0-9]+", name="faq.slug_word")

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
    async def get(self, chat_id: int, message_id: int) -> StoredMessageLike | None: ...


class StoredMessageLike(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def user_id(self) -> int: ...

    @property
    def thread_id(self) -> int | None: ...


def _detect_language(text: str) -> str | None:
    try:
        from models.language import detect_language
    except ImportError:  # pragma: no cover - models/ always ships it
        return None
    return detect_language(text)


def load_encoder(name: str) -> tuple[TextEncoder, str]:
    """The configured encoder and a tag naming it (stored next to every embedding)."""
    from models import encoder as models_encoder

    enc = models_encoder.load_default_encoder() if name == "default" else models_encoder.load_encoder(name)
    tag = f"{'multilingual-e5-small' if name == 'default' else name}:{enc.dim}"
    return enc, tag


@dataclass
class Outcome:
    """What happened to one message (for tests and logs)."""

    action: str  # answer | suggest | abstain | cooldown | skipped
    reason: str = ""
    match: Match | None = None
    delivery: Delivery | None = None


@dataclass(frozen=True)
class _AdapterKeys:
    """Names of one knowledge base's adapters (a hash of encoder, recipe and phrasings per view)."""

    primary: str
    phrasings: list[list[str]]
    english: str  # "" without an English view
    english_phrasings: list[list[str]]

    @property
    def both(self) -> str:
        return f"{self.primary}+{self.english}"


@dataclass
class _Cached:
    revision: int
    index: FaqIndex
    entries: dict[int, StoredEntry] = field(default_factory=dict)
    # Encodes this community's questions: its knowledge-base adapter, or None for the plain encoder.
    encoder: TextEncoder | None = None
    # Built with the community's previous adapter while the one for its edited knowledge base trains.
    provisional: bool = False
    expires: int | None = None  # epoch seconds; a provisional index after a failed training is retried then


class FaqService:
    def __init__(
        self,
        repo: FaqRepository,
        settings: FaqSettings,
        *,
        sender: Sender,
        buttons: ButtonPort,
        roles: Roles,
        messages: Messages,
        encoder_loader: Callable[[], tuple[TextEncoder, str]] | None = None,
        english_loader: Callable[[], tuple[TextEncoder, str]] | None = None,
        params: MatcherParams | None = None,
        clock: Callable[[], int] = epoch_now,
        bot_username: Callable[[], str | None] = lambda: None,
        adapter_dir: Path | None = None,
        recipe: AdapterRecipe | None = None,
        max_entries: int | None = None,
    ) -> None:
        self.max_entries = max_entries  # per community ([quotas] faq_entries); None: no limit
        self.repo = repo
        self.settings = settings
        self.sender = sender
        self.buttons = buttons
        self.roles = roles
        self.messages = messages
        self.params = params or MatcherParams()
        self.clock = clock
        self.bot_username = bot_username
        self._loader = encoder_loader or (lambda: load_encoder(settings.encoder))
        self._encoder: TextEncoder | None = None
        self.encoder_tag = ""
        self._executor: ThreadPoolExecutor | None = None
        self._cache: dict[int, _Cached] = {}
        self._offered: set[tuple[int, int]] = set()
        self._lock = asyncio.Lock()
        self._load_task: asyncio.Task[bool] | None = None
        self._questions: list[tuple[TextEncoder | None, str, asyncio.Future[npt.NDArray[np.float32]]]] = []
        self._question_drainer: asyncio.Task[None] | None = None
        self._failed_at: int | None = None
        # A quantized copy of the multilingual encoder for cheap first reads (escalation's signals).
        self._cheap: TextEncoder | None = None
        self._cheap_task: asyncio.Task[None] | None = None
        self.adapter_dir = adapter_dir
        self.recipe = recipe or AdapterRecipe()
        self._adapters: OrderedDict[str, KbAdapter | TwoViewAdapter] = OrderedDict()
        self._adapter_failed: dict[str, int] = {}
        self._adapter_lock = asyncio.Lock()
        # The English-only encoder of the adapted English view (settings.english_encoder); loaded on
        # the first knowledge base with English phrasings.
        self._english_loader = english_loader
        self._english: Any = None
        self._english_tag = ""
        self._english_failed_at: int | None = None
        # The adapter behind each community's last complete index, and the trainings running in the background.
        self._serving: dict[int, str] = {}
        self._training: dict[str, asyncio.Task[Any]] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the encoder thread. The model loads in the background when there are entries to match,
        otherwise on first use (a bot without a knowledge base never loads it)."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faq-encoder")
        self._lock = asyncio.Lock()
        if await self.repo.has_entries():
            self._load_task = asyncio.create_task(self.ensure_encoder(), name="faq-encoder-load")

    async def ensure_encoder(self) -> bool:
        """Load the encoder once (re-embedding questions saved with another one); False when it cannot load."""
        if self._encoder is not None:
            return True
        if self._executor is None:
            return False
        async with self._lock:
            if self._encoder is not None:
                return True
            if self._retry_later(self._failed_at):
                return False
            loop = asyncio.get_running_loop()
            try:
                encoder, tag = await loop.run_in_executor(self._executor, self._loader)
            except Exception:
                # The bot still runs (sentiment, queue, posts); FAQ stays silent until the encoder loads.
                log.exception("FAQ answering is off: the encoder %r could not be loaded", self.settings.encoder)
                self._failed_at = self.clock()
                return False
            self.encoder_tag = tag
            stale = await self.repo.stale_variants(tag)
            if stale:
                log.info("re-embedding %d FAQ questions for encoder %s", len(stale), tag)
                fn = encoder.encode_queries
                vectors = np.asarray(
                    await loop.run_in_executor(self._executor, fn, [text for _, text in stale]), dtype=np.float32
                )
                await self.repo.set_variant_vectors(
                    [(vid, vec) for (vid, _), vec in zip(stale, vectors, strict=True)], tag
                )
            self._encoder = encoder
            self._cache.clear()
            return True

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._load_task is not None and not self._load_task.done():
            with contextlib.suppress(Exception):
                await self._load_task
        if self._cheap_task is not None and not self._cheap_task.done():
            with contextlib.suppress(Exception):
                await self._cheap_task
        if self._question_drainer is not None and not self._question_drainer.done():
            self._question_drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._question_drainer
        waiting, self._questions = self._questions, []
        for _, _, future in waiting:
            if not future.done():
                future.set_exception(EncoderBusy("the FAQ service is closing"))
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    @property
    def ready(self) -> bool:
        return self._encoder is not None and self._executor is not None

    # --- encoding (off the event loop) ----------------------------------------------------

    async def _run(self, fn: Callable[[list[str]], Vectors], texts: list[str]) -> Vectors:
        if self._executor is None or self._encoder is None:
            raise RuntimeError("the FAQ encoder is not loaded (FaqService.start was not called)")
        return np.asarray(await self._run_any(functools.partial(fn, texts)), dtype=np.float32)

    async def _encode_member_question(self, text: str, encoder: TextEncoder | None) -> npt.NDArray[np.float32]:
        """Encode one member question, batched with the questions that arrive meanwhile.

        While a batch runs on the encoder thread, new questions wait and go together in the next
        call (one forward pass for many is several times cheaper than one each). At most
        QUESTION_QUEUE wait; beyond that EncoderBusy (the message itself is already stored)."""
        if len(self._questions) >= QUESTION_QUEUE:
            raise EncoderBusy(f"{len(self._questions)} questions are waiting for the encoder")
        future: asyncio.Future[npt.NDArray[np.float32]] = asyncio.get_running_loop().create_future()
        self._questions.append((encoder, text, future))
        if self._question_drainer is None or self._question_drainer.done():
            self._question_drainer = asyncio.create_task(self._drain_questions(), name="faq-question-batches")
        return await future

    async def _drain_questions(self) -> None:
        while self._questions:
            batch, self._questions = self._questions[:QUESTION_BATCH], self._questions[QUESTION_BATCH:]
            # One forward pass per encoder: communities with their own adapter go in their own group.
            groups: dict[int, list[tuple[TextEncoder | None, str, asyncio.Future[Vectors]]]] = {}
            for item in batch:
                if not item[2].done():
                    groups.setdefault(id(item[0]), []).append(item)
            for live in groups.values():
                try:
                    vectors = await self.encode_questions([text for _, text, _ in live], encoder=live[0][0])
                except Exception as exc:
                    for _, _, future in live:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), vector in zip(live, vectors, strict=True):
                    if not future.done():
                        future.set_result(vector)

    async def embed_plain(self, texts: Sequence[str], cheap: bool = False) -> Vectors | None:
        """Plain-encoder vectors for another feature (escalation signals), batched with member questions.

        ``cheap``: from an int8-quantized copy of the encoder (several times faster, cosine about 0.98 to
        the full one), loaded on first use; None until it is.

        None while the encoder is not loaded: its load is started in the background, and the caller
        judges without vectors meanwhile rather than waiting on the load. EncoderBusy when the queue is
        full; EncoderUnsuitable when the encoder is not multilingual (an English-only or stand-in one).
        """
        if not self.ready:
            if (
                self._executor is not None
                and (self._load_task is None or self._load_task.done())
                and not self._retry_later(self._failed_at)
            ):
                self._load_task = asyncio.create_task(self.ensure_encoder(), name="faq-encoder-load")
            return None
        if getattr(self._encoder, "multilingual", False) is not True:
            raise EncoderUnsuitable(f"the FAQ encoder {self.encoder_tag} is not multilingual-e5")
        encoder: TextEncoder | None = None
        if cheap:
            if self._cheap is None:
                if self._cheap_task is None:
                    self._cheap_task = asyncio.create_task(self._load_cheap(), name="faq-cheap-encoder-load")
                return None
            encoder = self._cheap
        if len(texts) > QUESTION_BATCH:
            return await self.encode_questions(texts, encoder=encoder)
        vectors = await asyncio.gather(*(self._encode_member_question(text, encoder) for text in texts))
        return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 0), dtype=np.float32)

    async def _load_cheap(self) -> None:
        def load() -> TextEncoder:
            from models.encoder import E5Encoder

            return E5Encoder(quantize=True)  # shares the in-memory word embeddings with the others

        try:
            self._cheap = await self._run_any(load)
        except Exception:
            log.exception("the quantized encoder could not be loaded; escalation reads with the full one")

    async def encode_questions(self, texts: Sequence[str], *, encoder: TextEncoder | None = None) -> Vectors:
        """Plain-encoder vectors (stored with the entries), or ``encoder``'s (a community's adapter)."""
        # FAQ questions and member questions are the same kind of text: both get the "query: " side.
        if not await self.ensure_encoder() or self._encoder is None:
            raise RuntimeError(f"the FAQ encoder {self.settings.encoder!r} is not available (see the log)")
        return await self._run((encoder or self._encoder).encode_queries, list(texts))

    # --- adapting the encoder to a knowledge base (models/faq_adapter.py) --------------------

    @property
    def adapts(self) -> bool:
        return self.settings.adapt and self._encoder is not None and supports_adaptation(self._encoder)

    async def _adapter_keys(self, groups: Sequence[Sequence[str]]) -> _AdapterKeys:
        phrasings = [list(g) for g in groups]
        if self._english is None and self._english_loader is not None:
            async with self._adapter_lock:
                await self._ensure_english()
        english = english_groups(phrasings) if self._english is not None else []
        return _AdapterKeys(
            kb_key(self.encoder_tag, self.recipe, phrasings),
            phrasings,
            kb_key(self._english_tag, ENGLISH_RECIPE, english) if english else "",
            english,
        )

    def _adapter_file(self, key: str) -> Path | None:
        return self.adapter_dir / f"{key}.pt" if self.adapter_dir is not None else None

    def _on_disk(self, keys: _AdapterKeys) -> bool:
        files = [self._adapter_file(k) for k in (keys.primary, keys.english) if k]
        return all(f is not None and f.is_file() for f in files)

    async def adapter_for(self, groups: Sequence[Sequence[str]]) -> KbAdapter | TwoViewAdapter | None:
        """The adapter for these phrasings: in memory, on disk, or trained now on the encoder thread.

        With an English encoder and English phrasings it has two views (models/faq_adapter.TwoViewAdapter).
        None when training failed (retried after LOAD_RETRY_S); the failure is logged."""
        return await self._adapter(await self._adapter_keys(groups))

    async def _adapter(self, keys: _AdapterKeys) -> KbAdapter | TwoViewAdapter | None:
        if (adapter := self._adapters.get(keys.both)) is not None:
            self._adapters.move_to_end(keys.both)
            return adapter
        # One training at a time: it takes the encoder thread anyway, and a second caller then finds it done.
        async with self._adapter_lock:
            if (adapter := self._adapters.get(keys.both)) is not None:
                return adapter
            if self._retry_later(self._adapter_failed.get(keys.both)):
                return None
            try:
                adapter = await self._load_or_train(keys)
            except Exception:
                log.exception("FAQ: adapting the encoder to a knowledge base failed; its questions stay unanswered")
                self._adapter_failed[keys.both] = self.clock()
                return None
            self._adapter_failed.pop(keys.both, None)
            self._adapters[keys.both] = adapter
            while len(self._adapters) > ADAPTERS_IN_MEMORY:
                self._adapters.popitem(last=False)
            return adapter

    async def _ensure_english(self) -> bool:
        """Load the English encoder once (under _adapter_lock); False when there is none: not configured,
        or it failed to load (retried after LOAD_RETRY_S)."""
        if self._english is not None:
            return True
        if self._english_loader is None:
            return False
        if self._retry_later(self._english_failed_at):
            return False
        try:
            encoder, tag = await self._run_any(self._english_loader)
        except Exception:
            log.exception(
                "FAQ: the English encoder %r could not be loaded; English questions are matched by the main "
                "encoder alone",
                self.settings.english_encoder,
            )
            self._english_failed_at = self.clock()
            return False
        if not supports_adaptation(encoder):
            log.warning("FAQ: the English encoder %s cannot be adapted; it is not used", tag)
            self._english_loader = None
            return False
        self._english, self._english_tag = encoder, tag
        return True

    async def _load_or_train(self, keys: _AdapterKeys) -> KbAdapter | TwoViewAdapter:
        """Each view from its file, or trained (in slices on the encoder thread) and saved."""
        base: Any = self._encoder
        primary = await self._run_any(functools.partial(self._load_view, keys.primary, base, self.recipe))
        english_view = None
        if keys.english:
            load = functools.partial(self._load_view, keys.english, self._english, ENGLISH_RECIPE)
            english_view = await self._run_any(load)
        if primary is None or (keys.english and english_view is None):
            # Judged by the multilingual base: its cosine scale is the one BACKGROUND_TOO_CLOSE is set on.
            background = await self._run_any(functools.partial(background_for, base, keys.phrasings))
            if primary is None:
                primary = await self._train_view(keys.primary, base, self.recipe, keys.phrasings, background)
            if keys.english and english_view is None:
                english_view = await self._train_view(
                    keys.english, self._english, ENGLISH_RECIPE, keys.english_phrasings, english_background(background)
                )
        return primary if english_view is None else TwoViewAdapter(primary, english_view)

    def _load_view(self, key: str, encoder: Any, recipe: AdapterRecipe) -> KbAdapter | None:
        """On the encoder thread."""
        file = self._adapter_file(key)
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
        trainer = await self._run_any(
            functools.partial(AdapterTrainer, encoder, groups, recipe, key=key, background=background)
        )
        # A few steps per call: member questions queued on the encoder thread get their turn in between.
        while not await self._run_any(functools.partial(trainer.run, TRAINING_SLICE_STEPS)):
            pass
        adapter = trainer.result()
        log.info(
            "FAQ: adapted %s to a knowledge base of %d entries, %d phrasings in %.1f s",
            type(encoder).__name__,
            len(groups),
            sum(map(len, groups)),
            time.perf_counter() - started,
        )
        if (file := self._adapter_file(key)) is not None:
            try:
                await self._run_any(functools.partial(adapter.save, file))
                self._prune_adapter_files()
            except OSError:
                log.warning("FAQ: could not save the adapter to %s (it is trained again after a restart)", file)
        return adapter

    def _prune_adapter_files(self) -> None:
        if self.adapter_dir is None:
            return
        files = sorted(self.adapter_dir.glob("*.pt"), key=lambda f: f.stat().st_mtime, reverse=True)
        for old in files[ADAPTER_FILES_KEPT:]:
            with contextlib.suppress(OSError):
                old.unlink()

    async def _run_any(self, fn: Callable[[], Any]) -> Any:
        if self._executor is None:
            raise RuntimeError("the FAQ service is not started")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    # --- knowledge base --------------------------------------------------------------------

    async def entries_left(self, chat_id: int) -> int | None:
        """New entries the community may still add (None: no quota)."""
        if self.max_entries is None or chat_id == GLOBAL:
            return None
        return max(0, self.max_entries - await self.repo.count_entries(chat_id))

    async def _check_quota(self, chat_id: int, new: int) -> None:
        """Raise QuotaReached when ``new`` more entries would take the community past its quota."""
        if self.max_entries is None or chat_id == GLOBAL or new <= 0:
            return
        if await self.repo.count_entries(chat_id) + new > self.max_entries:
            raise QuotaReached("faq_entries", self.max_entries)

    async def save_draft(self, chat_id: int, draft: FaqDraft, *, created_by: int | None = None) -> int:
        if await self.repo.get_by_key(chat_id, draft.key) is None:
            await self._check_quota(chat_id, 1)
        vectors = await self.encode_questions(list(draft.questions))
        entry_id = await self.repo.save(
            chat_id=chat_id,
            key=draft.key,
            questions=draft.questions,
            vectors=vectors,
            encoder=self.encoder_tag,
            answer=draft.answer,
            answers=draft.answers,
            buttons=draft.buttons,
            thread_id=draft.thread_id,
            enabled=draft.enabled,
            created_by=created_by,
        )
        self._knowledge_changed(chat_id)
        return entry_id

    async def import_drafts(self, chat_id: int, drafts: Sequence[FaqDraft]) -> tuple[int, int]:
        """Save every draft in one transaction (all or nothing). Returns (created, updated)."""
        keys = {d.key for d in drafts}
        known = {k for k in keys if await self.repo.get_by_key(chat_id, k) is not None}
        await self._check_quota(chat_id, len(keys - known))
        texts = [q for d in drafts for q in d.questions]
        vectors = await self.encode_questions(texts) if texts else np.zeros((0, 0), dtype=np.float32)
        created = updated = 0
        at = 0
        async with self.repo.db.transaction():
            for d in drafts:
                existing = await self.repo.db.fetchval(
                    "SELECT id FROM faq_entries WHERE chat_id = ? AND key = ?", (chat_id, d.key)
                )
                n = len(d.questions)
                await self.repo.save(
                    chat_id=chat_id,
                    key=d.key,
                    questions=d.questions,
                    vectors=vectors[at : at + n],
                    encoder=self.encoder_tag,
                    answer=d.answer,
                    answers=d.answers,
                    buttons=d.buttons,
                    thread_id=d.thread_id,
                    enabled=d.enabled,
                    in_transaction=True,
                )
                at += n
                if existing is None:
                    created += 1
                else:
                    updated += 1
        self._knowledge_changed(chat_id)
        return created, updated

    def _knowledge_changed(self, chat_id: int) -> None:
        """Drop the cached indexes; adapt to the new phrasings now rather than at the next question."""
        self._cache.clear()
        if chat_id == GLOBAL or not self.adapts or self._executor is None:
            return
        task = asyncio.create_task(self.index_for(chat_id), name=f"faq-adapt-{chat_id}")
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("FAQ: re-indexing after an edit failed", exc_info=task.exception())

    async def new_key(self, chat_id: int, question: str) -> str:
        base = _slug(question) or "faq"
        key, n = base, 2
        while await self.repo.get_by_key(chat_id, key) is not None:
            key, n = f"{base}-{n}", n + 1
        return key

    async def add_entry(
        self, chat_id: int, questions: Sequence[str], answer: str, *, created_by: int | None
    ) -> StoredEntry:
        questions = _clean_questions(questions)
        if not questions:
            raise ValueError("an entry needs at least one question")
        why = validate_answer_html(answer)
        if why:
            raise ValueError(f"answer {why}")
        key = await self.new_key(chat_id, questions[0])
        entry_id = await self.save_draft(chat_id, FaqDraft(key, tuple(questions), answer), created_by=created_by)
        entry = await self.repo.get(entry_id)
        assert entry is not None
        return entry

    async def add_questions(self, entry_id: int, questions: Sequence[str]) -> int:
        entry = await self.repo.get(entry_id)
        if entry is None:
            raise KeyError(entry_id)
        new = [q for q in _clean_questions(questions) if q not in entry.questions]
        if new:
            vectors = await self.encode_questions(new)
            await self.repo.add_questions(entry_id, new, vectors, self.encoder_tag)
            self._knowledge_changed(entry.chat_id)
        return len(new)

    async def set_answer(self, entry_id: int, answer: str) -> None:
        why = validate_answer_html(answer)
        if why:
            raise ValueError(f"answer {why}")
        if not await self.repo.set_answer(entry_id, answer):
            raise KeyError(entry_id)  # deleted while the admin was writing
        self._cache.clear()

    async def set_enabled(self, entry_id: int, enabled: bool) -> None:
        await self.repo.set_enabled(entry_id, enabled)
        self._cache.clear()

    async def delete(self, entry_id: int) -> bool:
        done = await self.repo.delete(entry_id)
        self._cache.clear()
        return done

    async def entries_for(self, chat_id: int) -> list[StoredEntry]:
        return await self.repo.list_entries([chat_id, GLOBAL])

    # --- matching ----------------------------------------------------------------------------

    async def index_for(self, chat_id: int) -> _Cached:
        revision = await self.repo.revision()
        cached = self._cache.get(chat_id)
        if cached is not None and cached.revision == revision and (cached.expires or 1 << 62) > self.clock():
            return cached
        rows = await self.repo.with_vectors([chat_id, GLOBAL], enabled_only=True)
        entries = [
            IndexedEntry(r.entry.id, r.entry.questions, r.vectors, r.entry.thread_id)
            for r in rows
            if r.vectors.shape[0] and all(tag == self.encoder_tag for tag in r.encoders)
        ]
        encoder: TextEncoder | None = None
        provisional, expires = False, None
        if entries and self.adapts:
            keys = await self._adapter_keys([e.variants for e in entries])
            previous = self._adapters.get(self._serving.get(chat_id, ""))
            adapter: KbAdapter | TwoViewAdapter | None
            if keys.both not in self._adapters and previous is not None and not self._on_disk(keys):
                # An edit: until the new adapter is trained (minutes on a large knowledge base) the previous
                # one answers, in the same kind of space and on the same thresholds, rather than silence.
                failed = self._adapter_failed.get(keys.both)
                if failed is not None and self._retry_later(failed):
                    expires = failed + LOAD_RETRY_S
                else:
                    self._adapt_in_background(keys)
                adapter, provisional = previous, True
            else:
                adapter = await self._adapter(keys)
            if adapter is None:
                entries = []  # the thresholds are for the adapted space: better silent than wrong
            else:
                if not provisional:
                    self._serving[chat_id] = keys.both
                flat = [v for e in entries for v in e.variants]
                vectors = await self._run(adapter.encode_phrasings, flat)
                adapted, at = [], 0
                for e in entries:
                    rows_of_entry = vectors[at : at + len(e.variants)]
                    adapted.append(IndexedEntry(e.entry_id, e.variants, rows_of_entry, e.thread_id))
                    at += len(e.variants)
                entries, encoder = adapted, adapter
        params = self.params.adapted() if encoder is not None else self.params
        if isinstance(encoder, TwoViewAdapter):
            params = params.with_english_view(encoder.english_dim)
        entries_by_id = {r.entry.id: r.entry for r in rows}
        cached = _Cached(revision, FaqIndex(entries, params), entries_by_id, encoder, provisional, expires)
        self._cache[chat_id] = cached
        return cached

    def _retry_later(self, failed_at: int | None) -> bool:
        """Whether something that failed at ``failed_at`` (None: never) is still inside LOAD_RETRY_S."""
        return failed_at is not None and self.clock() - failed_at < LOAD_RETRY_S

    def _adapt_in_background(self, keys: _AdapterKeys) -> None:
        if keys.both in self._training:
            return
        task = asyncio.create_task(self._adapter(keys), name=f"faq-adapt-{keys.primary[:8]}")
        self._training[keys.both] = task
        self._background.add(task)
        task.add_done_callback(functools.partial(self._adapted_in_background, keys.both))

    def _adapted_in_background(self, key: str, task: asyncio.Task[Any]) -> None:
        self._training.pop(key, None)
        self._background_done(task)
        # The communities answering with a previous adapter rebuild their index on the next question.
        for chat_id in [c for c, cached in self._cache.items() if cached.provisional]:
            del self._cache[chat_id]

    def thresholds(self, ctx: MessageContext | None = None) -> Thresholds:
        s = self.settings
        if ctx is None:
            return Thresholds(s.answer_threshold, min(s.suggest_threshold, s.answer_threshold), s.margin)
        community = ctx.community
        answer = community_setting(community, "faq.answer_threshold", s.answer_threshold)
        suggest = community_setting(community, "faq.suggest_threshold", s.suggest_threshold)
        margin = community_setting(community, "faq.margin", s.margin)
        return Thresholds(answer, min(suggest, answer), margin)

    async def match(
        self, chat_id: int, text: str, *, thread_id: int | None = None, thresholds: Thresholds | None = None
    ) -> tuple[Match, Vectors]:
        cached = await self.index_for(chat_id)
        vector = (await self.encode_questions([text], encoder=cached.encoder))[0]
        th = thresholds or self.thresholds()
        return cached.index.match(text, vector, th, thread_id=thread_id), vector

    # --- the listener ------------------------------------------------------------------------

    async def on_message(self, ctx: MessageContext) -> None:
        await self.handle(ctx)

    async def handle(self, ctx: MessageContext) -> Outcome:
        msg = ctx.msg
        if msg.is_edit or msg.author.is_bot or not msg.text.strip() or msg.text.lstrip().startswith("/"):
            return Outcome("skipped", "not a member's text message")
        if not self.settings.enabled or self._executor is None:
            return Outcome("skipped", "faq disabled")
        mode = community_setting(ctx.community, "faq.mode", self.settings.mode)
        if mode not in MODES or mode == "off":
            return Outcome("skipped", "mode off")
        await self._maybe_offer_save(ctx)
        text = self._strip_mention(msg.text)
        addressed = msg.mentions_bot or msg.replies_to_bot
        if mode == "mention":
            if not addressed:
                return Outcome("skipped", "mention mode and not addressed")
            if not text.strip() or is_small_talk(text):
                return Outcome("skipped", "small talk")
        else:
            if not ctx.is_question:
                return Outcome("skipped", "not a question")
            if msg.reply_to_user_id is not None and not msg.replies_to_bot:
                # A member asking another member in a reply: not our conversation.
                return Outcome("skipped", "reply to another member")
        now = self.clock()
        recent = await self.repo.member_replies_since(msg.chat_id, msg.author.user_id, now - 3600)
        limit = community_setting(ctx.community, "faq.member_answers_per_hour", self.settings.member_answers_per_hour)
        if recent >= limit:
            log.info(
                "faq: member %s in %s reached %d replies this hour; staying quiet",
                msg.author.user_id,
                msg.chat_id,
                limit,
            )
            return Outcome("skipped", "member limit")
        if not await self.repo.has_entries(msg.chat_id):
            return Outcome("skipped", "empty knowledge base")
        if not await self.ensure_encoder():
            return Outcome("skipped", "encoder not available")
        cached = await self.index_for(msg.chat_id)
        if not len(cached.index):
            return Outcome("skipped", "no enabled entries")
        try:
            vector = await self._encode_member_question(text, cached.encoder)
        except EncoderBusy:
            log.warning("faq: encoder queue full; question %s/%s stays unanswered", msg.chat_id, msg.message_id)
            return Outcome("skipped", "encoder busy")
        match = cached.index.match(text, vector, self.thresholds(ctx), thread_id=msg.thread_id)
        best = match.best
        log.info(
            "faq: %s/%s band=%s best=%s",
            msg.chat_id,
            msg.message_id,
            match.band,
            f"{best.entry_id}:{best.score:.3f}" if best else "-",
        )
        if match.band == "answer" and best is not None:
            entry = cached.entries[best.entry_id]
            return await self._answer_or_link(ctx, entry, best.score, text, match)
        if match.band == "suggest":
            return await self._suggest(ctx, match, cached, text)
        await self.repo.record_unanswered(
            chat_id=msg.chat_id,
            message_id=msg.message_id,
            thread_id=msg.thread_id,
            user_id=msg.author.user_id,
            text=msg.text,
            language=_detect_language(text),
            best_entry_id=best.entry_id if best else None,
            best_score=best.score if best else None,
            encoder=self.encoder_tag,
            vector=vector,
            at=now,
        )
        return Outcome("abstain", "below the suggest threshold", match)

    def _strip_mention(self, text: str) -> str:
        name = self.bot_username()
        return " ".join(mention_pattern(name).sub(" ", text).split())

    def answer_text(self, entry: StoredEntry, question: str, language_code: str | None) -> str:
        lang = _detect_language(question)
        if lang and lang in entry.answers:
            return entry.answers[lang]
        if lang is None and language_code:
            code = language_code.split("-")[0].lower()
            if code in entry.answers:
                return entry.answers[code]
        return entry.answer

    def _answer_keyboard(self, entry: StoredEntry, answer_id: int) -> Keyboard:
        rows: Keyboard = [[Button(text, url=url)] for text, url in entry.buttons]
        rows.append(
            [
                Button("👍", callback_data=self.buttons.faq_vote(answer_id, True)),
                Button("👎", callback_data=self.buttons.faq_vote(answer_id, False)),
            ]
        )
        return rows

    async def _answer_or_link(
        self, ctx: MessageContext, entry: StoredEntry, score: float, question: str, match: Match
    ) -> Outcome:
        msg = ctx.msg
        now = self.clock()
        cooldown = community_setting(ctx.community, "faq.cooldown_minutes", self.settings.cooldown_minutes)
        if cooldown > 0:
            earlier = await self.repo.recent_answer(msg.chat_id, entry.id, now - cooldown * 60)
            if earlier is not None and earlier.message_id is not None:
                return await self._link_back(
                    ctx, entry, earlier.message_id, earlier.thread_id, earlier.created_at, score, match
                )
        delivery = await self.post_answer(
            chat_id=msg.chat_id,
            entry=entry,
            question=question,
            language_code=msg.author.language_code,
            thread_id=msg.thread_id,
            reply_to=msg.message_id,
            asker_id=msg.author.user_id,
            score=score,
            how="answer",
        )
        return Outcome("answer", "", match, delivery)

    async def post_answer(
        self,
        *,
        chat_id: int,
        entry: StoredEntry,
        question: str,
        language_code: str | None,
        thread_id: int | None,
        reply_to: int | None,
        asker_id: int,
        score: float | None,
        how: str,
    ) -> Delivery:
        answer_id = await self.repo.record_answer(
            chat_id=chat_id,
            entry_id=entry.id,
            thread_id=thread_id,
            question_message_id=reply_to,
            user_id=asker_id,
            score=score,
            how=how,
            at=self.clock(),
        )
        return await self.send_answer(
            answer_id,
            chat_id=chat_id,
            entry=entry,
            question=question,
            language_code=language_code,
            thread_id=thread_id,
            reply_to=reply_to,
        )

    async def send_answer(
        self,
        answer_id: int,
        *,
        chat_id: int,
        entry: StoredEntry,
        question: str,
        language_code: str | None,
        thread_id: int | None,
        reply_to: int | None,
    ) -> Delivery:
        """Post the answer of a recorded answer row; a failed send forgets the row (it may be tried again)."""
        delivery = await self.sender.send_message(
            chat_id,
            self.answer_text(entry, question, language_code),
            thread_id=thread_id,
            reply_to=reply_to,
            keyboard=self._answer_keyboard(entry, answer_id),
            priority=Priority.REPLY,
        )
        if delivery.ok:
            await self.repo.set_answer_message(answer_id, delivery.message_ids[-1] if delivery.message_ids else None)
        else:
            log.warning("faq: could not answer in %s: %s", chat_id, delivery.error)
            await self.repo.forget_answer(answer_id)
        return delivery

    async def _link_back(
        self,
        ctx: MessageContext,
        entry: StoredEntry,
        message_id: int,
        thread_id: int | None,
        at: int,
        score: float,
        match: Match,
    ) -> Outcome:
        msg = ctx.msg
        t = Translator(ctx.community.language)
        minutes = max(1, (self.clock() - at) // 60)
        link = message_link_or_none(msg.chat_id, message_id, username=ctx.community.username, thread_id=thread_id)
        if link is not None:
            text = t(
                'I answered this {minutes} min ago: <a href="{link}">see the answer</a>.',
                minutes=minutes,
                link=html.escape(link, quote=True),
            )
        else:
            text = t("I answered this {minutes} min ago, just above.", minutes=minutes)
        await self.repo.record_answer(
            chat_id=msg.chat_id,
            entry_id=entry.id,
            thread_id=msg.thread_id,
            question_message_id=msg.message_id,
            user_id=msg.author.user_id,
            score=score,
            how="cooldown",
            at=self.clock(),
        )
        delivery = await self.sender.send_message(
            msg.chat_id,
            text,
            thread_id=msg.thread_id,
            reply_to=msg.message_id,
            priority=Priority.REPLY,
        )
        return Outcome("cooldown", "", match, delivery)

    async def _suggest(self, ctx: MessageContext, match: Match, cached: _Cached, question: str) -> Outcome:
        msg = ctx.msg
        t = Translator(ctx.community.language)
        rows: Keyboard = []
        for cand in match.candidates:
            entry = cached.entries[cand.entry_id]
            label = _label(entry.questions[0] if entry.questions else entry.key)
            rows.append([Button(label, callback_data=self.buttons.faq_pick(entry.id, msg.message_id))])
        await self.repo.record_answer(
            chat_id=msg.chat_id,
            entry_id=None,
            thread_id=msg.thread_id,
            question_message_id=msg.message_id,
            user_id=msg.author.user_id,
            score=match.best.score if match.best else None,
            how="suggestion",
            at=self.clock(),
        )
        delivery = await self.sender.send_message(
            msg.chat_id,
            t("Did you mean…?"),
            thread_id=msg.thread_id,
            reply_to=msg.message_id,
            keyboard=rows,
            priority=Priority.REPLY,
        )
        return Outcome("suggest", "", match, delivery)

    async def pick(
        self,
        *,
        chat_id: int,
        entry_id: int,
        question_message_id: int,
        suggestion_message_id: int,
        thread_id: int | None,
        user_id: int,
        language_code: str | None,
    ) -> str:
        """A suggestion button was pressed: post that answer once. Returns a short status for the toast.

        At most one answer per question, and only for a question the bot really suggested answers to (so a
        forged press cannot make it answer any message, and the member limit that held back suggestions
        bounds the picks too). The claim is one transaction: two quick presses cannot both post."""
        entry = await self.repo.get(entry_id)
        if entry is None or not entry.enabled or entry.chat_id not in (chat_id, GLOBAL):
            return "gone"
        question = ""
        stored = await self.messages.get(chat_id, question_message_id)
        asker = user_id
        if stored is not None:
            question, asker = stored.text, stored.user_id
        claim = await self.repo.claim_pick(
            chat_id=chat_id,
            entry_id=entry.id,
            thread_id=thread_id,
            question_message_id=question_message_id,
            user_id=asker,
            at=self.clock(),
        )
        if isinstance(claim, str):
            return "already" if claim == "already" else "gone"
        delivery = await self.send_answer(
            claim,
            chat_id=chat_id,
            entry=entry,
            question=question,
            language_code=language_code,
            thread_id=thread_id,
            reply_to=question_message_id,
        )
        if not delivery.ok:
            return "failed"
        await self.sender.edit_keyboard(chat_id, suggestion_message_id, None)
        return "posted"

    async def vote(
        self, answer_id: int, user_id: int, up: bool, *, chat_id: int | None = None
    ) -> tuple[int, int] | None:
        """Store one member's vote (a second press changes it). ``chat_id``: where the button was pressed."""
        record = await self.repo.get_answer(answer_id)
        if record is None or (chat_id is not None and record.chat_id != chat_id):
            return None
        return await self.repo.vote(answer_id, user_id, 1 if up else -1, self.clock())

    # --- unanswered ------------------------------------------------------------------------

    async def unanswered_groups(self, chat_id: int, *, similarity: float | None = None) -> list[list[Unanswered]]:
        """Open unanswered questions, grouped greedily by embedding similarity (biggest group first)."""
        items = await self.repo.open_unanswered(chat_id)
        threshold = similarity if similarity is not None else self.settings.answer_threshold
        groups: list[tuple[Vectors | None, list[Unanswered]]] = []
        for item in sorted(items, key=lambda u: u.created_at):
            v = item.vector if item.encoder == self.encoder_tag else None
            placed = False
            if v is not None:
                best_i, best_s = -1, -1.0
                for i, (centroid, _) in enumerate(groups):
                    if centroid is None:
                        continue
                    s = float(centroid @ v)
                    if s > best_s:
                        best_i, best_s = i, s
                if best_i >= 0 and best_s >= threshold:
                    centroid, members = groups[best_i]
                    members.append(item)
                    assert centroid is not None
                    mean = centroid * (len(members) - 1) + v
                    groups[best_i] = (mean / max(float(np.linalg.norm(mean)), 1e-12), members)
                    placed = True
            if not placed:
                groups.append((v, [item]))
        out = [members for _, members in groups]
        out.sort(key=lambda g: (-len(g), -max(u.created_at for u in g)))
        return out

    async def entry_from_unanswered(
        self, chat_id: int, ids: Sequence[int], answer: str, *, created_by: int | None
    ) -> StoredEntry:
        items = await self.repo.unanswered_by_ids(chat_id, ids)
        if not items:
            raise KeyError("those questions are no longer open")
        entry = await self.add_entry(chat_id, [u.text for u in items][:20], answer, created_by=created_by)
        await self.repo.resolve_unanswered(chat_id, [u.id for u in items], entry.id, "resolved")
        return entry

    # --- "save as FAQ" ----------------------------------------------------------------------

    async def _maybe_offer_save(self, ctx: MessageContext) -> None:
        """A manager or admin answered a member's question by replying in the group: offer to save it."""
        msg = ctx.msg
        if msg.reply_to_message_id is None or msg.reply_to_user_id is None or msg.replies_to_bot:
            return
        if msg.reply_to_user_id == msg.author.user_id or ctx.is_question:
            return
        key = (msg.chat_id, msg.reply_to_message_id)
        if key in self._offered:
            return
        question = await self.messages.get(msg.chat_id, msg.reply_to_message_id)
        if question is None or not question.text.strip():
            return
        from bot.services.questions import is_question

        if not is_question(question.text):
            return
        if not await self.roles.can_manage(msg.chat_id, msg.author.user_id, sender_chat_id=msg.author.sender_chat_id):
            return
        if msg.author.sender_chat_id is not None:
            return  # an anonymous admin has no private chat to offer it in
        self._offered.add(key)
        t = Translator(msg.author.language_code or ctx.community.language)
        text = t(
            "You answered a question in {chat}. Save it as a FAQ entry, so I can answer it next time?\n\n"
            "<b>Question:</b> {question}\n<b>Answer:</b> {answer}",
            chat=html.escape(ctx.community.title),
            question=html.escape(_short(question.text, 300)),
            answer=html.escape(_short(msg.text, 600)),
        )
        keyboard: Keyboard = [
            [
                Button(
                    t("💾 Save as FAQ"),
                    callback_data=self.buttons.faq_save(msg.chat_id, msg.reply_to_message_id, msg.message_id),
                )
            ]
        ]
        delivery = await self.sender.send_message(msg.author.user_id, text, keyboard=keyboard)
        if not delivery.ok:
            log.info("faq: could not offer 'save as FAQ' to %s privately: %s", msg.author.user_id, delivery.error)

    async def save_from_reply(
        self, chat_id: int, question_message_id: int, answer_message_id: int, *, user_id: int
    ) -> StoredEntry:
        question = await self.messages.get(chat_id, question_message_id)
        answer = await self.messages.get(chat_id, answer_message_id)
        if question is None or answer is None:
            raise KeyError("the messages are no longer stored")
        entry = await self.add_entry(chat_id, [question.text], html.escape(answer.text), created_by=user_id)
        return entry


def _clean_questions(questions: Sequence[str]) -> list[str]:
    out: list[str] = []
    for q in questions:
        q = " ".join(q.split())
        if q and q not in out and len(q) <= 500:
            out.append(q)
    return out


def mention_pattern(bot_username: str | None) -> SafePattern:
    """``@bot`` mentions; bot usernames are ASCII and end in "bot", so RE2's ASCII ``\\b`` fits."""
    source = rf"@{escape(bot_username)}\b" if bot_username else r"@\w*bot\b"
    return compiled_cached(source, name="faq.mention", ignorecase=True)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = _SLUG_WORD.findall(ascii_text)
    return "-".join(words[:5])[:40].strip("-")


def _label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUGGESTION_LABEL else text[: SUGGESTION_LABEL - 1] + "…"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["FaqService", "Outcome", "load_encoder"]
