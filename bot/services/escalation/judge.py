"""ThreadJudge: does this thread need someone from the team? A pure function of the thread.

It weighs four things, each one a *signal* with a contribution to a score (shown by ``/case ID why``):

* **need**: what members ask for or report (a money problem, a refund, an outage, lost data or work,
  a staff no-show, a threat to leave or to go public, harassment, safety, a question only the team
  can answer). It comes from the multilingual encoder (:mod:`bot.services.escalation.signals`). A
  short reply ("same here", "+1", "у меня тоже") joins its parent's need;
* **target**: a need or a complaint about something outside (the weather, a bank, one's own laptop,
  another app) does not count. The community's own words (its description, ``about``, keywords)
  mark a message as *about us*; a short reply inherits its parent's target;
* **resolution**: the member who raised it thanked a peer's answer → settled. A staff reply in the
  thread → the team is on it. The same member asking again, more members with the same need, and no
  staff reply after the wait raise it;
* **tone**: how negative the members raising it are, one signal among the others.

A case opens when the score reaches ``open_score``. Urgent needs (harassment, safety, lost data, a
public threat) open at once; the others wait ``wait_seconds`` from the first message that raised them,
to give peers a chance, and open at the end of the wait only if still unsettled.

No I/O, no clock, no aiogram.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.services.escalation.policy import (
    ANONYMOUS_ADMIN_ID,
    SERVICE_USER_IDS,
    TermMatcher,
    _normalise,
)
from bot.services.escalation.signals import URGENT_NEEDS, MessageSignals, Need
from bot.textsafety import compile_pattern

__all__ = ["NEED_WORDS", "Contribution", "Judgment", "ThreadJudge", "ThreadMessage", "ThreadSettings"]

# Plain words for each need, as the card shows them.
NEED_WORDS: dict[str, str] = {
    Need.BILLING: "money or billing problem",
    Need.REFUND: "refund or cancellation requested",
    Need.OUTAGE: "service not working",
    Need.DATA_LOSS: "lost data or work",
    Need.NO_SHOW: "staff or service did not show up",
    Need.LEAVE_THREAT: "threat to leave or go public",
    Need.HARASSMENT: "harassment or abuse",
    Need.SAFETY: "safety concern",
    Need.STAFF_QUESTION: "question only the team can answer",
    Need.CHASING: "asked again without an answer",
}


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of the thread as the judge sees it (epoch seconds)."""

    message_id: int
    user_id: int
    text: str
    date: int
    label: str | None  # negative | neutral | positive | unclassified | None
    score: float | None
    reply_to_message_id: int | None = None
    is_staff: bool = False
    is_bot: bool = False
    signals: MessageSignals | None = None  # None: not embedded (the cheap gate did not fire)

    @property
    def negative_score(self) -> float:
        return float(self.score or 0.0) if self.label == "negative" else 0.0


@dataclass(frozen=True, slots=True)
class ThreadSettings:
    """The judgment's thresholds and weights for one community (config defaults + its overrides)."""

    wait_seconds: int = 180
    window_seconds: int = 3600
    open_score: float = 1.0
    need_margin: float = 0.1  # a need must beat ordinary talk by this much (head probability difference)
    prototype_need_margin: float = 0.0125  # the same without the head (e5 cosine over ordinary talk)
    prototype_urgent_margin: float = 0.02
    min_words: int = 4  # shorter messages do not carry a need of their own; they join their parent's
    urgent_margin: float = 0.5  # an urgent need opens at once only this clear; less clear ones wait
    repeat_seconds: int = 300  # the same member writing again this much later (no staff reply) repeats it
    weight_urgent: float = 1.0
    weight_need: float = 0.7
    weight_question: float = 0.7
    weight_chasing: float = 0.4
    weight_member: float = 0.25  # each more member with the same matter (up to 2)
    weight_repeat: float = 0.3  # the same member raising it again
    weight_unanswered: float = 0.3  # no staff reply by the end of the wait
    weight_tone: float = 0.3  # times the worst negative probability among those raising it
    weight_resolved: float = 1.5  # subtracted when the raiser thanked a peer's answer
    weight_staff_replied: float = 1.5  # subtracted when staff answered in the thread
    positive_thanks: float = 0.6  # a positive message at or above this after a peer's reply settles it
    ack_words: int = 5  # a raiser's calm reply to a peer's answer this short ("will do") settles it too
    about: TermMatcher | None = None  # the community's own words
    outside: TermMatcher | None = None  # outside topics (weather, traffic …)


@dataclass(frozen=True, slots=True)
class Contribution:
    signal: str  # need | members | repeat | unanswered | tone | resolved | staff_replied | outside
    value: float
    text: str  # plain words
    count: int = 0  # members (members), minutes (unanswered, staff_replied)


