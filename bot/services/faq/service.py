"""FaqService: the one object the front-ends and the app hold; it composes the FAQ's parts and passes
each call to the part that does it (see the package docstring for the map)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.config import FaqSettings
from bot.domain import Community, MessageContext
from bot.domain.buttons import ButtonPort
from bot.domain.faq import Unanswered
from bot.services.faq.adapters import Adapter, AdapterStore
from bot.services.faq.common import Background, Messages, Roles, load_encoder
from bot.services.faq.index import IndexCache
from bot.services.faq.knowledge import KnowledgeBase
from bot.services.faq.responder import Responder
from bot.services.faq.runtime import EncoderRuntime
from bot.services.faq_matcher import Match, MatcherParams, TextEncoder
from bot.services.ports import Sender
from bot.storage.faq import FaqRepository
from bot.timeutil import epoch_now
from models.faq_adapter import AdapterRecipe


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
        self.repo = repo
        self.settings = settings
        self.clock = clock
        self.runtime = EncoderRuntime(
            encoder_loader or (lambda: load_encoder(settings.encoder)),
            name=settings.encoder,
            clock=clock,
            prepare=self._prepare,
        )
        self.background = Background()
        self.adapters = AdapterStore(
            self.runtime,
            settings,
            self.background,
            adapter_dir=adapter_dir,
            recipe=recipe or AdapterRecipe(),
            english_loader=english_loader,
        )
        self.indexes = IndexCache(
            repo, settings, self.runtime, self.adapters, self.background, params or MatcherParams()
        )
        self.knowledge = KnowledgeBase(repo, self.runtime, messages, self.indexes.knowledge_changed, max_entries)
        self.responder = Responder(
            repo,
            settings,
            self.runtime,
            self.indexes,
            sender=sender,
            buttons=buttons,
            roles=roles,
            messages=messages,
            clock=clock,
            bot_username=bot_username,
        )
        # The calls the front-ends make, each answered by one part.
        kb = self.knowledge  # entries, import, quota, unanswered questions (no rights checks)
        self.entries_for = kb.entries_for
        self.entries_with_votes = kb.entries_with_votes
        self.entry_of = kb.entry_of
        self.entries_left = kb.entries_left
        self.new_key = kb.new_key
        self.save_draft = kb.save_draft
        self.import_drafts = kb.import_drafts
        self.add_entry = kb.add_entry
        self.add_questions = kb.add_questions
        self.set_answer = kb.set_answer
        self.set_enabled = kb.set_enabled
        self.delete = kb.delete
        self.entry_from_unanswered = kb.entry_from_unanswered
        self.save_from_reply = kb.save_from_reply
        rs = self.responder  # a member's question, the answer's text, picks and votes
        self.handle = rs.handle
        self.answer_text = rs.answer_text
        self.pick = rs.pick
        self.vote = rs.vote
        ix = self.indexes  # each community's index and matching
        self.index_for = ix.index_for
        self.thresholds = ix.thresholds
        self.match = ix.match
        self.embed_plain = self.runtime.embed_plain  # vectors for escalation's signals
        self.encode_questions = self.runtime.encode

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the encoder thread. The model loads in the background when there are entries to match,
        otherwise on first use (a bot without a knowledge base never loads it)."""
        await self.runtime.start(load=await self.repo.has_entries())

    async def _prepare(self, encoder: TextEncoder, tag: str) -> None:
        await self.knowledge.reembed_stale(encoder, tag)
        self.indexes.clear()

    async def ensure_encoder(self) -> bool:
        """Load the encoder once (re-embedding questions saved with another one); False when it cannot load."""
        return await self.runtime.ensure()

    async def close(self) -> None:
        await self.background.cancel()
        await self.runtime.close()

    @property
    def ready(self) -> bool:
        return self.runtime.ready

    @property
    def encoder_tag(self) -> str:
        return self.runtime.tag

    @property
    def max_entries(self) -> int | None:
        return self.knowledge.max_entries

    @property
    def adapts(self) -> bool:
        return self.adapters.adapts

    async def adapter_for(self, groups: Sequence[Sequence[str]]) -> Adapter | None:
        """The adapter for these phrasings (see AdapterStore.get)."""
        return await self.adapters.get(await self.adapters.keys(groups))

    @property
    def _training(self) -> dict[str, Any]:  # for the tests that hold a training back
        return self.adapters.training

    @property
    def _background(self) -> set[Any]:
        return self.background.tasks

    # --- the listener and the unanswered questions -------------------------------------------

    async def on_message(self, ctx: MessageContext) -> None:
        await self.responder.handle(ctx)

    async def unanswered_groups(self, chat_id: int, *, similarity: float | None = None) -> list[list[Unanswered]]:
        """Open unanswered questions, grouped by similarity (by default the answer threshold)."""
        threshold = similarity if similarity is not None else self.settings.answer_threshold
        return await self.knowledge.unanswered_groups(chat_id, similarity=threshold)

    async def unanswered_group(self, chat_id: int, unanswered_id: int) -> list[Unanswered] | None:
        """The group of :meth:`unanswered_groups` that holds question ``unanswered_id`` (None: not open)."""
        groups = await self.unanswered_groups(chat_id)
        return next((g for g in groups if any(u.id == unanswered_id for u in g)), None)

    # --- the dashboard (bot/dashboard) -------------------------------------------------------

    async def try_question(self, community: Community, text: str) -> Match:
        """What the bot would do with ``text`` in ``community``: the band (answer, suggest or abstain) and the
        top entries with their scores, under the community's thresholds. Answers nothing, records nothing."""
        match, _vector = await self.indexes.match(
            community.chat_id, text, thresholds=self.indexes.thresholds_for(community)
        )
        return match


__all__ = ["FaqService"]
