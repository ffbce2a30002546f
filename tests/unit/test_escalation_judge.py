"""ThreadJudge: the thread-level judgment as a pure function (signals are given, no model)."""

from __future__ import annotations

from bot.services.escalation_judge import ThreadJudge, ThreadMessage, ThreadSettings, laughs
from bot.services.escalation_policy import TermMatcher
from bot.services.escalation_signals import MessageSignals

T0 = 1_000_000
STAFF = 900


def need(name: str, margin: float = 0.05) -> MessageSignals:
    return MessageSignals(name, 0.9, margin, "chat", False)


def talk(ordinary: str = "chat", outside: bool = False) -> MessageSignals:
    return MessageSignals(None, 0.8, -0.03, ordinary, outside)


def msg(
    mid: int,
    user: int,
    text: str,
    at: int,
    signals: MessageSignals | None = None,
    *,
    label: str = "neutral",
    score: float = 0.8,
    reply_to: int | None = None,
) -> ThreadMessage:
    return ThreadMessage(mid, user, text, T0 + at, label, score, reply_to, is_staff=user == STAFF, signals=signals)


def judge(window: list[ThreadMessage], at: int, **settings: object) -> object:
    return ThreadJudge().judge(window, ThreadSettings(**settings), now=T0 + at)  # type: ignore[arg-type]


REFUND = [
    msg(1, 11, "How do I cancel and get my money back for the course?", 0, need("refund")),
    msg(2, 12, "same here", 40, None, reply_to=1),
]


def test_an_ordinary_need_waits_then_opens_with_a_plain_reason() -> None:
    early = ThreadJudge().judge(REFUND, ThreadSettings(), now=T0 + 60)
    assert early.need == "refund" and not early.open_now and early.watch and early.due_at == T0 + 180
    late = ThreadJudge().judge(REFUND, ThreadSettings(), now=T0 + 12 * 60)
    assert late.open_now and late.members == (11, 12)
    assert late.detail == "refund or cancellation requested by 2 members, no staff reply for 12 min"
    signals = {c.signal: c.value for c in late.contributions}
    assert signals["need"] == 0.7 and signals["members"] == 0.25 and signals["unanswered"] == 0.3
    assert late.score == sum(signals.values())


def test_a_peer_answer_followed_by_thanks_settles_it() -> None:
    window = [
        msg(1, 11, "The course page charged me twice this month, what do I do?", 0, need("billing")),
        msg(2, 13, "It's a pending hold, it disappears after a day", 30, talk("howto"), reply_to=1),
        msg(3, 11, "Oh right, it's gone now, thanks!", 90, talk("thanks"), label="positive", score=0.95, reply_to=2),
    ]
    j = ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600)
    assert j.settled == "resolved" and not j.open_now and not j.watch
    assert any(c.signal == "resolved" and c.value < 0 for c in j.contributions)


def test_a_staff_reply_settles_it() -> None:
    window = [REFUND[0], msg(2, STAFF, "Hi! I've started your refund, 3 days", 60, reply_to=1)]
    j = ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600)
    assert j.settled == "staff replied" and not j.open_now


def test_urgent_needs_open_at_once() -> None:
    insult = "nobody wants you here, you look ridiculous"
    window = [
        msg(1, 11, "nice run today", 0, talk()),
        msg(2, 12, insult, 30, need("harassment"), label="negative", score=0.97, reply_to=1),
    ]
    j = ThreadJudge().judge(window, ThreadSettings(), now=T0 + 30)
    assert j.open_now and j.urgent and j.need == "harassment"


def test_a_barely_urgent_need_waits_like_an_ordinary_one() -> None:
    window = [msg(1, 11, "the cat deleted half my photos from the album", 0, need("data_loss", margin=0.016))]
    j = ThreadJudge().judge(window, ThreadSettings(), now=T0 + 10)
    assert not j.urgent and not j.open_now and j.watch


def test_harassment_needs_a_negative_voice() -> None:
    window = [msg(1, 11, "you are all idiots for running in this heat", 0, need("harassment"), label="positive")]
    assert ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600).need is None


