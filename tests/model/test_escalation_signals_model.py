"""The escalation prototypes with the real multilingual e5 (full and int8): needs in three languages.

The sentences are not in the benchmark's thread files; they check that the prototypes carry across
languages, not the benchmark's figures.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.services.escalation_signals import SignalModel, prototype_texts

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


@pytest.mark.parametrize("which", [0, 1], ids=["full", "int8"])
def test_needs_are_found_in_three_languages_and_ordinary_talk_is_not(encoders: Any, which: int) -> None:
    encoder = encoders[which]
    pairs = prototype_texts()
    model = SignalModel(encoder.encode_queries([t for _, t in pairs]), [c for c, _ in pairs])
    found = [model.signals(v, need_margin=0.015, need_floor=0.0)
             for v in encoder.encode_queries([t for t, _ in CASES])]
    assert [s.need for s in found] == [need for _, need in CASES]
    calm = [model.signals(v, need_margin=0.015, need_floor=0.0) for v in encoder.encode_queries(ORDINARY)]
    assert [s.need for s in calm] == [None] * len(ORDINARY)
    assert [s.outside for s in calm[:3]] == [True, True, True]
