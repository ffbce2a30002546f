"""The thread's context in the judgment, on the trained head's scale (issue 20, second pass): "asked
again" after one's own message, a calm "will do" to a peer's answer, a joke carried on up the reply
chain, and harassment that must read clearly whatever its tone."""

from __future__ import annotations

from bot.services.escalation.judge import ThreadJudge, ThreadMessage, ThreadSettings
from bot.services.escalation.signals import MessageSignals

T0 = 1_000_000


def head(name: str | None, margin: float, *, chasing: float = -0.9, ordinary: str = "chat") -> MessageSignals:
    return MessageSignals(name if margin >= 0 else None, 0.9, margin, ordinary, False, chasing, "head")


def msg(
    mid: int,
    user: int,
    text: str,
    at: int,
    signals: MessageSignals | None = None,
    *,
    label: str = "neutral",
    reply_to: int | None = None,
) -> ThreadMessage:
    return ThreadMessage(mid, user, text, T0 + at, label, 0.8, reply_to, signals=signals)


def test_asking_again_after_ones_own_message_is_a_repeat_and_opens() -> None:
    window = [
        msg(1, 11, "Has anyone got the club jerseys yet? I paid in March", 0, head("billing", -0.2)),
        msg(2, 12, "not yet", 120, None, reply_to=1),
        msg(3, 11, "Asking for the third time now, who is responsible?", 600, head(None, -0.3, chasing=0.9)),
    ]
    j = ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600 + 180)
    signals = {c.signal for c in j.contributions}
    assert j.need == "chasing" and {"repeat", "unanswered"} <= signals and j.open_now
    # The same words with nothing before them from that member are no visible repeat: below the bar.
    alone = ThreadJudge().judge(window[2:], ThreadSettings(), now=T0 + 600 + 180)
    assert "repeat" not in {c.signal for c in alone.contributions} and not alone.open_now


def test_a_calm_will_do_to_a_peers_answer_settles_it_but_a_question_does_not() -> None:
    raised = msg(1, 11, "My mail app puts every letter in spam again, so annoying", 0, head("data_loss", 0.3))
    answer = msg(2, 12, "add the senders to the white list", 30, head(None, -0.9), reply_to=1)
    for text in ("will do", "Сделаю", "רעיון טוב"):
        j = ThreadJudge().judge(
            [raised, answer, msg(3, 11, text, 60, None, reply_to=2)], ThreadSettings(), now=T0 + 600
        )
        assert j.settled == "resolved" and not j.open_now, text
    asked = msg(3, 11, "where is that list?", 60, None, reply_to=2)
    assert ThreadJudge().judge([raised, answer, asked], ThreadSettings(), now=T0 + 600).open_now
    angry = msg(3, 11, "did that, no change", 60, None, label="negative", reply_to=2)
    assert ThreadJudge().judge([raised, answer, angry], ThreadSettings(), now=T0 + 600).open_now


def test_a_joke_carried_on_up_the_chain_is_still_a_joke() -> None:
    window = [
        msg(1, 11, "My neighbours heard the same song 400 times, they'll come for me 😅", 0, head(None, -0.4)),
        msg(2, 12, "they'll thank you at your first concert", 20, head(None, -0.9), reply_to=1),
        msg(3, 11, "or call the police first", 30, head("safety", 0.75), reply_to=2),
    ]
    assert ThreadJudge().judge(window, ThreadSettings(), now=T0 + 600).need is None
    # A peer who did not laugh and reports danger in the same chain still counts.
    other = msg(3, 13, "careful, the balcony railing is loose", 30, head("safety", 0.75), reply_to=2)
    assert ThreadJudge().judge([*window[:2], other], ThreadSettings(), now=T0 + 30).open_now


def test_harassment_must_read_clearly_whatever_the_tone() -> None:
    root = msg(1, 11, "Finished my first 2 km swim today!", 0, head(None, -0.9))
    mocking = msg(
        2, 12, "2 km in an hour lol, people like you should stay home", 30, head("harassment", 0.8), reply_to=1
    )
    j = ThreadJudge().judge([root, mocking], ThreadSettings(), now=T0 + 30)
    assert j.open_now and j.urgent and j.need == "harassment"  # neutral tone and a "lol" do not hide it
    vague = msg(2, 12, "This is not our building, call the police", 30, head("harassment", 0.35), label="negative")
    assert ThreadJudge().judge([root, vague], ThreadSettings(), now=T0 + 600).need is None


def test_the_head_scale_uses_the_head_margins_and_the_prototypes_their_own() -> None:
    settings = ThreadSettings(
        need_margin=0.2, urgent_margin=0.6, prototype_need_margin=0.01, prototype_urgent_margin=0.02
    )
    assert ThreadJudge.margins(head("refund", 0.3), settings) == (0.2, 0.6)
    assert ThreadJudge.margins(MessageSignals("refund", 0.9, 0.05, "chat", False), settings) == (0.01, 0.02)
    weak = [msg(1, 11, "How do I cancel and get my money back?", 0, head("refund", 0.15))]
    assert ThreadJudge().judge(weak, settings, now=T0 + 600).need is None
    assert ThreadJudge().judge(weak, ThreadSettings(need_margin=0.1), now=T0 + 600).open_now