def test_laughing_is_a_joke_in_three_languages() -> None:
    assert laughs("we're revoking your membership 😂") and laughs("hahaha no") and laughs("ахаха, кто съел")
    assert laughs("חחחח אל תתני לי רעיונות") and not laughs("the app is down again")
    window = [msg(1, 11, "this homework will kill me, refund please lol", 0, need("refund"))]
    assert ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600).need is None


def test_outside_things_and_replies_to_them_do_not_count() -> None:
    outside = TermMatcher(("weather", "rain*"))
    window = [
        msg(1, 11, "This rain is unbearable, third Saturday in a row", 0, need("outage")),
        msg(2, 12, "Down for me too, soaked", 30, need("outage"), reply_to=1),
    ]
    j = ThreadJudge().judge(window, ThreadSettings(outside=outside), now=T0 + 600)
    assert not j.open_now and j.need is None and j.contributions[0].signal == "outside"


def test_naming_the_community_makes_it_ours_even_with_an_outside_word() -> None:
    about = TermMatcher(("tallyo",))
    window = [msg(1, 11, "Tallyo sync breaks every time it rains, invoices lost", 0, need("data_loss"))]
    j = ThreadJudge().judge(window, ThreadSettings(about=about, outside=TermMatcher(("rain*",))), now=T0)
    assert j.open_now and j.need == "data_loss"


def test_a_question_only_staff_can_answer_opens_when_unanswered() -> None:
    window = [msg(1, 11, "Will we get the certificate if the final project is a week late?", 0, need("staff_question"))]
    assert not ThreadJudge().judge(window, ThreadSettings(), now=T0 + 120).open_now
    j = ThreadJudge().judge(window, ThreadSettings(), now=T0 + 240)
    assert j.open_now and "no staff reply for 4 min" in j.detail


def test_asking_again_counts_as_repeated() -> None:
    window = [
        msg(1, 11, "Has anyone got their club jerseys yet? I paid in March", 0, need("staff_question")),
        msg(2, 11, "It's been 10 weeks. Who is responsible for the kit order?", 600, need("staff_question")),
    ]
    j = ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600)
    assert j.open_now and "raised again by the same member" in j.detail


def test_short_messages_do_not_raise_needs_of_their_own() -> None:
    window = [msg(1, 11, "Not yet", 0, need("no_show"))]
    assert ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600).need is None


def test_staff_and_bots_never_raise() -> None:
    window = [msg(1, STAFF, "Reminder: refunds for the cancelled trip go out Monday", 0, need("refund"))]
    assert ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600).need is None


def test_thresholds_come_from_settings() -> None:
    strict = ThreadSettings(open_score=2.0)
    assert not ThreadJudge().judge(REFUND, strict, now=T0 + 600).open_now
    instant = ThreadSettings(wait_seconds=0)
    assert ThreadJudge().judge(REFUND, instant, now=T0 + 40).open_now


def test_a_peer_replying_to_ordinary_talk_raises_no_ordinary_matter() -> None:
    window = [
        msg(1, 11, "Failed the orange route for the 8th time, so done with it", 0, talk("self")),
        msg(2, 12, "shift your feet left before the crimp, it changes everything", 30, need("data_loss"), reply_to=1),
    ]
    assert ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600).need is None


def test_me_too_joins_in_three_languages() -> None:
    for text in ("Same, I was charged twice too", "Тоже вижу лишнюю сумму в выписке", "גם אצלי יש חיוב כפול"):
        window = [REFUND[0], msg(2, 12, text, 40, talk("self"), reply_to=1)]
        assert ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600).members == (11, 12), text


def test_a_positive_message_that_raises_the_matter_again_is_no_thanks() -> None:
    again = "yes, still nothing, I want the money back"
    window = [
        REFUND[0],
        msg(2, 13, "did you try logging out and in?", 30, talk("howto"), reply_to=1),
        msg(3, 11, again, 60, need("refund"), label="positive", score=0.9, reply_to=2),
    ]
    j = ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600)
    assert j.settled is None and j.open_now
