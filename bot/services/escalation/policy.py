"""EscalationPolicy: a pure function from a thread's recent window to "open a case or not, and why".

No I/O, no clock, no aiogram: everything it needs comes in as arguments, so every rule is unit-tested.

A case opens when any of these holds for the messages of one thread inside the window:

* **very_negative**: one message at or above the very-negative threshold;
* **pile_on**: at least ``pile_on_members`` distinct members are negative;
* **reply_to_staff**: a negative message replies to the bot or to a manager / chat admin;
* **keyword**: a configured keyword (whole words, Unicode-aware; ``refund*`` also matches "refunds")
  in a message that is not positive.

Two things keep it quiet:

* **answered frustration**: a member whose latest opinionated message (negative or positive) is
  positive no longer counts as negative ("this is awful" … "found it, thanks!");
* **outside things**: a negative message about something outside the community (the weather, traffic)
  does not count. A message is *about us* when it names a term of the community's description or
  ``about_keywords`` (its brand, product, service) or a keyword, and *outside* when it names an
  outside topic and nothing of ours. Messages that name neither count (better a card too many than a
  festering complaint); the feedback loop then tunes the thresholds.

Messages from staff (managers, chat admins, anonymous admins) and bots never count as negative.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from bot.textsafety import compile_pattern

__all__ = [
    "DEFAULT_OUTSIDE_TOPICS",
    "Decision",
    "EscalationPolicy",
    "PolicySettings",
    "Reason",
    "Relevance",
    "TermMatcher",
    "WindowMessage",
    "case_priority",
    "description_terms",
    "priority_label",
]

# Telegram's placeholder senders: anonymous admins (staff) and channel posts (not members).
ANONYMOUS_ADMIN_ID = 1087968824
CHANNEL_BOT_ID = 136817688
SERVICE_USER_IDS = frozenset({777000, CHANNEL_BOT_ID})
# The severity a keyword case has at least, whatever the sentiment of its message.
KEYWORD_SEVERITY = 0.5

# Topics that are nobody's fault here. ``*`` matches any word ending (stems for ru/he/en).
DEFAULT_OUTSIDE_TOPICS: tuple[str, ...] = (
    "weather",
    "rain*",
    "snow*",
    "storm*",
    "heat",
    "heatwave",
    "hot outside",
    "cold outside",
    "humid*",
    "traffic",
    "commute",
    "politic*",
    "election*",
    "monday*",
    "taxes",
    "inflation",
    "погод*",
    "дожд*",
    "снег*",
    "жар*",
    "холод*",
    "пробк*",
    "политик*",
    "выбор*",
    "понедельник*",
    "מזג האוויר",
    "גשם",
    "גשמים",
    "שלג",
    "שרב",
    "חום",
    "קור",
    "פקק*",
    "פוליטיק*",
    "בחירות",
)

# Words too common to identify a community from its description.
_STOPWORDS = frozenset(
    """
    about above after again also among and any are because been before being below between both but
    can chat channel community could did does doing down during each every few for from further
    group had has have having here how into its itself just members more most not now off once only
    other our ours out over own same she should some such than that the their them then there these
    they this those through too under until very was were what when where which while who whom why
    will with would you your yours welcome official discuss discussion talk people everyone place
    это этот эта эти для как что или так все всех наш наша наши ваш ваша чат группа сообщество
    обсуждение здесь тут который которые только также есть
    של את על עם זה זו זאת כל גם אבל או אם כי לא יש אין קבוצה קהילה צאט צ'אט דיון כאן
    """.split()  # noqa: SIM905 - a word list reads better as text
)


class Reason(StrEnum):
    VERY_NEGATIVE = "very_negative"
    PILE_ON = "pile_on"
    REPLY_TO_STAFF = "reply_to_staff"
    KEYWORD = "keyword"


class Relevance(StrEnum):
    US = "us"
    OUTSIDE = "outside"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WindowMessage:
    """One message of a thread as the policy sees it (epoch seconds, sentiment of its label)."""

    message_id: int
    user_id: int
    text: str
    date: int
    label: str | None  # negative | neutral | positive | unclassified | None
    score: float | None  # probability of ``label``
    reply_to_user_id: int | None = None
    is_bot: bool = False

    @property
    def negative_score(self) -> float:
        return float(self.score or 0.0) if self.label == "negative" else 0.0


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


_WORD = compile_pattern(r"\w+", name="escalation.word", engine="re", why="one character class, repeated")


class TermMatcher:
    """Whole-word matching of a list of terms, Unicode-aware, never inside a longer word.

    ``refund`` matches "Refund!" and "a refund." but not "refunded" or "nonrefundable";
    ``refund*`` also matches "refunds" and "refunded". Multi-word terms match across any whitespace.

    Single words (the usual case) are looked up per word of the text (a dict and a few prefix
    checks), which stays fast with long term lists; other terms go through one regex.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms: tuple[str, ...] = tuple(dict.fromkeys(t.strip() for t in terms if t and t.strip()))
        self._words: dict[str, str] = {}  # normalised word → term
        self._stems: list[tuple[str, str]] = []  # (normalised prefix, term)
        parts: list[str] = []
        self._by_group: dict[str, str] = {}
        for index, term in enumerate(self.terms):
            normalised = _normalise(term)
            stem = normalised.endswith("*")
            body = normalised.rstrip("*").strip()
            if not body:
                continue
            if _WORD.fullmatch(body):
                if stem:
                    self._stems.append((body, term))
                else:
                    self._words.setdefault(body, term)
                continue
            pattern = r"\s+".join(re.escape(word) for word in body.split())
            tail = r"\w*" if stem else ""
            parts.append(rf"(?P<t{index}>(?<!\w){pattern}{tail}(?!\w))")
            self._by_group[f"t{index}"] = term
        self._regex = (
            compile_pattern(
                "|".join(parts),
                name="escalation.terms",
                engine="re",
                why="escaped literals between one-character look-arounds, words joined by one \\s+",
            )
            if parts
            else None
        )
        self._stem_regex = (
            compile_pattern(
                "|".join(f"(?P<s{i}>{re.escape(prefix)})" for i, (prefix, _) in enumerate(self._stems)),
                name="escalation.stems",
                engine="re",
                why="escaped literals, matched at the start of one word",
            )
            if self._stems
            else None
        )
        # A thread's window is re-read on every new negative message: remember recent answers.
        self._memo = lru_cache(maxsize=1024)(self._search)

    def __bool__(self) -> bool:
        return bool(self._words or self._stems or self._regex is not None)

    def find(self, text: str) -> str | None:
        """The configured term that matches first in ``text``, or None."""
        return self.find_normalised(_normalise(text)) if text and self else None

    def find_normalised(self, text: str) -> str | None:
        """Like :meth:`find` for text already passed through ``_normalise`` (saves work per matcher)."""
        if not text:
            return None
        return self._memo(text)

    def _search(self, text: str) -> str | None:
        best: tuple[int, str] | None = None
        if self._words or self._stems:
            for match in _WORD.finditer(text):
                word = match.group()
                term = self._words.get(word)
                if term is None and self._stem_regex is not None:
                    stem = self._stem_regex.match(word)
                    if stem is not None:
                        term = self._stems[int(str(stem.lastgroup)[1:])][1]
                if term is not None:
                    best = (match.start(), term)
                    break
        if self._regex is not None:
            found = self._regex.search(text)
            if found is not None and (best is None or found.start() < best[0]):
                best = (found.start(), self._by_group[str(found.lastgroup)])
        return None if best is None else best[1]


