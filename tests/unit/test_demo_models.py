"""steward demo picks its models honestly: the bundled one, or stand-ins that the transcript names."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from bot.demo.runner import choose_models
from bot.demo.stand_ins import HashingEncoder, KeywordClassifier


def _broken_loader() -> object:
    raise OSError("weights not found")


async def test_a_model_that_cannot_load_falls_back_to_stand_ins_and_says_so() -> None:
    out = io.StringIO()
    models = await choose_models(False, _broken_loader, out)
    assert models.stand_ins and isinstance(models.classifier, KeywordClassifier)
    assert "could not load (OSError: weights not found)" in out.getvalue()
    assert "FAQ encoder: hashing stand-in" in out.getvalue()
    assert models.faq_loader is not None
    encoder, tag = models.faq_loader()
    assert isinstance(encoder, HashingEncoder) and tag.startswith("demo-hashing:")


async def test_fast_never_touches_the_bundled_model() -> None:
    calls: list[int] = []

    def loader() -> object:
        calls.append(1)
        return object()

    out = io.StringIO()
    models = await choose_models(True, loader, out)
    assert calls == [] and models.stand_ins and "keyword stand-in (--fast)" in out.getvalue()


async def test_the_bundled_model_is_used_when_it_loads() -> None:
    sentinel = KeywordClassifier()
    models = await choose_models(False, lambda: sentinel, io.StringIO())
    assert models.classifier is sentinel and not models.stand_ins and models.faq_loader is None


def test_stand_ins_behave() -> None:
    [bad, worst, good, plain] = KeywordClassifier().predict(
        ["this is terrible", "worst ever", "great, thanks", "the meetup is on Friday"]
    )
    assert (bad.label, worst.label, good.label, plain.label) == ("negative", "negative", "positive", "neutral")
    assert worst.negative > bad.negative
    vecs = HashingEncoder().encode_queries(["What is the wifi password?", "What's the wifi password", "parking"])
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0)
    assert vecs[0] @ vecs[1] > 0.7 > vecs[0] @ vecs[2]


def test_a_demo_that_cannot_start_says_why_and_still_ends_with_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli.main import main
    from bot.demo import runner

    async def broken(*args: object, **kwargs: object) -> object:
        raise OSError("address already in use")

    monkeypatch.setattr(runner, "run_demo", broken)
    out = tmp_path / "demo"
    assert main(["demo", "--fast", "--out", str(out)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == str(out.resolve())
    assert "stopped: OSError: address already in use" in lines[-2]
    assert "address already in use" in (out / "demo.log").read_text(encoding="utf-8")
