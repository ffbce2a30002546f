"""Each community's FAQ index (its entries and the global ones, in the space they are matched in), cached
until the knowledge base changes, and the matching of one question against it.

With adaptation on, the index is built in the community's adapter's space. After an edit, until the
adapter for the new phrasings is trained (minutes on a large knowledge base), the previous one answers
(a *provisional* index) rather than silence.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from bot.config import FaqSettings
from bot.domain import Community, MessageContext
from bot.domain.faq import GLOBAL, StoredEntry
from bot.services.faq.adapters import Adapter, AdapterStore
from bot.services.faq.common import Background, Vectors
from bot.services.faq.runtime import EncoderRuntime
from bot.services.faq_matcher import FaqIndex, IndexedEntry, Match, MatcherParams, TextEncoder, Thresholds
from bot.services.settings import community_setting
from bot.storage.faq import FaqRepository
from models.faq_adapter import TwoViewAdapter


@dataclass
class CachedIndex:
    revision: int
    index: FaqIndex
    entries: dict[int, StoredEntry] = field(default_factory=dict)
    # Encodes this community's questions: its knowledge-base adapter, or None for the plain encoder.
    encoder: TextEncoder | None = None
    # Built with the community's previous adapter while the one for its edited knowledge base trains.
    provisional: bool = False
    expires: int | None = None  # epoch seconds; a provisional index after a failed training is retried then


@dataclass(eq=False)
class IndexCache:
    repo: FaqRepository
    settings: FaqSettings
    runtime: EncoderRuntime
    adapters: AdapterStore
    background: Background
    params: MatcherParams
    _cache: dict[int, CachedIndex] = field(default_factory=dict, init=False)
    _serving: dict[int, str] = field(default_factory=dict, init=False)  # the adapter of each one's last full index

    def clear(self) -> None:
        self._cache.clear()

    def knowledge_changed(self, chat_id: int | None) -> None:
        """Drop the cached indexes. ``chat_id``: whose phrasings changed (None: only answers or switches);
        its adapter is then trained now rather than at the next question."""
        self._cache.clear()
        if chat_id is None or chat_id == GLOBAL or not self.adapters.adapts or not self.runtime.started:
            return
        self.background.spawn(self.index_for(chat_id), f"faq-adapt-{chat_id}")

    def _drop_provisional(self) -> None:
        # The communities answering with a previous adapter rebuild their index on the next question.
        for chat_id in [c for c, cached in self._cache.items() if cached.provisional]:
            del self._cache[chat_id]

    async def index_for(self, chat_id: int) -> CachedIndex:
        revision = await self.repo.revision()
        cached = self._cache.get(chat_id)
        if cached is not None and cached.revision == revision and (cached.expires or 1 << 62) > self.runtime.clock():
            return cached
        rows = await self.repo.with_vectors([chat_id, GLOBAL], enabled_only=True)
        entries = [
            IndexedEntry(r.entry.id, r.entry.questions, r.vectors, r.entry.thread_id)
            for r in rows
            if r.vectors.shape[0] and all(tag == self.runtime.tag for tag in r.encoders)
        ]
        encoder: TextEncoder | None = None
        provisional, expires = False, None
        if entries and self.adapters.adapts:
            keys = await self.adapters.keys([e.variants for e in entries])
            previous = self.adapters.loaded(self._serving.get(chat_id, ""))
            adapter: Adapter | None
            if self.adapters.loaded(keys.both) is None and previous is not None and not self.adapters.on_disk(keys):
                # An edit: until the new adapter is trained the previous one answers, in the same kind of
                # space and on the same thresholds, rather than silence.
                expires = self.adapters.retry_at(keys)
                if expires is None:
                    self.adapters.train_in_background(keys, self._drop_provisional)
                adapter, provisional = previous, True
            else:
                adapter = await self.adapters.get(keys)
            if adapter is None:
                entries = []  # the thresholds are for the adapted space: better silent than wrong
            else:
                if not provisional:
                    self._serving[chat_id] = keys.both
                entries, encoder = await self._in_space_of(adapter, entries), adapter
        params = self.params.adapted() if encoder is not None else self.params
        if isinstance(encoder, TwoViewAdapter):
            params = params.with_english_view(encoder.english_dim)
        entries_by_id = {r.entry.id: r.entry for r in rows}
        cached = CachedIndex(revision, FaqIndex(entries, params), entries_by_id, encoder, provisional, expires)
        self._cache[chat_id] = cached
        return cached

    async def _in_space_of(self, adapter: Adapter, entries: list[IndexedEntry]) -> list[IndexedEntry]:
        """The entries with their phrasings encoded by ``adapter`` (on the encoder thread)."""
        flat = [v for e in entries for v in e.variants]
        vectors = np.asarray(await self.runtime.run(functools.partial(adapter.encode_phrasings, flat)), np.float32)
        adapted, at = [], 0
        for e in entries:
            adapted.append(IndexedEntry(e.entry_id, e.variants, vectors[at : at + len(e.variants)], e.thread_id))
            at += len(e.variants)
        return adapted

    def thresholds(self, ctx: MessageContext | None = None) -> Thresholds:
        return self.thresholds_for(ctx.community if ctx is not None else None)

    def thresholds_for(self, community: Community | None) -> Thresholds:
        """A community's thresholds (its settings over the config's); None: the config's."""
        s = self.settings
        if community is None:
            return Thresholds(s.answer_threshold, min(s.suggest_threshold, s.answer_threshold), s.margin)
        answer = community_setting(community, "faq.answer_threshold", s.answer_threshold)
        suggest = community_setting(community, "faq.suggest_threshold", s.suggest_threshold)
        margin = community_setting(community, "faq.margin", s.margin)
        return Thresholds(answer, min(suggest, answer), margin)

    async def match(
        self, chat_id: int, text: str, *, thread_id: int | None = None, thresholds: Thresholds | None = None
    ) -> tuple[Match, Vectors]:
        cached = await self.index_for(chat_id)
        vector = (await self.runtime.encode([text], encoder=cached.encoder))[0]
        th = thresholds or self.thresholds()
        return cached.index.match(text, vector, th, thread_id=thread_id), vector
