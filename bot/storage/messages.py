"""Group messages: one row per message, written once with its sentiment."""

from __future__ import annotations

from bot.domain import IncomingMessage, Sentiment
from bot.domain.messages import StoredMessage, own_thread_key
from bot.storage.db import Repository
from bot.storage.rows import mapper
from bot.timeutil import epoch_now, to_epoch

__all__ = ["MessageRepository", "StoredMessage", "own_thread_key"]

_stored = mapper(StoredMessage)


class MessageRepository(Repository):
    async def record(self, msg: IncomingMessage, sentiment: Sentiment | None, *, is_question: bool) -> tuple[str, bool]:
        """Insert (or, for an edit, update) the message in one statement.

        Returns its thread key and whether this is the first time we saw the message: a
        redelivered update (after a crash) must not trigger answers twice.

        A reply joins the thread of the message it answers (looked up in the same statement),
        or starts a chain rooted at that message when we never saw it.
        """
        topic_key = own_thread_key(msg) if msg.is_topic_message else None
        reply_root = f"m:{msg.reply_to_message_id}" if msg.reply_to_message_id is not None else None
        fallback = topic_key or reply_root or f"m:{msg.message_id}"
        label = sentiment.label.value if sentiment is not None else None
        score = sentiment.score if sentiment is not None else None
        date = to_epoch(msg.date)
        row = await self.db.fetchone(
            """
            INSERT INTO messages (chat_id, message_id, thread_id, reply_to_message_id, reply_to_user_id,
                                  thread_key, user_id, sender_chat_id, text, date, is_question,
                                  sentiment_label, sentiment_score)
            VALUES (?, ?, ?, ?, ?,
                    COALESCE(?, (SELECT thread_key FROM messages WHERE chat_id = ? AND message_id = ?), ?),
                    ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (chat_id, message_id) DO UPDATE SET
                text = excluded.text, edited_at = ?, is_question = excluded.is_question,
                sentiment_label = excluded.sentiment_label, sentiment_score = excluded.sentiment_score,
                seen_count = messages.seen_count + 1
            RETURNING thread_key, seen_count
            """,
            (
                msg.chat_id,
                msg.message_id,
                msg.thread_id,
                msg.reply_to_message_id,
                msg.reply_to_user_id,
                topic_key,
                msg.chat_id,
                msg.reply_to_message_id,
                fallback,
                msg.author.user_id,
                msg.author.sender_chat_id,
                msg.text,
                date,
                int(is_question),
                label,
                score,
                epoch_now() if msg.is_edit else None,
            ),
        )
        assert row is not None
        return str(row[0]), int(row[1]) == 1

    async def get(self, chat_id: int, message_id: int) -> StoredMessage | None:
        return await self.db.fetchone(
            "SELECT * FROM messages WHERE chat_id = ? AND message_id = ?", (chat_id, message_id), into=_stored
        )

    async def thread_window(self, chat_id: int, thread_key: str, *, since: int, limit: int = 50) -> list[StoredMessage]:
        rows = await self.db.fetchall(
            "SELECT * FROM messages WHERE chat_id = ? AND thread_key = ? AND date >= ?"
            " ORDER BY date DESC, message_id DESC LIMIT ?",
            (chat_id, thread_key, since, limit),
            into=_stored,
        )
        return rows[::-1]

    async def forget_texts(self, before: int, *, batch: int = 5000) -> int:
        """Blank the text of messages sent before ``before`` (unix seconds); the rows stay, with their date,
        author, thread, reply, question flag and sentiment, which is all that analytics reads. Batched, so
        other writers are never held up for long. Returns how many texts were blanked."""
        total = 0
        while True:
            changed = await self.db.execute(
                "UPDATE messages SET text = '' WHERE id IN"
                " (SELECT id FROM messages WHERE date < ? AND text <> '' LIMIT ?)",
                (before, batch),
            )
            total += changed
            if changed < batch:
                return total

    async def sentiment_counts(self, chat_id: int) -> dict[str | None, int]:
        """Messages of a chat by sentiment label (None: not classified)."""
        rows = await self.db.fetchall(
            "SELECT sentiment_label, COUNT(*) FROM messages WHERE chat_id = ? GROUP BY sentiment_label", (chat_id,)
        )
        return {row[0]: int(row[1]) for row in rows}

    async def count(self, chat_id: int | None = None) -> int:
        if chat_id is None:
            return await self.db.fetchcount("SELECT COUNT(*) FROM messages")
        return await self.db.fetchcount("SELECT COUNT(*) FROM messages WHERE chat_id = ?", (chat_id,))
