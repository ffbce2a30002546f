"""The thread policy inside EscalationService: signals per message, the judgment, waiting.

:class:`ThreadSignals` embeds member messages (through the FAQ's multilingual encoder, batched with
member questions) only when a cheap gate lets them through, and remembers the result per message, so a
thread's window costs one embedding per new message. :class:`ThreadEscalation` judges threads, keeps
threads waiting in ``escalation_watch`` (judged again by the scheduler's escalation check, so a restart
keeps them) and opens their cases through :meth:`bot.services.escalation.opening.CaseOpener.open_or_join`,
the one place every reason a thread's case opens ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from bot.domain import Community, MessageContext
from bot.domain.cases import Watch
from bot.domain.messages import StoredMessage
from bot.services.escalation.context import Context, Part
from bot.services.escalation.judge import Judgment, ThreadJudge, ThreadMessage, ThreadSettings
from bot.services.escalation.opening import CaseOpener, CaseReason
from bot.services.escalation.signals import (
    CHEAP_MARGIN_COSINE,
    CLASSES,
    Head,
    MessageSignals,
    SignalModel,
    prototype_texts,
)
from bot.services.faq import EncoderUnsuitable
from bot.storage.watches import WatchRepository
from models.escalation_head import load_head

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
# Multilingual-encoder vectors for texts (cheap=True: a quantized, faster copy), or None while the
# encoder is not available.
Embedder = Callable[[list[str], bool], Awaitable[Vectors | None]]

RETRY_SECONDS = 60  # a thread the encoder could not read yet is judged again this much later
SIGNAL_CACHE = 20_000  # messages whose signals are remembered
# The gate: a member message of at least min_words words that is not confidently positive is embedded.
GATE_POSITIVE = 0.98
# Two reads: the quantized encoder first; only messages it finds at least ``SignalModel.cheap_margin``
# close to a need (margin over ordinary talk) are read again by the full encoder, whose margins the
# thresholds are set on.
CHEAP_MARGIN = CHEAP_MARGIN_COSINE  # the prototypes' scale (kept for callers that read it)


class ThreadSignals:
    """Per-message encoder signals with a cheap gate and a cache."""

    def __init__(self, embed: Embedder | None, *, full_read: bool = True, head: Head | None = None) -> None:
        self.embed = embed
        self.head = head  # the trained head (models/escalation_head.py), or None: the prototypes decide
        self.full_read = full_read  # False: the quantized read decides alone (escalation.read = "quantized")
        self._models: dict[bool, SignalModel] = {}
        self._model_lock = asyncio.Lock()
        self._cache: OrderedDict[tuple[int, int], MessageSignals] = OrderedDict()
        self.unsuitable = False  # the encoder is not multilingual-e5: the message rules apply instead
        self.embedded = 0  # messages read by the full encoder (for benchmarks)
        self.cheap = 0  # messages read by the quantized encoder
        self.gated = 0  # messages the gate kept from the encoder

    @property
    def available(self) -> bool:
        return self.embed is not None and not self.unsuitable

    async def model(self, cheap: bool = False) -> SignalModel | None:
        """The prototypes embedded by the full (or the quantized) encoder; None until it is available."""
        if cheap in self._models or self.embed is None:
            return self._models.get(cheap)
        async with self._model_lock:
            if cheap not in self._models:
                pairs = prototype_texts()
                vectors = await self.embed([text for _, text in pairs], cheap)
                if vectors is None:
                    return None
                model = SignalModel(vectors, [name for name, _ in pairs], head=self.head)
                assert set(model.classes) == set(CLASSES)
                self._models[cheap] = model
        return self._models[cheap]

    async def _read(self, texts: list[str]) -> list[MessageSignals] | None:
        """Signals for texts: a cheap read for all, a full read for the ones near a need."""
        assert self.embed is not None
        out: list[MessageSignals | None] = [None] * len(texts)
        todo = list(range(len(texts)))
        cheap_model = await self.model(cheap=True)
        if cheap_model is not None:
            cheap_vectors = await self.embed(texts, True)
            if cheap_vectors is not None:
                self.cheap += len(texts)
                todo = []
                for i, vector in enumerate(cheap_vectors):
                    first = cheap_model.signals(vector, need_margin=0.0, need_floor=0.0)
                    if self.full_read and first.margin >= cheap_model.cheap_margin:
                        todo.append(i)
                    else:
                        out[i] = first  # plainly ordinary talk
        if todo:
            model = await self.model()
            vectors = await self.embed([texts[i] for i in todo], False) if model is not None else None
            if model is None or vectors is None:
                return None
            self.embedded += len(todo)
            for i, vector in zip(todo, vectors, strict=True):
                out[i] = model.signals(vector, need_margin=0.0, need_floor=0.0)
        return [s for s in out if s is not None]

    @staticmethod
    def gate(m: StoredMessage, settings: ThreadSettings, staff: set[int]) -> bool:
        if m.user_id in staff or len(m.text.split()) < settings.min_words:
            return False
        return not (m.sentiment_label == "positive" and (m.sentiment_score or 0.0) >= GATE_POSITIVE)

    async def for_window(
        self, chat_id: int, window: Sequence[StoredMessage], settings: ThreadSettings, staff: set[int]
    ) -> tuple[dict[int, MessageSignals], bool]:
        """Signals of the window's gated messages (embedding only those not seen before), and whether
        some could not be embedded now (the encoder is loading or busy: judge again a little later)."""
        out: dict[int, MessageSignals] = {}
        todo: list[StoredMessage] = []
        for m in window:
            key = (chat_id, m.message_id)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                out[m.message_id] = cached
            elif self.gate(m, settings, staff):
                todo.append(m)
            else:
                self.gated += 1
        if not todo:
            return out, False
        try:
            if await self.model() is None:
                return out, True
            read = await self._read([m.text[:1000] for m in todo])
        except EncoderUnsuitable as exc:
            log.warning('escalation: %s; the message rules (policy = "message") apply', exc)
            self.unsuitable = True
            return out, False
        except Exception as exc:  # a busy or failing encoder: judge with what we have
            log.warning("escalation: could not embed %d message(s) of chat %s: %s", len(todo), chat_id, exc)
            return out, True
        if read is None:
            return out, True
        for m, signals in zip(todo, read, strict=True):
            self._cache[(chat_id, m.message_id)] = signals
            out[m.message_id] = signals
        while len(self._cache) > SIGNAL_CACHE:
            self._cache.popitem(last=False)
        return out, False


class ThreadEscalation(Part):
    """Thread judgment for EscalationService (``service.thread``)."""

    def __init__(
        self,
        ctx: Context,
        opener: CaseOpener,
        *,
        bot_id: int | None,
        embed: Embedder | None,
        head: Head | bool | None = True,
    ) -> None:
        super().__init__(ctx)
        self.opener = opener
        self.bot_id = bot_id
        # head=True: the shipped trained head when its file is there; False: the prototypes alone.
        chosen = (load_head() if embed is not None else None) if head is True else (head or None)
        self.signals = ThreadSignals(embed, full_read=ctx.config.settings.read != "quantized", head=chosen)
        self.judge = ThreadJudge()
        self.watches = WatchRepository(ctx.cases.db)

    def uses_thread_policy(self, community: Community | None) -> bool:
        policy = str(self.config.value(community, "policy"))
        return policy != "message" and self.signals.available

    async def judge_thread(
        self, chat_id: int, thread_key: str, community: Community | None, *, now: int
    ) -> tuple[Judgment, ThreadSettings, bool]:
        settings = self.config.thread_settings(community, await self.config.description(chat_id))
        staff = await self.opener.staff_ids(chat_id)
        since = now - settings.window_seconds
        stored = await self.messages.thread_window(chat_id, thread_key, since=since, limit=60)
        handled = await self.cases.last_closed_message(chat_id, thread_key)
        stored = [s for s in stored if handled is None or s.message_id > handled]
        signals, missing = await self.signals.for_window(chat_id, stored, settings, staff)
        window = [
            ThreadMessage(
                s.message_id,
                s.user_id,
                s.text,
                s.date,
                s.sentiment_label,
                s.sentiment_score,
                s.reply_to_message_id,
                is_staff=s.user_id in staff,
                is_bot=s.user_id == self.bot_id,
                signals=signals.get(s.message_id),
            )
            for s in stored
        ]
        return self.judge.judge(window, settings, now=now), settings, missing

    async def on_thread_message(self, ctx: MessageContext, now: int) -> bool:
        """A new message in a thread without an active case: open, start or keep waiting, or let go.

        False when the thread policy turned out unavailable (the encoder is not multilingual-e5)."""
        msg = ctx.msg
        topic_id = msg.thread_id if msg.is_topic_message else None
        judgment, settings, missing = await self.judge_thread(msg.chat_id, ctx.thread_key, ctx.community, now=now)
        if not self.signals.available:
            return False
        if missing and not judgment.open_now:
            # The encoder could not read every message yet: the escalation check judges it again soon.
            judgment = replace(
                judgment,
                watch=True,
                due_at=min(judgment.due_at or now + RETRY_SECONDS, now + RETRY_SECONDS),
                first_message_id=judgment.first_message_id or msg.message_id,
            )
        if judgment.open_now:
            await self._open_judged(
                msg.chat_id, ctx.thread_key, topic_id, ctx.community, judgment, settings, msg.message_id, now
            )
            return True
        if judgment.watch and judgment.due_at is not None and judgment.first_message_id is not None:
            await self.watches.upsert(
                chat_id=msg.chat_id,
                thread_key=ctx.thread_key,
                topic_id=topic_id,
                due_at=judgment.due_at,
                first_message_id=judgment.first_message_id,
                last_message_id=msg.message_id,
                detail=judgment.detail,
                at=self.clock(),
            )
            log.debug("thread %s/%s waits until %s: %s", msg.chat_id, ctx.thread_key, judgment.due_at, judgment.detail)
        elif judgment.settled is not None:
            await self.watches.delete(msg.chat_id, ctx.thread_key)
        return True

    async def check_watches(self, now: int) -> int:
        """From the escalation check: judge each thread whose wait is over; open its case if unsettled."""
        opened = 0
        for watch in await self.watches.due(now):
            try:
                community = await self.communities.get(watch.chat_id)
                if await self.cases.active_for_thread(watch.chat_id, watch.thread_key) is None and self.config.enabled(
                    community
                ):
                    judgment, settings, missing = await self.judge_thread(
                        watch.chat_id, watch.thread_key, community, now=now
                    )
                    if missing and not judgment.open_now and now - watch.created_at < settings.window_seconds:
                        await self._rewatch(watch, now + RETRY_SECONDS, watch.first_message_id, watch.detail)
                        continue
                    if judgment.open_now:
                        opened += await self._open_judged(
                            watch.chat_id,
                            watch.thread_key,
                            watch.topic_id,
                            community,
                            judgment,
                            settings,
                            watch.last_message_id,
                            now,
                        )
                    elif judgment.watch and judgment.due_at is not None and judgment.due_at > now:
                        # A newer matter is still within its wait: judge again when that ends.
                        first = judgment.first_message_id or watch.first_message_id
                        await self._rewatch(watch, judgment.due_at, first, judgment.detail)
                        continue
                    else:
                        log.debug(
                            "thread %s/%s settled or not enough: %s", watch.chat_id, watch.thread_key, judgment.detail
                        )
            except Exception:
                log.exception("escalation: judging waiting thread %s/%s failed", watch.chat_id, watch.thread_key)
            await self.watches.delete(watch.chat_id, watch.thread_key)
        return opened

    async def _rewatch(self, watch: Watch, due_at: int, first_message_id: int, detail: str) -> None:
        """Keep a waiting thread waiting, until ``due_at``."""
        await self.watches.delete(watch.chat_id, watch.thread_key)
        await self.watches.upsert(
            chat_id=watch.chat_id,
            thread_key=watch.thread_key,
            topic_id=watch.topic_id,
            due_at=due_at,
            first_message_id=first_message_id,
            last_message_id=watch.last_message_id,
            detail=detail,
            at=watch.created_at,
        )

    async def _open_judged(
        self,
        chat_id: int,
        thread_key: str,
        topic_id: int | None,
        community: Community | None,
        judgment: Judgment,
        settings: ThreadSettings,
        last_message_id: int,
        now: int,
    ) -> int:
        trigger = judgment.first_message_id or last_message_id
        reasons = (
            "thread",
            judgment.need or "need",
            *dict.fromkeys(c.signal for c in judgment.contributions if c.signal != "need"),
        )
        reason = CaseReason(
            reasons=tuple(reasons),
            detail=judgment.detail,
            trigger_message_id=trigger,
            severity=max(judgment.severity, 0.9 if judgment.urgent else 0.5),
            members=len(judgment.members),
            signals=judgment.contributions,
        )
        raiser = judgment.raised_by
        if raiser is not None and await self.opener.member_over_limit(chat_id, raiser, now):
            return 0
        _case, created = await self.opener.open_or_join(
            chat_id=chat_id,
            thread_key=thread_key,
            topic_id=topic_id,
            reason=reason,
            community=community,
            last_message_id=last_message_id,
            at=now,
            score=(judgment.score, settings.open_score),
        )
        await self.watches.delete(chat_id, thread_key)
        return int(created)
