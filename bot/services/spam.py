"""Spam detection with a human in the loop.

Checked: a new member's first messages, and any message with a link, an invite link, a mention of another
chat, a forward from a channel, or an author whose name looks like staff. Scored by the small lexical model
(models/spam_lexical.py, in-process, about a millisecond) and by similarity to messages this deployment's
managers marked as spam; a message similar to one they marked "not spam" is let through.

Per community ``moderation.spam_policy``: ``observe`` (the default: a card, nothing else), ``delete`` (delete
and a card whose "Not spam" restores it) or ``delete_and_mute``. Spam / Not spam on the card teach the model
and the similarity index (:meth:`SpamMemory.learn`). Every action goes through ModerationService.act.
"""

from __future__ import annotations

import asyncio
import logging
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.config import ModerationSettings
from bot.domain import Community, MessageContext
from bot.domain.cases import Case
from bot.services.community import REMOVED
from bot.services.escalation import CaseReason
from bot.services.moderation import ModerationService
from bot.services.moderation_types import DELETE
from bot.storage.moderation import ModerationRepository

log = logging.getLogger(__name__)

_INVITES = ("t.me/+", "t.me/joinchat", "telegram.me/joinchat", "telegram.me/+", "telegram.dog/+")
_URLISH = ("http://", "https://", "www.", "t.me/")
_STAFF_WORDS = ("admin", "support", "moderator", "админ", "поддержк", "модератор", "מנהל", "תמיכה")
# Letters that look alike across scripts (Cyrillic → Latin), and digits used as letters.
_CONFUSABLE = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "х": "x",
        "у": "y",
        "і": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "т": "t",
        "в": "b",
        "н": "h",
        "0": "o",
        "1": "l",
        "3": "e",
        "@": "a",
        "$": "s",
    }
)
MAX_MARKS = 5000
STAFF_TTL = 300


class CasLookup(Protocol):
    async def is_listed(self, user_id: int) -> bool | None: ...


class Scorer(Protocol):
    threshold: float

    def score(self, text: str) -> float: ...
    def learn(self, text: str, label: str) -> float: ...


def fold_name(name: str) -> str:
    """Lower case, look-alike letters folded, only letters kept (linear, no regex)."""
    text = unicodedata.normalize("NFKC", name).lower().translate(_CONFUSABLE)
    return "".join(ch for ch in text if ch.isalpha())


def shingles(text: str) -> frozenset[str]:
    """Character 3-grams of the folded text: what the similarity index compares."""
    norm = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    return frozenset(norm[i : i + 3] for i in range(max(len(norm) - 2, 0)))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


@dataclass(frozen=True, slots=True)
class Verdict:
    score: float  # what decided: the model's probability, or the similarity to marked spam
    model: float
    similar_spam: float
    similar_ham: float
    reasons: tuple[str, ...]
    is_spam: bool


class SpamMemory:
    """What the spam check has learned: the model (loaded on start) and this deployment's marked messages.

    Moderation teaches it (a manager's Spam / Not spam on a card, through :meth:`learn`); the spam check
    reads it. Both receive it through their constructors.
    """

    def __init__(self, repo: ModerationRepository, load_model: Callable[[], Scorer]) -> None:
        self.repo = repo
        self._load_model = load_model
        self.model: Scorer | None = None
        self.marks: list[tuple[frozenset[str], str]] = []

    async def start(self) -> None:
        """Load the model (off the event loop), then replay this deployment's marks into it and the index."""
        try:
            self.model = await asyncio.to_thread(self._load_model)
        except Exception:
            log.exception("the spam model could not be loaded; spam checks use marked messages only")
            self.model = None
        for mark in await self.repo.marks(MAX_MARKS):
            self._remember(mark.text, mark.label)

    def _remember(self, text: str, label: str) -> None:
        grams = shingles(text)
        if grams:
            self.marks.append((grams, label))
            del self.marks[:-MAX_MARKS]
        if self.model is not None and text.strip():
            self.model.learn(text, label)

    async def learn(self, chat_id: int, text: str, label: str) -> None:
        self._remember(text, label)
        log.info("spam detector learned a %s example from chat %s", label, chat_id)


