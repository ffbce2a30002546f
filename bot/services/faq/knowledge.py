"""The FAQ knowledge base: entries (create, import, edit, switch, delete), the per-community quota, and the
unanswered questions a manager can turn into entries. No rights checks here: the callers check them.

Every change to the phrasings is reported through ``changed(chat_id)`` (``changed(None)``: an answer or a
switch changed), so the index cache drops what it built from the old entries.
"""

from __future__ import annotations

import html
import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.domain.faq import GLOBAL, StoredEntry, Unanswered
from bot.services.faq.common import Messages, Vectors
from bot.services.faq.runtime import EncoderRuntime
from bot.services.faq_io import FaqDraft, validate_answer_html
from bot.services.faq_matcher import TextEncoder
from bot.services.quotas import QuotaReached
from bot.storage.faq import FaqRepository
from bot.textsafety import compile_pattern

log = logging.getLogger(__name__)
_SLUG_WORD = compile_pattern(r"[a-z0-9]+", name="faq.slug_word")
QUESTIONS_FROM_UNANSWERED = 20  # phrasings an entry takes from a group of unanswered questions at most


@dataclass(eq=False)
class KnowledgeBase:
    repo: FaqRepository
    runtime: EncoderRuntime
    messages: Messages
    changed: Callable[[int | None], None]
    max_entries: int | None  # per community ([quotas] faq_entries); None: no limit

    async def reembed_stale(self, encoder: TextEncoder, tag: str) -> None:
        """Re-embed the phrasings saved with another encoder than ``tag`` (on the encoder thread)."""
        stale = await self.repo.stale_variants(tag)
        if not stale:
            return
        log.info("re-embedding %d FAQ questions for encoder %s", len(stale), tag)
        texts = [text for _, text in stale]
        vectors = np.asarray(await self.runtime.run(lambda: encoder.encode_queries(texts)), dtype=np.float32)
        await self.repo.set_variant_vectors([(vid, vec) for (vid, _), vec in zip(stale, vectors, strict=True)], tag)

    # --- reading ---------------------------------------------------------------------------

    async def entries_for(self, chat_id: int) -> list[StoredEntry]:
        """The community's entries and the global ones."""
        return await self.repo.list_entries([chat_id, GLOBAL])

    async def entries_with_votes(self, chat_id: int) -> list[tuple[StoredEntry, tuple[int, int] | None]]:
        """:meth:`entries_for`, each with its 👍/👎 counts (None: no vote yet)."""
        entries = await self.entries_for(chat_id)
        votes = await self.repo.entry_votes([e.id for e in entries])
        return [(e, votes.get(e.id)) for e in entries]

    async def entry_of(self, chat_id: int, entry_id: int, *, global_too: bool) -> StoredEntry | None:
        """Entry ``entry_id`` when it is the community's own, or a global one and ``global_too``."""
        entry = await self.repo.get(entry_id)
        if entry is None or not (entry.chat_id == chat_id or (entry.is_global and global_too)):
            return None
        return entry

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

    async def new_key(self, chat_id: int, question: str) -> str:
        base = _slug(question) or "faq"
        key, n = base, 2
        while await self.repo.get_by_key(chat_id, key) is not None:
            key, n = f"{base}-{n}", n + 1
        return key

    # --- writing ---------------------------------------------------------------------------

    async def save_draft(self, chat_id: int, draft: FaqDraft, *, created_by: int | None = None) -> int:
        if await self.repo.get_by_key(chat_id, draft.key) is None:
            await self._check_quota(chat_id, 1)
        vectors = await self.runtime.encode(list(draft.questions))
        entry_id = await self.repo.save(
            chat_id=chat_id, encoder=self.runtime.tag, vectors=vectors, created_by=created_by, **_fields(draft)
        )
        self.changed(chat_id)
        return entry_id

    async def import_drafts(self, chat_id: int, drafts: Sequence[FaqDraft]) -> tuple[int, int]:
        """Save every draft in one transaction (all or nothing). Returns (created, updated)."""
        keys = {d.key for d in drafts}
        known = {k for k in keys if await self.repo.get_by_key(chat_id, k) is not None}
        await self._check_quota(chat_id, len(keys - known))
        texts = [q for d in drafts for q in d.questions]
        vectors: Vectors = await self.runtime.encode(texts) if texts else np.zeros((0, 0), dtype=np.float32)
        rows, at = [], 0
        for d in drafts:
            rows.append({"vectors": vectors[at : at + len(d.questions)], **_fields(d)})
            at += len(d.questions)
        counts = await self.repo.save_many(chat_id, rows, encoder=self.runtime.tag)
        self.changed(chat_id)
        return counts

    async def add_entry(
        self, chat_id: int, questions: Sequence[str], answer: str, *, created_by: int | None
    ) -> StoredEntry:
        questions = _clean_questions(questions)
        if not questions:
            raise ValueError("an entry needs at least one question")
        _check_answer(answer)
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
            vectors = await self.runtime.encode(new)
            await self.repo.add_questions(entry_id, new, vectors, self.runtime.tag)
            self.changed(entry.chat_id)
        return len(new)

    async def set_answer(self, entry_id: int, answer: str) -> None:
        _check_answer(answer)
        if not await self.repo.set_answer(entry_id, answer):
            raise KeyError(entry_id)  # deleted while the admin was writing
        self.changed(None)

    async def set_enabled(self, entry_id: int, enabled: bool) -> StoredEntry | None:
        """Switch the entry on or off; the entry as it is now (None: it is gone)."""
        await self.repo.set_enabled(entry_id, enabled)
        self.changed(None)
        return await self.repo.get(entry_id)

    async def delete(self, entry_id: int) -> bool:
        done = await self.repo.delete(entry_id)
        self.changed(None)
        return done

    async def save_from_reply(
        self, chat_id: int, question_message_id: int, answer_message_id: int, *, user_id: int
    ) -> StoredEntry:
        """A manager's reply in the group, saved as an entry (the "save as FAQ" button)."""
        question = await self.messages.get(chat_id, question_message_id)
        answer = await self.messages.get(chat_id, answer_message_id)
        if question is None or answer is None:
            raise KeyError("the messages are no longer stored")
        return await self.add_entry(chat_id, [question.text], html.escape(answer.text), created_by=user_id)

    # --- unanswered questions --------------------------------------------------------------

    async def unanswered_groups(self, chat_id: int, *, similarity: float) -> list[list[Unanswered]]:
        """Open unanswered questions, grouped greedily by embedding similarity (biggest group first)."""
        items = await self.repo.open_unanswered(chat_id)
        groups: list[tuple[Vectors | None, list[Unanswered]]] = []
        for item in sorted(items, key=lambda u: u.created_at):
            v = item.vector if item.encoder == self.runtime.tag else None
            best_i, best_s = -1, -1.0
            if v is not None:
                for i, (centroid, _) in enumerate(groups):
                    if centroid is not None and (s := float(centroid @ v)) > best_s:
                        best_i, best_s = i, s
            if v is None or best_i < 0 or best_s < similarity:
                groups.append((v, [item]))
                continue
            centroid, members = groups[best_i]
            assert centroid is not None
            members.append(item)
            mean = centroid * (len(members) - 1) + v
            groups[best_i] = (mean / max(float(np.linalg.norm(mean)), 1e-12), members)
        out = [members for _, members in groups]
        out.sort(key=lambda g: (-len(g), -max(u.created_at for u in g)))
        return out

    async def entry_from_unanswered(
        self, chat_id: int, ids: Sequence[int], answer: str, *, created_by: int | None
    ) -> StoredEntry:
        items = await self.repo.unanswered_by_ids(chat_id, ids)
        if not items:
            raise KeyError("those questions are no longer open")
        questions = [u.text for u in items][:QUESTIONS_FROM_UNANSWERED]
        entry = await self.add_entry(chat_id, questions, answer, created_by=created_by)
        await self.repo.resolve_unanswered(chat_id, [u.id for u in items], entry.id, "resolved")
        return entry


def _fields(draft: FaqDraft) -> dict[str, Any]:
    """The draft as keyword arguments of FaqRepository.save."""
    return {
        "key": draft.key,
        "questions": draft.questions,
        "answer": draft.answer,
        "answers": draft.answers,
        "buttons": draft.buttons,
        "thread_id": draft.thread_id,
        "enabled": draft.enabled,
    }


def _check_answer(answer: str) -> None:
    why = validate_answer_html(answer)
    if why:
        raise ValueError(f"answer {why}")


def _clean_questions(questions: Sequence[str]) -> list[str]:
    out: list[str] = []
    for q in questions:
        q = " ".join(q.split())
        if q and q not in out and len(q) <= 500:
            out.append(q)
    return out


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = _SLUG_WORD.findall(ascii_text)
    return "-".join(words[:5])[:40].strip("-")
