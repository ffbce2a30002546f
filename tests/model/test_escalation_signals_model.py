"""The escalation prototypes with the real multilingual e5 (full and int8): needs in three languages.

The sentences are not in the benchmark's thread files; they check that the prototypes carry across
languages, not the benchmark's figures.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.services.escalation.signals import SignalModel, prototype_texts
from bot.services.escalation.thread import CHEAP_MARGIN

pytestmark = pytest.mark.model

CASES = [
    ("They took the membership fee from my card two times this month", "billing"),
    ("С меня два раза сняли плату за подписку в этом месяце", "billing"),
    ("ירדו לי מהכרטיס פעמיים דמי המנוי החודש", "billing"),
    ("Everything I uploaded last week has vanished from my account", "data_loss"),
    ("Всё, что я загрузил на прошлой неделе, исчезло из аккаунта", "data_loss"),
    ("כל מה שהעליתי בשבוע שעבר נעלם מהחשבון", "data_loss"),
]
ORDINARY = [
    "It has been raining all week, I'm so tired of it",
    "Всю неделю идёт дождь, надоело",
    "כל השבוע יורד גשם, נמאס לי",
    "Thanks, that worked perfectly!",
]


@pytest.fixture(scope="module")
def encoders() -> Any:
    try:
        from models.encoder import E5Encoder

        return E5Encoder(), E5Encoder(quantize=True)
    except (OSError, RuntimeError, ImportError) as exc:  # weights or their base not available here
        pytest.skip(f"bundled encoder unavailable: {exc}")


def _model(encoder: Any) -> SignalModel:
    pairs = prototype_texts()
    return SignalModel(encoder.encode_queries([t for _, t in pairs]), [c for c, _ in pairs])


def test_needs_are_found_in_three_languages_and_ordinary_talk_is_not(encoders: Any) -> None:
    encoder = encoders[0]
    model = _model(encoder)
    found = [
        model.signals(v, need_margin=0.0125, need_floor=0.0) for v in encoder.encode_queries([t for t, _ in CASES])
    ]
    assert [s.need for s in found] == [need for _, need in CASES]
    calm = [model.signals(v, need_margin=0.0125, need_floor=0.0) for v in encoder.encode_queries(ORDINARY)]
    assert [s.need for s in calm] == [None] * len(ORDINARY)
    assert [s.outside for s in calm[:3]] == [True, True, True]


def test_the_int8_first_read_sends_every_need_on_to_the_full_read(encoders: Any) -> None:
    encoder = encoders[1]
    model = _model(encoder)
    first = [model.signals(v, need_margin=0.0, need_floor=0.0) for v in encoder.encode_queries([t for t, _ in CASES])]
    assert all(s.margin >= CHEAP_MARGIN for s in first), [s.margin for s in first]
    thanks = model.signals(encoder.encode_queries([ORDINARY[-1]])[0], need_margin=0.0, need_floor=0.0)
    assert thanks.margin < CHEAP_MARGIN  # plain thanks is settled by the cheap read alone
