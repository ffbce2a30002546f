"""FAQ storage: entries with their variants and embeddings, answers given, votes, unanswered questions."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.domain.faq import GLOBAL, AnswerRecord, EntryVectors, StoredEntry, Unanswered, Vectors
from bot.storage.db import Repository
from bot.storage.rows import Row, mapper, marks
from bot.timeutil import epoch_now

__all__ = [
    "GLOBAL",
    "REVISION_KEY",
    "AnswerRecord",
    "EntryVectors",
    "FaqRepository",
    "StoredEntry",
    "Unanswered",
    "Vectors",
    "from_blob",
    "to_blob",
]

REVISION_KEY = "faq:revision"


def to_blob(vector: npt.NDArray[np.floating]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> Vectors:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


_entry_fields = mapper(
    StoredEntry,
    questions=lambda row: (),
    answers=lambda row: dict(json.loads(row["answers"] or "{}")),
    buttons=lambda row: tuple((str(b["text"]), str(b["url"])) for b in json.loads(row["buttons"] or "[]")),
)


def _entry(row: Row, questions: Sequence[str]) -> StoredEntry:
    return replace(_entry_fields(row), questions=tuple(questions))


_answer = mapper(AnswerRecord)
_unanswered = mapper(Unanswered, vector=lambda row: None if row["embedding"] is None else from_blob(row["embedding"]))


class FaqRepository(Repository):
    # --- revision: bumped on every change, so a running bot notices a CLI import ------------

    async def revision(self) -> int:
        return await self.db.fetchcount("SELECT value FROM state WHERE key = ?", (REVISION_KEY,))

    async def _bump(self) -> None:
        await self.db.execute(
            "INSERT INTO state (key, value) VALUES (?, '1')"
            " ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
            (REVISION_KEY,),
        )

    # --- entries -------------------------------------------------------------------------------

    async def forget_unanswered_texts(self, before: int) -> int:
        """Unanswered questions recorded before ``before``: text and embedding go, the row (counted by /stats)
        stays; an open one is dismissed, as there is nothing left to answer it from."""
        return await self.db.execute(
            "UPDATE faq_unanswered SET text = '', embedding = NULL,"
            " status = CASE status WHEN 'open' THEN 'dismissed' ELSE status END"
            " WHERE created_at < ? AND (text <> '' OR embedding IS NOT NULL)",
            (before,),
        )

    async def count_entries(self, chat_id: int) -> int:
        """Entries a community owns (enabled or not)."""
        return await self.db.fetchcount("SELECT COUNT(*) FROM faq_entries WHERE chat_id = ?", (chat_id,))

    async def has_entries(self, chat_id: int | None = None) -> bool:
        """Any entry at all (``None``), or any enabled entry that applies to ``chat_id``."""
        if chat_id is None:
            return await self.db.exists("SELECT 1 FROM faq_entries LIMIT 1")
        return await self.db.exists(
            "SELECT 1 FROM faq_entries WHERE chat_id IN (?, 0) AND enabled = 1 LIMIT 1", (chat_id,)
        )

    async def get(self, entry_id: int) -> StoredEntry | None:
        row = await self.db.fetchone("SELECT * FROM faq_entries WHERE id = ?", (entry_id,))
        if row is None:
            return None
        questions = await self.db.fetchall(
            "SELECT text FROM faq_variants WHERE entry_id = ? ORDER BY position, id", (entry_id,)
        )
        return _entry(row, [str(q["text"]) for q in questions])

    async def entry_id(self, chat_id: int, key: str) -> int | None:
        """The id of a community's entry with this key (enabled or not)."""
        return await self.db.fetchint("SELECT id FROM faq_entries WHERE chat_id = ? AND key = ?", (chat_id, key))

    async def get_by_key(self, chat_id: int, key: str) -> StoredEntry | None:
        entry_id = await self.entry_id(chat_id, key)
        return None if entry_id is None else await self.get(entry_id)

    async def list_entries(self, chat_ids: Sequence[int], *, enabled_only: bool = False) -> list[StoredEntry]:
        return [ev.entry for ev in await self.with_vectors(chat_ids, enabled_only=enabled_only, vectors=False)]

    async def with_vectors(
        self, chat_ids: Sequence[int], *, enabled_only: bool = True, vectors: bool = True
    ) -> list[EntryVectors]:
        if not chat_ids:
            return []
        rows = await self.db.fetchall(
            f"SELECT * FROM faq_entries WHERE chat_id IN ({marks(chat_ids)})"  # noqa: S608 - only placeholders
            + (" AND enabled = 1" if enabled_only else "")
            + " ORDER BY chat_id = 0, id",
            tuple(chat_ids),
        )
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        variants = await self.db.fetchall(
            f"SELECT entry_id, text, encoder, embedding FROM faq_variants WHERE entry_id IN ({marks(ids)})"  # noqa: S608
            " ORDER BY entry_id, position, id",
            tuple(ids),
        )
        by_entry: dict[int, list[Row]] = {i: [] for i in ids}
        for v in variants:
            by_entry[int(v["entry_id"])].append(v)
        out = []
        for row in rows:
            vs = by_entry[int(row["id"])]
            entry = _entry(row, [str(v["text"]) for v in vs])
            if vectors and vs:
                matrix = np.stack([from_blob(v["embedding"]) for v in vs])
            else:
                matrix = np.zeros((len(vs), 0), dtype=np.float32)
            out.append(EntryVectors(entry, tuple(str(v["encoder"]) for v in vs), matrix))
        return out

    async def save(
        self,
        *,
        chat_id: int,
        key: str,
        questions: Sequence[str],
        vectors: Vectors,
        encoder: str,
        answer: str,
        answers: dict[str, str] | None = None,
        buttons: Sequence[tuple[str, str]] = (),
        thread_id: int | None = None,
        enabled: bool = True,
        created_by: int | None = None,
        in_transaction: bool = False,
    ) -> int:
        """Create or replace (by chat and key) an entry with its questions and their embeddings."""
        if len(questions) != len(vectors):
            raise ValueError("one embedding per question is required")
        # A caller already inside a transaction (an import of many entries) must not open another.
        async with contextlib.nullcontext() if in_transaction else self.db.transaction():
            now = epoch_now()
            buttons_json = json.dumps([{"text": t, "url": u} for t, u in buttons], ensure_ascii=False)
            row = await self.db.fetchone(
                """
                INSERT INTO faq_entries (chat_id, key, answer, answers, buttons, thread_id, enabled, created_by,
                                         created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (chat_id, key) DO UPDATE SET
                    answer = excluded.answer, answers = excluded.answers, buttons = excluded.buttons,
                    thread_id = excluded.thread_id, enabled = excluded.enabled, updated_at = excluded.updated_at
                RETURNING id
                """,
                (
                    chat_id,
                    key,
                    answer,
                    json.dumps(answers or {}, ensure_ascii=False),
                    buttons_json,
                    thread_id,
                    int(enabled),
                    created_by,
                    now,
                    now,
                ),
            )
            assert row is not None
            entry_id = int(row[0])
            await self.db.execute("DELETE FROM faq_variants WHERE entry_id = ?", (entry_id,))
            await self._add_variants(entry_id, 0, questions, vectors, encoder)
            await self._bump()
            return entry_id

    async def save_many(self, chat_id: int, entries: Sequence[Mapping[str, Any]], *, encoder: str) -> tuple[int, int]:
        """Create or replace every entry (the keyword arguments of :meth:`save` but ``chat_id`` and
        ``encoder``) in one transaction: all or nothing. Returns (created, updated)."""
        created = updated = 0
        async with self.db.transaction():
            for fields in entries:
                existing = await self.db.fetchval(
                    "SELECT id FROM faq_entries WHERE chat_id = ? AND key = ?", (chat_id, fields["key"])
                )
                await self.save(chat_id=chat_id, encoder=encoder, in_transaction=True, **fields)
                if existing is None:
                    created += 1
                else:
                    updated += 1
        return created, updated

    async def _add_variants(
        self, entry_id: int, start: int, questions: Sequence[str], vectors: Vectors, encoder: str
    ) -> None:
        await self.db.executemany(
            "INSERT INTO faq_variants (entry_id, position, text, encoder, embedding) VALUES (?, ?, ?, ?, ?)",
            [
                (entry_id, start + i, q, encoder, to_blob(v))
                for i, (q, v) in enumerate(zip(questions, vectors, strict=True))
            ],
        )

    async def add_questions(self, entry_id: int, questions: Sequence[str], vectors: Vectors, encoder: str) -> None:
        async with self.db.transaction():
            start = await self.db.fetchval(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM faq_variants WHERE entry_id = ?", (entry_id,)
            )
            await self._add_variants(entry_id, int(start), questions, vectors, encoder)
            await self.db.execute("UPDATE faq_entries SET updated_at = ? WHERE id = ?", (epoch_now(), entry_id))
            await self._bump()

    async def set_answer(self, entry_id: int, answer: str) -> bool:
        """False when the entry no longer exists."""
        changed = await self.db.changed(
            "UPDATE faq_entries SET answer = ?, updated_at = ? WHERE id = ?", (answer, epoch_now(), entry_id)
        )
        await self._bump()
        return changed

    async def set_enabled(self, entry_id: int, enabled: bool) -> None:
        await self.db.execute(
            "UPDATE faq_entries SET enabled = ?, updated_at = ? WHERE id = ?", (int(enabled), epoch_now(), entry_id)
        )
        await self._bump()

    async def delete(self, entry_id: int) -> bool:
        changed = await self.db.changed("DELETE FROM faq_entries WHERE id = ?", (entry_id,))
        await self._bump()
        return changed

    async def stale_variants(self, encoder: str) -> list[tuple[int, str]]:
        rows = await self.db.fetchall("SELECT id, text FROM faq_variants WHERE encoder != ?", (encoder,))
        return [(int(r["id"]), str(r["text"])) for r in rows]

    async def set_variant_vectors(self, rows: Sequence[tuple[int, npt.NDArray[np.floating]]], encoder: str) -> None:
        async with self.db.transaction():
            await self.db.executemany(
                "UPDATE faq_variants SET embedding = ?, encoder = ? WHERE id = ?",
                [(to_blob(v), encoder, vid) for vid, v in rows],
            )
            await self._bump()

    # --- answers, votes ------------------------------------------------------------------------

    async def record_answer(
        self,
        *,
        chat_id: int,
        entry_id: int | None,
        thread_id: int | None,
        question_message_id: int | None,
        user_id: int,
        score: float | None,
        how: str,
        at: int,
    ) -> int:
        return await self.db.insert(
            "INSERT INTO faq_answers (chat_id, entry_id, thread_id, question_message_id, user_id, score, how,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (chat_id, entry_id, thread_id, question_message_id, user_id, score, how, at),
        )

    async def set_answer_message(self, answer_id: int, message_id: int | None) -> None:
        await self.db.execute("UPDATE faq_answers SET message_id = ? WHERE id = ?", (message_id, answer_id))

    async def forget_answer(self, answer_id: int) -> None:
        await self.db.execute("DELETE FROM faq_answers WHERE id = ?", (answer_id,))

    async def get_answer(self, answer_id: int) -> AnswerRecord | None:
        return await self.db.fetchone("SELECT * FROM faq_answers WHERE id = ?", (answer_id,), into=_answer)

    async def recent_answer(self, chat_id: int, entry_id: int, since: int) -> AnswerRecord | None:
        """The latest real answer (not a cooldown note) of an entry in a chat since ``since``."""
        return await self.db.fetchone(
            "SELECT * FROM faq_answers WHERE chat_id = ? AND entry_id = ? AND created_at >= ?"
            " AND how IN ('answer', 'pick') AND message_id IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1",
            (chat_id, entry_id, since),
            into=_answer,
        )

    async def answered_question(self, chat_id: int, question_message_id: int) -> AnswerRecord | None:
        return await self.db.fetchone(
            "SELECT * FROM faq_answers WHERE chat_id = ? AND question_message_id = ? AND how IN ('answer', 'pick')"
            " ORDER BY id LIMIT 1",
            (chat_id, question_message_id),
            into=_answer,
        )

    async def claim_pick(
        self, *, chat_id: int, entry_id: int, thread_id: int | None, question_message_id: int, user_id: int, at: int
    ) -> int | str:
        """Atomically record the one answer a "Did you mean" press may post for a question.

        Returns the new answer row's id, or why not: "unsuggested" (no suggestion was made for that
        question here: a forged press) or "already" (it is answered, or another press got there first).
        The check and the insert share one transaction, so two quick presses cannot both win."""
        async with self.db.transaction():
            question = (chat_id, question_message_id)
            if not await self.db.exists(
                "SELECT 1 FROM faq_answers WHERE chat_id = ? AND question_message_id = ? AND how = 'suggestion'",
                question,
            ):
                return "unsuggested"
            if await self.db.exists(
                "SELECT 1 FROM faq_answers WHERE chat_id = ? AND question_message_id = ? AND how IN ('answer', 'pick')",
                question,
            ):
                return "already"
            return await self.db.insert(
                "INSERT INTO faq_answers (chat_id, entry_id, thread_id, question_message_id, user_id, score, how,"
                " created_at) VALUES (?, ?, ?, ?, ?, NULL, 'pick', ?)",
                (chat_id, entry_id, thread_id, question_message_id, user_id, at),
            )

    async def member_replies_since(self, chat_id: int, user_id: int, since: int) -> int:
        return await self.db.fetchcount(
            "SELECT COUNT(*) FROM faq_answers WHERE chat_id = ? AND user_id = ? AND created_at >= ?",
            (chat_id, user_id, since),
        )

    async def vote(self, answer_id: int, user_id: int, vote: int, at: int) -> tuple[int, int]:
        """Store (or change) one member's vote; return (up, down) for the answer."""
        await self.db.execute(
            "INSERT INTO faq_votes (answer_id, user_id, vote, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (answer_id, user_id) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at",
            (answer_id, user_id, 1 if vote > 0 else -1, at),
        )
        return await self.votes(answer_id)

    async def votes(self, answer_id: int) -> tuple[int, int]:
        row = await self.db.fetchone(
            "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0) FROM faq_votes WHERE answer_id = ?",
            (answer_id,),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def entry_votes(self, entry_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        if not entry_ids:
            return {}
        rows = await self.db.fetchall(
            "SELECT a.entry_id, COALESCE(SUM(v.vote = 1), 0) AS up, COALESCE(SUM(v.vote = -1), 0) AS down"  # noqa: S608
            f" FROM faq_votes v JOIN faq_answers a ON a.id = v.answer_id WHERE a.entry_id IN ({marks(entry_ids)})"
            " GROUP BY a.entry_id",
            tuple(entry_ids),
        )
        return {int(r["entry_id"]): (int(r["up"]), int(r["down"])) for r in rows}

    # --- unanswered ----------------------------------------------------------------------------

    async def record_unanswered(
        self,
        *,
        chat_id: int,
        message_id: int,
        thread_id: int | None,
        user_id: int,
        text: str,
        language: str | None,
        best_entry_id: int | None,
        best_score: float | None,
        encoder: str | None,
        vector: npt.NDArray[np.floating] | None,
        at: int,
    ) -> None:
        await self.db.execute(
            "INSERT INTO faq_unanswered (chat_id, message_id, thread_id, user_id, text, language, best_entry_id,"
            " best_score, encoder, embedding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, message_id) DO UPDATE SET text = excluded.text, embedding = excluded.embedding",
            (
                chat_id,
                message_id,
                thread_id,
                user_id,
                text,
                language,
                best_entry_id,
                best_score,
                encoder,
                None if vector is None else to_blob(vector),
                at,
            ),
        )

    async def open_unanswered(self, chat_id: int, *, limit: int = 500) -> list[Unanswered]:
        return await self.db.fetchall(
            "SELECT * FROM faq_unanswered WHERE chat_id = ? AND status = 'open' ORDER BY created_at DESC LIMIT ?",
            (chat_id, limit),
            into=_unanswered,
        )

    async def is_unanswered(self, chat_id: int, message_id: int) -> bool:
        """Whether this message was recorded as an unanswered question (open or not)."""
        return await self.db.exists(
            "SELECT 1 FROM faq_unanswered WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )

    async def unanswered_by_ids(self, chat_id: int, ids: Sequence[int]) -> list[Unanswered]:
        wanted = set(ids)
        return [u for u in await self.open_unanswered(chat_id, limit=5000) if u.id in wanted]

    async def resolve_unanswered(self, chat_id: int, ids: Sequence[int], entry_id: int | None, status: str) -> None:
        await self.db.executemany(
            "UPDATE faq_unanswered SET status = ?, entry_id = ? WHERE chat_id = ? AND id = ?",
            [(status, entry_id, chat_id, i) for i in ids],
        )
