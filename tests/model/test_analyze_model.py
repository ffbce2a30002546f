"""steward analyze on the shipped example with the real bundled sentiment model and encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.analyze import run_analyze

pytestmark = pytest.mark.model

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "riverside-makers-export.json"


def test_real_models_find_the_pile_on_and_the_repeated_questions(tmp_path: Path) -> None:
    try:
        from models import encoder, sentiment

        model, enc = sentiment.load_default(), encoder.load_default_encoder()
    except (OSError, RuntimeError, ImportError) as exc:  # weights or their base not available here
        pytest.skip(f"bundled models unavailable: {exc}")
    result = run_analyze(EXAMPLE, tmp_path / "report", faq_out=tmp_path / "faq.toml", model=model, encoder=enc)
    a = result.analysis
    # figures that do not depend on the model
    assert (a.messages, a.members, a.questions.asked, len(a.unanswered)) == (141, 12, 35, 22)
    # the double-charge complaint is the worst thread by far
    top = a.negative_threads[0]
    assert top.root.text.startswith("I was charged twice") and top.negative >= 4
    # the Wi-Fi password and the laser cutter are asked again and again; e5 groups the paraphrases
    reps = " ".join(q.text.lower() for c in a.clusters for q in c.questions)
    assert "wifi password" in reps and "laser cutter" in reps
    assert all(c.size >= 2 for c in a.clusters)
    assert len(result.files.charts) == 4