@dataclass(frozen=True, slots=True)
class Judgment:
    score: float
    contributions: tuple[Contribution, ...]
    need: str | None = None
    urgent: bool = False
    members: tuple[int, ...] = ()
    first_message_id: int | None = None  # the message that raised the matter
    raised_at: int | None = None
    due_at: int | None = None  # when a waiting matter is judged again (raised_at + wait)
    settled: str | None = None  # why it no longer needs anyone: "resolved" | "staff replied" | None
    severity: float = 0.0
    open_now: bool = False  # open a case at this moment
    watch: bool = False  # not yet: judge again at due_at
    detail: str = ""  # plain English, for the card and logs
    raised_by: int | None = None  # the member whose message raised the matter

    @property
    def escalate(self) -> bool:
        return self.open_now


@dataclass(slots=True)
class _Raise:
    need: str
    user_id: int
    date: int
    message_id: int
    strength: float
    joined: bool = False
    negative: float = 0.0
    clear: bool = False  # read clearly enough for an urgent need to open at once (urgent_margin)


@dataclass(slots=True)
class _State:
    raises: list[_Raise] = field(default_factory=list)
    outside_ids: set[int] = field(default_factory=set)
    need_of: dict[int, str] = field(default_factory=dict)


# Needs that happen between members, in a reply to anything: never "outside", never mere talk.
_BETWEEN_MEMBERS = frozenset({Need.HARASSMENT.value, Need.SAFETY.value})


# "Me too" openers in en/ru/he: a reply that starts with one joins its parent's matter.
_ME_TOO = frozenset({"same", "too", "also", "+1", "mine", "тоже", "также", "аналогично", "גם", "אותו"})


def joins_in(text: str) -> bool:
    """The reply says "me too" in its first few words ("same here", "у меня тоже", "גם אצלי")."""
    return any(word.strip(".,!?:;-—") in _ME_TOO for word in _normalise(text).split()[:4])


def _words(text: str) -> int:
    return len(text.split())


# Laughter in en/ru/he: "haha", "lol", "lmao", "ахаха", "хаха", "חחח", and laughing emoji. Word-level,
# bounded, linear: each word is checked by one anchored pattern of single-character classes.
_LAUGH_WORD = compile_pattern(
    r"(?:a?(?:ha){2,}h?|lol|lmao|rofl|а?(?:ха){2,}х?|а?(?:ах){2,}а?|ח{3,})", name="escalation.laugh_word", max_len=64
)
_LAUGH_EMOJI = frozenset("😂🤣😆😅😹")
_WORDS = compile_pattern(
    r"\w+", name="escalation.words", engine="re", why="one Unicode word class, no alternation: cannot backtrack"
)


def laughs(text: str) -> bool:
    """The message laughs (a joke, teasing) in English, Russian or Hebrew."""
    if any(ch in _LAUGH_EMOJI for ch in text):
        return True
    return any(_LAUGH_WORD.fullmatch(word) for word in _WORDS.findall(_normalise(text))[:60])


