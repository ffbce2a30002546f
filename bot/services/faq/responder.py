"""The FAQ in a group: for each member's question, answer, link back to a recent answer, suggest
("Did you mean…?") or abstain (the question is kept as unanswered); the picks and votes on those
buttons, and the "save as FAQ" offer to a manager who answered a question by hand. Its texts and
keyboards are here; callback data comes from the front-end's :class:`~bot.domain.buttons.ButtonPort`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import FaqSettings
from bot.domain import Button, Delivery, IncomingMessage, Keyboard, MessageContext, Priority
from bot.domain.buttons import ButtonPort
from bot.domain.faq import GLOBAL, StoredEntry
from bot.i18n import Translator
from bot.services.faq.common import (
    MODES,
    SUGGESTION_LABEL,
    EncoderBusy,
    Messages,
    Outcome,
    Roles,
    detect_language,
    shorten,
)
from bot.services.faq.index import CachedIndex, IndexCache
from bot.services.faq.runtime import EncoderRuntime
from bot.services.faq_matcher import Match
from bot.services.ports import Sender
from bot.services.questions import is_question, is_small_talk
from bot.services.settings import community_setting
from bot.storage.faq import FaqRepository
from bot.telegram.links import message_link_or_none
from bot.textsafety import SafePattern, compiled_cached, escape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Target:
    """Where an answer goes: the question it replies to and how to say it."""

    chat_id: int
    thread_id: int | None
    reply_to: int | None
    question: str
    language_code: str | None

    @classmethod
    def of(cls, msg: IncomingMessage, question: str) -> _Target:
        return cls(msg.chat_id, msg.thread_id, msg.message_id, question, msg.author.language_code)


class Responder:
    def __init__(
        self,
        repo: FaqRepository,
        settings: FaqSettings,
        runtime: EncoderRuntime,
        index: IndexCache,
        *,
        sender: Sender,
        buttons: ButtonPort,
        roles: Roles,
        messages: Messages,
        clock: Callable[[], int],
        bot_username: Callable[[], str | None],
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.runtime = runtime
        self.index = index
        self.sender = sender
        self.buttons = buttons
        self.roles = roles
        self.messages = messages
        self.clock = clock
        self.bot_username = bot_username
        self._offered: set[tuple[int, int]] = set()

    # --- a member's message ------------------------------------------------------------------

    async def handle(self, ctx: MessageContext) -> Outcome:
        msg = ctx.msg
        if msg.is_edit or msg.author.is_bot or not msg.text.strip() or msg.text.lstrip().startswith("/"):
            return Outcome("skipped", "not a member's text message")
        if not self.settings.enabled or not self.runtime.started:
            return Outcome("skipped", "faq disabled")
        mode = community_setting(ctx.community, "faq.mode", self.settings.mode)
        if mode not in MODES or mode == "off":
            return Outcome("skipped", "mode off")
        await self._maybe_offer_save(ctx)
        text = " ".join(mention_pattern(self.bot_username()).sub(" ", msg.text).split())
        if (why := self._not_for_us(ctx, mode, text)) is not None:
            return Outcome("skipped", why)
        recent = await self.repo.member_replies_since(msg.chat_id, msg.author.user_id, self.clock() - 3600)
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
        if not await self.runtime.ensure():
            return Outcome("skipped", "encoder not available")
        cached = await self.index.index_for(msg.chat_id)
        if not len(cached.index):
            return Outcome("skipped", "no enabled entries")
        try:
            vector = await self.runtime.encode_question(text, cached.encoder)
        except EncoderBusy:
            log.warning("faq: encoder queue full; question %s/%s stays unanswered", msg.chat_id, msg.message_id)
            return Outcome("skipped", "encoder busy")
        match = cached.index.match(text, vector, self.index.thresholds(ctx), thread_id=msg.thread_id)
        best = match.best
        log.info(
            "faq: %s/%s band=%s best=%s",
            msg.chat_id,
            msg.message_id,
            match.band,
            f"{best.entry_id}:{best.score:.3f}" if best else "-",
        )
        if match.band == "answer" and best is not None:
            return await self._answer_or_link(ctx, cached.entries[best.entry_id], text, match)
        if match.band == "suggest":
            return await self._suggest(ctx, match, cached)
        await self.repo.record_unanswered(
            chat_id=msg.chat_id,
            message_id=msg.message_id,
            thread_id=msg.thread_id,
            user_id=msg.author.user_id,
            text=msg.text,
            language=detect_language(text),
            best_entry_id=best.entry_id if best else None,
            best_score=best.score if best else None,
            encoder=self.runtime.tag,
            vector=vector,
            at=self.clock(),
        )
        return Outcome("abstain", "below the suggest threshold", match)

    @staticmethod
    def _not_for_us(ctx: MessageContext, mode: str, text: str) -> str | None:
        """Why the message is not a question for the bot in this mode (None: it is)."""
        msg = ctx.msg
        if mode == "mention":
            if not (msg.mentions_bot or msg.replies_to_bot):
                return "mention mode and not addressed"
            if not text.strip() or is_small_talk(text):
                return "small talk"
            return None
        if not ctx.is_question:
            return "not a question"
        if msg.reply_to_user_id is not None and not msg.replies_to_bot:
            return "reply to another member"  # a member asking another member in a reply: not our conversation
        return None

    # --- answering ---------------------------------------------------------------------------

    def answer_text(self, entry: StoredEntry, question: str, language_code: str | None) -> str:
        lang = detect_language(question)
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

    async def _record(self, msg: IncomingMessage, entry_id: int | None, score: float | None, how: str) -> int:
        """One row of faq_answers for the bot's reply to ``msg``."""
        return await self.repo.record_answer(
            chat_id=msg.chat_id,
            entry_id=entry_id,
            thread_id=msg.thread_id,
            question_message_id=msg.message_id,
            user_id=msg.author.user_id,
            score=score,
            how=how,
            at=self.clock(),
        )

    async def _reply(self, msg: IncomingMessage, text: str, keyboard: Keyboard | None = None) -> Delivery:
        return await self.sender.send_message(
            msg.chat_id,
            text,
            thread_id=msg.thread_id,
            reply_to=msg.message_id,
            keyboard=keyboard,
            priority=Priority.REPLY,
        )

    async def _answer_or_link(self, ctx: MessageContext, entry: StoredEntry, question: str, match: Match) -> Outcome:
        msg = ctx.msg
        assert match.best is not None
        score = match.best.score
        cooldown = community_setting(ctx.community, "faq.cooldown_minutes", self.settings.cooldown_minutes)
        if cooldown > 0:
            earlier = await self.repo.recent_answer(msg.chat_id, entry.id, self.clock() - cooldown * 60)
            if earlier is not None and earlier.message_id is not None:
                text = self._link_back_text(ctx, earlier.message_id, earlier.thread_id, earlier.created_at)
                await self._record(msg, entry.id, score, "cooldown")
                return Outcome("cooldown", "", match, await self._reply(msg, text))
        answer_id = await self._record(msg, entry.id, score, "answer")
        return Outcome("answer", "", match, await self._send_answer(answer_id, entry, _Target.of(msg, question)))

    async def _send_answer(self, answer_id: int, entry: StoredEntry, to: _Target) -> Delivery:
        """Post the answer of a recorded answer row; a failed send forgets the row (it may be tried again)."""
        delivery = await self.sender.send_message(
            to.chat_id,
            self.answer_text(entry, to.question, to.language_code),
            thread_id=to.thread_id,
            reply_to=to.reply_to,
            keyboard=self._answer_keyboard(entry, answer_id),
            priority=Priority.REPLY,
        )
        if delivery.ok:
            await self.repo.set_answer_message(answer_id, delivery.message_ids[-1] if delivery.message_ids else None)
        else:
            log.warning("faq: could not answer in %s: %s", to.chat_id, delivery.error)
            await self.repo.forget_answer(answer_id)
        return delivery

    def _link_back_text(self, ctx: MessageContext, message_id: int, thread_id: int | None, at: int) -> str:
        msg = ctx.msg
        t = Translator(ctx.community.language)
        minutes = max(1, (self.clock() - at) // 60)
        link = message_link_or_none(msg.chat_id, message_id, username=ctx.community.username, thread_id=thread_id)
        if link is None:
            return t("I answered this {minutes} min ago, just above.", minutes=minutes)
        return t(
            'I answered this {minutes} min ago: <a href="{link}">see the answer</a>.',
            minutes=minutes,
            link=html.escape(link, quote=True),
        )

    async def _suggest(self, ctx: MessageContext, match: Match, cached: CachedIndex) -> Outcome:
        msg = ctx.msg
        rows: Keyboard = []
        for cand in match.candidates:
            entry = cached.entries[cand.entry_id]
            label = _label(entry.questions[0] if entry.questions else entry.key)
            rows.append([Button(label, callback_data=self.buttons.faq_pick(entry.id, msg.message_id))])
        await self._record(msg, None, match.best.score if match.best else None, "suggestion")
        delivery = await self._reply(msg, Translator(ctx.community.language)("Did you mean…?"), rows)
        return Outcome("suggest", "", match, delivery)

    # --- buttons -----------------------------------------------------------------------------

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
        to = _Target(chat_id, thread_id, question_message_id, question, language_code)
        if not (await self._send_answer(claim, entry, to)).ok:
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

    # --- "save as FAQ" -----------------------------------------------------------------------

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
        if question is None or not question.text.strip() or not is_question(question.text):
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
            question=html.escape(shorten(question.text, 300)),
            answer=html.escape(shorten(msg.text, 600)),
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


def mention_pattern(bot_username: str | None) -> SafePattern:
    """``@bot`` mentions; bot usernames are ASCII and end in "bot", so RE2's ASCII ``\\b`` fits."""
    source = rf"@{escape(bot_username)}\b" if bot_username else r"@\w*bot\b"
    return compiled_cached(source, name="faq.mention", ignorecase=True)


def _label(text: str) -> str:
    return shorten(" ".join(text.split()), SUGGESTION_LABEL)