@lru_cache(maxsize=64)
def _matcher(terms: tuple[str, ...]) -> TermMatcher:
    return TermMatcher(terms)


@lru_cache(maxsize=512)
def description_terms(description: str) -> tuple[str, ...]:
    """Distinctive words of a community description: its brand, product and service names."""
    words = _WORD.findall(_normalise(description))
    out = [w for w in words if len(w) >= 4 and not w.isdigit() and w not in _STOPWORDS]
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """Thresholds for one community: the config's defaults with that community's overrides."""

    very_negative: float = 0.90
    negative: float = 0.60
    pile_on_members: int = 3
    window_seconds: int = 3600
    keywords: tuple[str, ...] = ("refund", "scam")
    about: str = ""  # what the community is about (brand, product, service), in words
    about_keywords: tuple[str, ...] = ()
    outside_topics: tuple[str, ...] = DEFAULT_OUTSIDE_TOPICS

    @property
    def keyword_matcher(self) -> TermMatcher:
        return _matcher(self.keywords)

    @property
    def about_matcher(self) -> TermMatcher:
        return _matcher(tuple(self.about_keywords) + description_terms(self.about))

    @property
    def outside_matcher(self) -> TermMatcher:
        return _matcher(self.outside_topics)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy concluded. ``reasons`` is empty when no case should open."""

    reasons: tuple[Reason, ...]
    detail: str  # plain English, for logs and reports
    severity: float = 0.0  # highest negative score among counted messages
    negative_members: int = 0
    trigger_message_id: int | None = None
    keyword: str | None = None
    negative_member_ids: tuple[int, ...] = field(default=())

    @property
    def escalate(self) -> bool:
        return bool(self.reasons)


class EscalationPolicy:
    """Stateless: ``EscalationPolicy().decide(window, settings, now=..., staff_ids=..., bot_id=...)``."""

    def relevance(self, text: str, settings: PolicySettings) -> Relevance:
        return self._relevance(
            _normalise(text), settings.about_matcher, settings.keyword_matcher, settings.outside_matcher
        )

    @staticmethod
    def _relevance(normalised: str, about: TermMatcher, keywords: TermMatcher, outside: TermMatcher) -> Relevance:
        if about.find_normalised(normalised) or keywords.find_normalised(normalised):
            return Relevance.US
        if outside.find_normalised(normalised):
            return Relevance.OUTSIDE
        return Relevance.UNKNOWN

    def decide(
        self,
        window: Sequence[WindowMessage],
        settings: PolicySettings,
        *,
        now: int,
        staff_ids: frozenset[int] | set[int] = frozenset(),
        bot_id: int | None = None,
    ) -> Decision:
        since = now - settings.window_seconds
        members = [
            m
            for m in window
            if since <= m.date <= now
            and not m.is_bot
            and m.user_id not in staff_ids
            and m.user_id != ANONYMOUS_ADMIN_ID
            and m.user_id not in SERVICE_USER_IDS
            and m.user_id != bot_id
        ]
        if not members:
            return Decision((), "no member messages in the window")
        about_matcher, keyword_matcher = settings.about_matcher, settings.keyword_matcher
        outside_matcher = settings.outside_matcher

        def is_negative(m: WindowMessage) -> bool:
            return m.label == "negative" and (m.score or 0.0) >= settings.negative

        # A member's latest opinion: someone who said "thanks" after complaining is answered.
        latest_opinion: dict[int, str] = {}
        for m in sorted(members, key=lambda m: (m.date, m.message_id)):
            if m.label == "positive" or is_negative(m):
                latest_opinion[m.user_id] = "positive" if m.label == "positive" else "negative"
        still_unhappy = {uid for uid, opinion in latest_opinion.items() if opinion == "negative"}

        counted: list[WindowMessage] = []  # negative, from a still-unhappy member, not about outside things
        outside = 0
        for m in members:
            if not is_negative(m) or m.user_id not in still_unhappy:
                continue
            addressed = m.reply_to_user_id is not None and (
                m.reply_to_user_id in staff_ids or m.reply_to_user_id == bot_id
            )
            relevance = self._relevance(_normalise(m.text), about_matcher, keyword_matcher, outside_matcher)
            if not addressed and relevance is Relevance.OUTSIDE:
                outside += 1
                continue
            counted.append(m)

        reasons: list[Reason] = []
        notes: list[str] = []
        trigger: WindowMessage | None = None
        keyword: str | None = None

        for m in members:
            if m.label == "positive":
                continue
            found = keyword_matcher.find(m.text)
            if found is not None:
                reasons.append(Reason.KEYWORD)
                notes.append(f"keyword {found!r} in message {m.message_id}")
                trigger, keyword = m, found
                break

        for m in counted:
            if m.reply_to_user_id is not None and (m.reply_to_user_id in staff_ids or m.reply_to_user_id == bot_id):
                reasons.append(Reason.REPLY_TO_STAFF)
                whom = "the bot" if m.reply_to_user_id == bot_id else "a manager"
                notes.append(f"negative reply to {whom} (message {m.message_id})")
                trigger = trigger or m
                break

        very = [m for m in counted if m.negative_score >= settings.very_negative]
        if very:
            worst = max(very, key=lambda m: m.negative_score)
            reasons.append(Reason.VERY_NEGATIVE)
            notes.append(f"very negative message {worst.message_id} ({worst.negative_score:.2f})")
            trigger = trigger or worst

        unhappy_members = sorted({m.user_id for m in counted})
        if len(unhappy_members) >= settings.pile_on_members:
            reasons.append(Reason.PILE_ON)
            minutes = settings.window_seconds // 60
            notes.append(f"{len(unhappy_members)} members negative within {minutes} min")
            # Link the start of the pile-on: the earliest message that counts.
            trigger = trigger or min(counted, key=lambda m: (m.date, m.message_id))

        severity = max((m.negative_score for m in counted), default=0.0)
        if Reason.KEYWORD in reasons:
            severity = max(severity, KEYWORD_SEVERITY)  # "refund" in a calm voice still matters
        if not reasons:
            if outside:
                detail = f"{outside} negative message(s) about outside things; not about the community"
            elif latest_opinion and not still_unhappy:
                detail = "the negative members were answered (their latest message is positive)"
            elif counted:
                detail = (
                    f"{len(unhappy_members)} negative member(s), fewer than {settings.pile_on_members};"
                    " nothing very negative"
                )
            else:
                detail = "nothing negative enough"
            return Decision((), detail, severity, len(unhappy_members), negative_member_ids=tuple(unhappy_members))
        return Decision(
            tuple(reasons),
            "; ".join(notes),
            severity,
            len(unhappy_members),
            trigger.message_id if trigger is not None else None,
            keyword,
            tuple(unhappy_members),
        )


def case_priority(
    *, severity: float, negative_members: int, age_seconds: float, sla_seconds: float, reasons: Iterable[str] = ()
) -> int:
    """0-100: how urgent a case is. Severity weighs most, then how many are unhappy, then age against the SLA."""
    reasons = set(reasons)
    score = 40.0 * max(0.0, min(severity, 1.0))
    score += 8.0 * min(max(negative_members, 0), 4)
    if Reason.KEYWORD in reasons:
        score += 8.0
    if Reason.REPLY_TO_STAFF in reasons:
        score += 6.0
    if sla_seconds > 0:
        score += 14.0 * min(max(age_seconds, 0.0) / sla_seconds, 1.0)  # up to the SLA
        score += 6.0 * min(max(age_seconds - sla_seconds, 0.0) / sla_seconds, 1.0)  # overdue
    return round(min(score, 100.0))


def priority_label(priority: int) -> str:
    """'high', 'medium' or 'low' (the card shows a colour for it)."""
    if priority >= 60:
        return "high"
    if priority >= 35:
        return "medium"
    return "low"
