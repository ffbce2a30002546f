"""EscalationPolicy: pure decisions over a thread window."""

from __future__ import annotations

import pytest

from bot.services.escalation.policy import (
    ANONYMOUS_ADMIN_ID,
    EscalationPolicy,
    PolicySettings,
    Reason,
    Relevance,
    TermMatcher,
    WindowMessage,
    case_priority,
    description_terms,
    priority_label,
)

NOW = 1_800_000_000
BOT_ID = 123456
MANAGER = 500
policy = EscalationPolicy()


def msg(
    mid: int,
    user: int,
    text: str,
    label: str = "neutral",
    score: float = 0.8,
    *,
    ago: int = 60,
    reply_to_user: int | None = None,
) -> WindowMessage:
    return WindowMessage(mid, user, text, NOW - ago, label, score, reply_to_user)


def neg(mid: int, user: int, text: str = "this is terrible", score: float = 0.75, **kw: object) -> WindowMessage:
    return msg(mid, user, text, "negative", score, **kw)  # type: ignore[arg-type]


def decide(window: list[WindowMessage], settings: PolicySettings | None = None):  # type: ignore[no-untyped-def]
    return policy.decide(window, settings or PolicySettings(), now=NOW, staff_ids={MANAGER}, bot_id=BOT_ID)


def test_pile_on_of_distinct_members_trips() -> None:
    window = [neg(1, 11), neg(2, 12, reply_to_user=11), neg(3, 13, "still broken, terrible")]
    decision = decide(window)
    assert decision.escalate
    assert decision.reasons == (Reason.PILE_ON,)
    assert decision.negative_members == 3
    assert decision.trigger_message_id == 1  # the start of the pile-on
    assert decision.severity == pytest.approx(0.75)


def test_one_member_repeating_is_not_a_pile_on() -> None:
    window = [neg(1, 11), neg(2, 11), neg(3, 11), neg(4, 12)]
    decision = decide(window)
    assert not decision.escalate
    assert decision.negative_members == 2


def test_pile_on_threshold_is_a_setting() -> None:
    window = [neg(1, 11), neg(2, 12)]
    assert not decide(window).escalate
    assert decide(window, PolicySettings(pile_on_members=2)).reasons == (Reason.PILE_ON,)


def test_single_very_negative_post_trips() -> None:
    decision = decide([msg(1, 11, "hello"), neg(2, 12, "worst service I have ever seen", score=0.95)])
    assert decision.reasons == (Reason.VERY_NEGATIVE,)
    assert decision.trigger_message_id == 2
    assert decision.severity == pytest.approx(0.95)


def test_weakly_negative_label_below_the_negative_threshold_does_not_count() -> None:
    window = [neg(1, 11, score=0.55), neg(2, 12, score=0.55), neg(3, 13, score=0.55)]
    assert not decide(window).escalate


def test_answered_mild_frustration_opens_no_case() -> None:
    window = [
        neg(1, 11, "ugh, the export is broken again", ago=600),
        msg(2, 12, "Try Settings > Export > CSV, it moved there", reply_to_user=11, ago=500),
        msg(3, 11, "found it, thanks!", "positive", 0.9, reply_to_user=12, ago=400),
    ]
    decision = decide(window)
    assert not decision.escalate
    assert "answered" in decision.detail


def test_answered_members_are_not_counted_in_a_pile_on() -> None:
    window = [
        neg(1, 11, ago=900),
        neg(2, 12, ago=800),
        neg(3, 13, ago=700),
        msg(4, 11, "ok it works now, thanks", "positive", 0.9, ago=100),
    ]
    decision = decide(window)
    assert not decision.escalate
    assert decision.negative_members == 2


def test_negativity_about_the_weather_opens_no_case() -> None:
    window = [
        neg(1, 11, "this rain is terrible"),
        neg(2, 12, "the weather is the worst today", score=0.95),
        neg(3, 13, "awful traffic on the way home"),
        neg(4, 14, "Погода ужасная, опять дождь"),
    ]
    decision = decide(window)
    assert not decision.escalate
    assert "outside" in decision.detail


def test_community_terms_tell_a_complaint_about_us_from_the_weather() -> None:
    settings = PolicySettings(about="Acme Cloud: hosting, servers and billing for small shops")
    # Mentions the weather AND our product: about us.
    assert policy.relevance("Acme servers go down every time it rains", settings) is Relevance.US
    assert policy.relevance("this rain is terrible", settings) is Relevance.OUTSIDE
    assert policy.relevance("this is terrible", settings) is Relevance.UNKNOWN
    window = [neg(1, 11, "the billing page is awful when it snows, lol", score=0.95)]
    assert decide(window, settings).reasons == (Reason.VERY_NEGATIVE,)
    assert not decide([neg(1, 11, "snow again, the worst", score=0.95)], settings).escalate