class SpamService:
    def __init__(
        self,
        settings: ModerationSettings,
        moderation: ModerationService,
        repo: ModerationRepository,
        memory: SpamMemory,
        *,
        managers_chat_id: int | None,
        bot_username: Callable[[], str | None] = lambda: None,
        cas: CasLookup | None = None,
    ) -> None:
        self.settings = settings
        self.moderation = moderation
        self.repo = repo
        self.memory = memory
        self.managers_chat_id = managers_chat_id
        self.bot_username = bot_username
        self._staff_cache: dict[int, tuple[int, frozenset[str]]] = {}
        self.cas = cas

    @property
    def model(self) -> Scorer | None:
        return self.memory.model

    async def start(self) -> None:
        await self.memory.start()

    # ------------------------------------------------------------------ settings

    def _setting(self, community: Community | None, key: str, default: Any) -> Any:
        return self.moderation.setting(community, key, default)

    def policy(self, community: Community | None) -> str:
        value = str(self._setting(community, "spam_policy", self.settings.spam_policy))
        return value if value in ("observe", "delete", "delete_and_mute") else "observe"

    def threshold(self, community: Community | None) -> float:
        configured = self._setting(community, "spam_threshold", self.settings.spam_threshold)
        if configured is not None:
            return float(configured)
        return self.model.threshold if self.model is not None else 1.01

    # ------------------------------------------------------------------ checking

    async def reasons(self, ctx: MessageContext) -> list[str]:
        """Why this message is worth a check (empty: it is not)."""
        msg = ctx.msg
        low = msg.text.lower()
        out: list[str] = []
        first = int(self._setting(ctx.community, "first_messages", self.settings.first_messages))
        if first and await self.repo.message_count(msg.chat_id, msg.author.user_id) <= first:
            out.append("new member")
        if any(mark in low for mark in _INVITES) or any(any(m in link.lower() for m in _INVITES) for link in msg.links):
            out.append("invite link")
        elif msg.links or any(mark in low for mark in _URLISH):
            out.append("link")
        own = (self.bot_username() or "").lower()
        if any(m not in ("admin", "admins", own) for m in msg.mentions):
            out.append("mentions another chat")
        if msg.forward_chat_id is not None and msg.forward_chat_id != msg.chat_id:
            out.append("forwarded from a channel")
        if await self._looks_like_staff(ctx):
            out.append("look-alike name")
        return out

    async def _looks_like_staff(self, ctx: MessageContext) -> bool:
        name = fold_name(ctx.msg.author.display_name)
        if not name:
            return False
        if any(fold_name(word) in name for word in _STAFF_WORDS):
            return True
        return name in await self._staff_names(ctx.msg.chat_id) or name == fold_name(ctx.community.title)

    async def _staff_names(self, chat_id: int) -> frozenset[str]:
        """Folded names of the chat's admins and the managers, read at most every STAFF_TTL seconds."""
        now = self.moderation.clock()
        cached = self._staff_cache.get(chat_id)
        if cached is not None and now - cached[0] < STAFF_TTL:
            return cached[1]
        staff = set(self.moderation.roles.manager_ids) | await self.moderation.roles.chat_admins(chat_id)
        names = frozenset(fold_name(n) for n in await self.repo.names_of(chat_id, staff)) - {""}
        self._staff_cache[chat_id] = (now, names)
        return names

    def judge(self, text: str, reasons: list[str], threshold: float) -> Verdict:
        model = self.model.score(text) if self.model is not None else 0.0
        grams = shingles(text)
        spam_sim = max((similarity(grams, g) for g, label in self.memory.marks if label == "spam"), default=0.0)
        ham_sim = max((similarity(grams, g) for g, label in self.memory.marks if label == "ham"), default=0.0)
        score = model
        why = list(reasons)
        if spam_sim >= self.settings.similar_spam and spam_sim > ham_sim:
            score = max(score, spam_sim)
            why.append("like marked spam")
        # The managers said a message like this is fine: do not act on it again.
        vetoed = ham_sim >= 0.9 and ham_sim >= spam_sim
        return Verdict(round(score, 4), model, spam_sim, ham_sim, tuple(why), score >= threshold and not vetoed)

    async def on_message(self, ctx: MessageContext) -> Literal["removed"] | None:
        msg = ctx.msg
        if msg.is_edit or msg.author.is_bot or msg.chat_id == self.managers_chat_id or not msg.text.strip():
            return None
        community = ctx.community
        if not self.moderation.enabled(community) or not bool(
            self._setting(community, "spam_check", self.settings.spam_check)
        ):
            return None
        protected = await self.moderation.protection(
            msg.chat_id, msg.author.user_id, msg.author.sender_chat_id, msg.is_automatic_forward
        )
        if protected:
            return None
        reasons = await self.reasons(ctx)
        if not reasons:
            return None
        verdict = self.judge(msg.text, reasons, self.threshold(community))
        if (
            not verdict.is_spam
            and self.cas is not None
            and "new member" in reasons
            and msg.author.sender_chat_id is None
            and await self.cas.is_listed(msg.author.user_id)
        ):
            verdict = Verdict(
                1.0,
                verdict.model,
                verdict.similar_spam,
                verdict.similar_ham,
                (*verdict.reasons, "on the CAS ban list"),
                True,
            )
        log.debug("spam check %s/%s: %s", msg.chat_id, msg.message_id, verdict)
        if not verdict.is_spam:
            return None
        return REMOVED if await self._handle(ctx, verdict) else None

    async def _handle(self, ctx: MessageContext, verdict: Verdict) -> bool:
        """Card the suspected spam and apply the policy; True when the message was deleted."""
        msg = ctx.msg
        moderation = self.moderation
        topic = msg.thread_id if msg.is_topic_message else None
        subject, created = await self.repo.add_subject(
            chat_id=msg.chat_id,
            message_id=msg.message_id,
            thread_id=topic,
            user_id=msg.author.user_id,
            sender_chat_id=msg.author.sender_chat_id,
            author_name=msg.author.display_name,
            text=msg.text,
            kind="spam",
            protected=None,
            at=moderation.clock(),
            spam_score=verdict.score,
            spam_detail=", ".join(verdict.reasons),
        )
        if not created:
            return False  # a redelivered update: handled already

        async def attach(case: Case) -> None:
            await self.repo.attach(subject.id, case.id)

        detail = f"possible spam {verdict.score:.2f} ({', '.join(verdict.reasons)})"
        reason = CaseReason(
            reasons=("spam",), detail=detail, trigger_message_id=msg.message_id, severity=verdict.score, members=0
        )
        case, _ = await moderation.escalation.open_or_join(
            chat_id=msg.chat_id,
            thread_key=ctx.thread_key,
            topic_id=topic,
            reason=reason,
            live=True,
            before_card=attach,
        )
        policy = self.policy(ctx.community)
        log.info(
            "message %s/%s looks like spam (%s); policy %s; case #%s",
            msg.chat_id,
            msg.message_id,
            detail,
            policy,
            case.id,
        )
        deleted = False
        if policy in ("delete", "delete_and_mute"):
            deleted = (await moderation.act(subject.id, DELETE, None, reason="spam policy")).ok
        if policy == "delete_and_mute" and not subject.is_channel:
            minutes = int(self._setting(ctx.community, "spam_mute_minutes", self.settings.spam_mute_minutes))
            await moderation.act(subject.id, "mute", None, reason="spam policy", seconds=minutes * 60)
        return deleted