class ThreadJudge:
    """Stateless: ``ThreadJudge().judge(window, settings, now=...)``."""

    def judge(self, window: Sequence[ThreadMessage], settings: ThreadSettings, *, now: int) -> Judgment:
        since = now - settings.window_seconds
        msgs = sorted(
            (m for m in window if since <= m.date <= now and not m.is_bot and m.user_id not in SERVICE_USER_IDS),
            key=lambda m: (m.date, m.message_id),
        )
        state = self._raises(msgs, settings)
        raises = [r for r in state.raises if r.message_id not in state.outside_ids]
        if not raises:
            if state.raises:
                return Judgment(
                    0.0,
                    (Contribution("outside", 0.0, "about something outside the community"),),
                    detail="about something outside the community",
                )
            return Judgment(0.0, (), detail="no need raised")
        # The main matter: urgent first, then the strongest.
        main = max(raises, key=lambda r: (r.need in URGENT_NEEDS, not r.joined, r.strength))
        need = main.need
        urgent = need in URGENT_NEEDS and main.clear
        first = min(raises, key=lambda r: (r.date, r.message_id))
        raisers = sorted({r.user_id for r in raises})
        contributions: list[Contribution] = []
        base = (
            settings.weight_urgent
            if urgent
            else settings.weight_question
            if need == Need.STAFF_QUESTION
            else settings.weight_chasing
            if need == Need.CHASING
            else settings.weight_need
        )
        contributions.append(Contribution("need", base, NEED_WORDS.get(need, need), len(raisers)))
        if len(raisers) > 1:
            extra = min(len(raisers) - 1, 2)
            contributions.append(
                Contribution(
                    "members", settings.weight_member * extra, f"raised by {len(raisers)} members", len(raisers)
                )
            )
        by_member: dict[int, list[_Raise]] = {}
        for r in raises:
            if not r.joined:
                by_member.setdefault(r.user_id, []).append(r)
        repeated = (
            any(len(rs) > 1 and rs[-1].date - rs[0].date >= 60 for rs in by_member.values())
            or any(r.need == Need.CHASING for r in raises if r is not main)
            or self._wrote_again(msgs, raisers, first, settings)
            or (main.need == Need.CHASING and self._asked_before(msgs, main))
        )
        if repeated:
            contributions.append(Contribution("repeat", settings.weight_repeat, "raised again by the same member"))
        worst = max((r.negative for r in raises), default=0.0)
        if worst > 0:
            contributions.append(
                Contribution("tone", round(settings.weight_tone * worst, 3), f"negative tone ({worst:.2f})")
            )
        after = [m for m in msgs if (m.date, m.message_id) > (first.date, first.message_id)]
        staff_reply = next((m for m in after if m.is_staff or m.user_id == ANONYMOUS_ADMIN_ID), None)
        settled: str | None = None
        if staff_reply is not None:
            settled = "staff replied"
            after_min = (staff_reply.date - first.date) // 60
            contributions.append(
                Contribution(
                    "staff_replied", -settings.weight_staff_replied, f"staff replied after {after_min} min", after_min
                )
            )
        elif self._thanked(msgs, raisers, first, settings, set(state.need_of)):
            settled = "resolved"
            contributions.append(
                Contribution("resolved", -settings.weight_resolved, "a peer's answer was thanked or taken up")
            )
        due_at = first.date + settings.wait_seconds
        if staff_reply is None and now >= due_at:
            minutes = max(1, (now - first.date) // 60)
            contributions.append(
                Contribution("unanswered", settings.weight_unanswered, f"no staff reply for {minutes} min", minutes)
            )
        score = round(sum(c.value for c in contributions), 3)
        enough = score >= settings.open_score
        open_now = enough and (urgent or now >= due_at)
        watch = not open_now and settled is None and now < due_at
        detail = self.describe(contributions, len(raisers))
        return Judgment(
            score,
            tuple(contributions),
            need,
            urgent,
            tuple(raisers),
            first.message_id,
            first.date,
            due_at,
            settled,
            worst,
            open_now,
            watch,
            detail,
            first.user_id,
        )

    @staticmethod
    def describe(contributions: Sequence[Contribution], members: int) -> str:
        """The case's reason in plain words: "refund requested by 2 members, no staff reply for 12 min"."""
        parts: list[str] = []
        for c in contributions:
            if c.signal == "need":
                parts.append(c.text + (f" by {members} members" if members > 1 else ""))
            elif c.signal in ("repeat", "unanswered", "staff_replied", "resolved", "outside"):
                parts.append(c.text)
        return ", ".join(parts)

    def _raises(self, msgs: Sequence[ThreadMessage], settings: ThreadSettings) -> _State:
        state = _State()
        by_id = {m.message_id: m for m in msgs}
        outside_of: dict[int, bool] = {}
        authors: set[int] = set()
        for m in msgs:
            if m.is_staff or m.user_id == ANONYMOUS_ADMIN_ID:
                continue
            self._raise_of(m, msgs, by_id, outside_of, authors, state, settings)
            authors.add(m.user_id)
        return state

    def _raise_of(
        self,
        m: ThreadMessage,
        msgs: Sequence[ThreadMessage],
        by_id: dict[int, ThreadMessage],
        outside_of: dict[int, bool],
        authors: set[int],
        state: _State,
        settings: ThreadSettings,
    ) -> bool:
        """Note what ``m`` raises (a need of its own or its parent's) in ``state``; False when nothing."""
        normalised = _normalise(m.text)
        about = settings.about is not None and settings.about.find_normalised(normalised) is not None
        parent = by_id.get(m.reply_to_message_id) if m.reply_to_message_id is not None else None
        short = _words(m.text) < settings.min_words
        own_outside = (m.signals is not None and m.signals.outside and not short) or (
            settings.outside is not None and settings.outside.find_normalised(normalised) is not None
        )
        outside = not about and (own_outside or (parent is not None and outside_of.get(parent.message_id, False)))
        outside_of[m.message_id] = outside
        need: str | None = None
        joined = False
        strength = 0.0
        need_margin, urgent_margin = self.margins(m.signals, settings)
        if m.signals is not None and not short:
            if m.signals.need is not None and m.signals.margin >= need_margin:
                need, strength = m.signals.need, m.signals.margin
            elif m.signals.chasing_margin >= need_margin and (
                msgs[0].message_id == m.message_id or m.user_id in authors
            ):
                # "Still no answer": counts from the thread's first message or someone who wrote before.
                need, strength = Need.CHASING.value, m.signals.chasing_margin
        head = m.signals is not None and m.signals.scale == "head"
        if need is not None and not self._tone_fits(need, m, strength >= urgent_margin, head, self._chain(m, by_id)):
            need = None
        if (
            need is not None
            and need not in _BETWEEN_MEMBERS
            and parent is not None
            and parent.user_id != m.user_id
            and parent.message_id not in state.need_of
            and all(r.user_id != m.user_id for r in state.raises)
        ):
            need = None  # a member answering another's message that raised nothing is talk, not a new matter
        if (
            need is None
            and parent is not None
            and parent.message_id in state.need_of
            and m.user_id != parent.user_id
            and not (m.label == "positive" and (m.score or 0.0) >= 0.8)
            and (short or m.signals is None or m.signals.margin >= 0 or joins_in(m.text))
        ):
            # "Same here": a short reply, or one that reads as a need rather than an answer, joins its
            # parent's matter (a peer's answer, where ordinary talk wins, does not).
            need, joined = state.need_of[parent.message_id], True
        if need is None:
            return False
        state.need_of[m.message_id] = need
        if outside and need not in _BETWEEN_MEMBERS:  # abuse or danger here is ours, whatever the topic
            state.outside_ids.add(m.message_id)
        state.raises.append(
            _Raise(need, m.user_id, m.date, m.message_id, strength, joined, m.negative_score, strength >= urgent_margin)
        )
        return True

    @staticmethod
    def _chain(m: ThreadMessage, by_id: dict[int, ThreadMessage], depth: int = 3) -> list[ThreadMessage]:
        """The messages ``m`` replies to, nearest first, up to ``depth`` of them."""
        out: list[ThreadMessage] = []
        at = m
        while len(out) < depth and at.reply_to_message_id is not None and at.reply_to_message_id in by_id:
            at = by_id[at.reply_to_message_id]
            out.append(at)
        return out

    @staticmethod
    def margins(signals: MessageSignals | None, settings: ThreadSettings) -> tuple[float, float]:
        """(need_margin, urgent_margin) on the scale the message was read on: the head's probability
        differences, or the prototypes' cosine margins when the head is absent."""
        if signals is not None and signals.scale == "head":
            return settings.need_margin, settings.urgent_margin
        return settings.prototype_need_margin, settings.prototype_urgent_margin

    @staticmethod
    def _tone_fits(need: str, m: ThreadMessage, clear: bool, head: bool, chain: Sequence[ThreadMessage] = ()) -> bool:
        """A need said laughing is a joke, and so is one that carries on the same member's joke up the
        reply chain. Harassment must read clearly: with the head, as clear as an urgent need must
        (``urgent_margin``), whatever the tone model says (mockery with a "lol" is still abuse); with
        the prototypes alone, in a negative voice."""
        if need == Need.HARASSMENT:
            return clear if head else m.label == "negative"
        if laughs(m.text):
            return False
        return not any(p.user_id == m.user_id and laughs(p.text) for p in chain)

    @staticmethod
    def _asked_before(msgs: Sequence[ThreadMessage], chasing: _Raise) -> bool:
        """The member who says "asked again" wrote earlier in this thread (the repeat is visible here)."""
        return any(
            m.user_id == chasing.user_id and (m.date, m.message_id) < (chasing.date, chasing.message_id) for m in msgs
        )

    @staticmethod
    def _wrote_again(
        msgs: Sequence[ThreadMessage], raisers: Sequence[int], first: _Raise, settings: ThreadSettings
    ) -> bool:
        """A raiser wrote again, not positively, ``repeat_seconds`` after raising it (and no staff between)."""
        for m in msgs:
            if m.is_staff or m.user_id == ANONYMOUS_ADMIN_ID:
                return False
            if m.user_id in raisers and m.date - first.date >= settings.repeat_seconds and m.label != "positive":
                return True
        return False

    @staticmethod
    def _thanked(
        msgs: Sequence[ThreadMessage],
        raisers: Sequence[int],
        first: _Raise,
        settings: ThreadSettings,
        raising: set[int],
    ) -> bool:
        """A peer answered after the matter was raised and a raiser then said something positive, or
        replied to that answer briefly and calmly, without a question or a need of its own."""
        peer_answered = False
        answers: set[int] = set()
        for m in msgs:
            if (m.date, m.message_id) <= (first.date, first.message_id):
                continue
            if m.user_id not in raisers:
                peer_answered = True
                answers.add(m.message_id)
            elif peer_answered and m.message_id not in raising:  # "yes, still empty" is no thanks
                if m.label == "positive" and (m.score or 0.0) >= settings.positive_thanks:
                    return True
                if (
                    m.reply_to_message_id in answers
                    and m.label != "negative"
                    and _words(m.text) <= settings.ack_words
                    and "?" not in m.text
                ):  # "will do", "сделаю", "רעיון טוב": the raiser took the peer's answer
                    return True
        return False