def test_negative_reply_to_the_bot_or_a_manager_trips() -> None:
    to_bot = decide([neg(1, 11, "that answer was useless", reply_to_user=BOT_ID)])
    assert to_bot.reasons == (Reason.REPLY_TO_STAFF,)
    assert "bot" in to_bot.detail
    to_manager = decide([neg(1, 11, "you did not help at all, bad", reply_to_user=MANAGER)])
    assert to_manager.reasons == (Reason.REPLY_TO_STAFF,)
    # A neutral reply to the bot is not a complaint; a negative reply to a member is not addressed to us.
    assert not decide([msg(1, 11, "ok, what next?", reply_to_user=BOT_ID)]).escalate
    assert not decide([neg(1, 11, "you are terrible at chess", reply_to_user=12)]).escalate


def test_staff_messages_never_count_as_negative() -> None:
    window = [neg(1, MANAGER, "sorry, this outage is terrible", score=0.95), neg(2, ANONYMOUS_ADMIN_ID, score=0.97)]
    assert not decide(window).escalate


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("I want a REFUND now", "refund"),
        ("refund.", "refund"),
        ("«refund»", "refund"),
        ("this is a scam!!", "scam"),
        ("scampi for dinner", None),
        ("nonrefundable ticket", None),
        ("refunded already", None),
        ("my_refund_id", None),
    ],
)
def test_keywords_match_whole_words_only(text: str, hit: str | None) -> None:
    assert TermMatcher(["refund", "scam"]).find(text) == hit
    decision = decide([msg(1, 11, text)])
    assert decision.escalate is (hit is not None)
    if hit:
        assert decision.reasons == (Reason.KEYWORD,)
        assert decision.keyword == hit
        assert decision.severity == 0.5  # a neutral message with a keyword still gets a medium severity


def test_keywords_are_unicode_aware_and_support_stems() -> None:
    matcher = TermMatcher(["возврат*", "מחזיר", "refund*", "money back"])
    assert matcher.find("Верните ВОЗВРАТА денег") == "возврат*"
    assert matcher.find("невозврат") is None  # the stem must start a word
    assert matcher.find("אני רוצה מחזיר כסף") == "מחזיר"
    assert matcher.find("two refunds so far") == "refund*"
    assert matcher.find("I want my money   back") == "money back"
    assert matcher.find("moneyback") is None
    assert not TermMatcher([]) and TermMatcher([]).find("anything") is None


def test_a_keyword_in_a_positive_message_does_not_trip() -> None:
    assert not decide([msg(1, 11, "got my refund, thanks a lot!", "positive", 0.9)]).escalate


def test_window_expiry() -> None:
    settings = PolicySettings(window_seconds=600)
    old = [neg(1, 11, ago=1200), neg(2, 12, ago=900)]
    assert not decide([*old, neg(3, 13, ago=10)], settings).escalate
    assert decide([*old, neg(3, 13, ago=10)], PolicySettings(window_seconds=3600)).reasons == (Reason.PILE_ON,)
    # A very negative message that left the window no longer trips either.
    assert not decide([neg(1, 11, score=0.99, ago=601)], settings).escalate
    assert decide([neg(1, 11, score=0.99, ago=599)], settings).escalate


def test_several_reasons_are_all_reported() -> None:
    window = [neg(1, 11), neg(2, 12), neg(3, 13, "this is a scam", score=0.96)]
    decision = decide(window)
    assert set(decision.reasons) == {Reason.KEYWORD, Reason.VERY_NEGATIVE, Reason.PILE_ON}
    assert decision.keyword == "scam"


def test_description_terms_skip_common_words() -> None:
    terms = description_terms("Welcome to the Acme Cloud community: hosting and billing for everyone")
    assert "acme" in terms and "hosting" in terms and "billing" in terms
    assert "community" not in terms and "welcome" not in terms and "the" not in terms


def test_priority_grows_with_severity_members_and_age() -> None:
    base = case_priority(severity=0.75, negative_members=1, age_seconds=0, sla_seconds=1800)
    assert case_priority(severity=0.95, negative_members=1, age_seconds=0, sla_seconds=1800) > base
    assert case_priority(severity=0.75, negative_members=3, age_seconds=0, sla_seconds=1800) > base
    assert case_priority(severity=0.75, negative_members=1, age_seconds=1800, sla_seconds=1800) > base
    overdue = case_priority(severity=0.75, negative_members=1, age_seconds=3600, sla_seconds=1800)
    assert overdue > case_priority(severity=0.75, negative_members=1, age_seconds=1800, sla_seconds=1800)
    top = case_priority(severity=1.0, negative_members=9, age_seconds=10**6, sla_seconds=60, reasons=["keyword"])
    assert top <= 100 and priority_label(top) == "high"
    assert priority_label(10) == "low"
