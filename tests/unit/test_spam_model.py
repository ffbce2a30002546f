"""The lexical spam model and its data: offline, small, deterministic; the benchmark prints its figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services.moderation_types import parse_duration
from bot.services.spam import fold_name, shingles, similarity
from models.spam_data import load, script_language, split_of
from models.spam_lexical import DEFAULT_PATH, SpamModel, features, train

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT.parent / "shared" / "datasets" / "tg-spam-samples"


def test_the_shipped_model_is_small_and_loads_offline() -> None:
    assert DEFAULT_PATH.stat().st_size < 1_000_000
    model = SpamModel.load()
    assert 0.5 < model.threshold < 1.0
    spam = model.score("Earn $300 a day from home, crypto signals, DM me now https://t.me/+RichQuick")
    ordinary = model.score("Does anyone know when the next meetup is? I missed the announcement")
    assert spam >= model.threshold > ordinary


def test_features_are_the_same_in_every_process() -> None:
    code = "from models.spam_lexical import features; i, v = features('Hello t.me/+abc'); print(sorted(i.tolist()))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1
    idx, val = features("Hello t.me/+abc")
    assert abs(float((val * val).sum()) - 1.0) < 1e-5 and len(idx) == len(val)


def test_learning_moves_the_score_towards_the_managers_verdict() -> None:
    model = SpamModel.load()
    text = "Our bake sale raises money for the school trip, come on Friday"
    before = model.score(text)
    assert model.learn(text, "spam") > before
    after_spam = model.score(text)
    assert model.learn(text, "ham") < after_spam


def test_train_separates_a_tiny_set() -> None:
    texts = ["win money now click link", "free crypto bonus link", "see you at lunch", "the meeting moved to 3pm"]
    model = train(texts, [1, 1, 0, 0], epochs=100)
    assert min(model.scores(texts[:2])) > max(model.scores(texts[2:]))


def test_own_examples_split_deterministically_without_the_dataset() -> None:
    examples = load(None)
    langs = {e.lang for e in examples}
    assert langs == {"en", "he"} and {e.split for e in examples} == {"train", "dev", "test"}
    assert all(split_of(e.text) == e.split for e in examples)
    assert script_language("שלום לכולם") == "he" and script_language("привет всем") == "ru"
    assert script_language("hello all") == "en"


@pytest.mark.skipif(not DATASET.exists(), reason="../shared/datasets is absent")
def test_benchmark_prints_figures_per_language_against_the_baseline() -> None:
    out = subprocess.run(
        [sys.executable, "benchmarks/spam.py", "--json", "--data", str(DATASET)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    result = json.loads(out.stdout)
    for lang in ("en", "ru", "he", "all"):
        row = result["test"][lang]
        assert row["model"]["n"] == row["baseline"]["n"] > 0
        assert row["model"]["precision"] is not None and row["model"]["recall"] is not None


def test_durations_names_and_similarity() -> None:
    assert parse_duration("90m") == 5400 and parse_duration("2h") == 7200 and parse_duration("1w") == 604_800
    assert parse_duration("30") == 1800
    assert parse_duration("0m") is None and parse_duration("400d") is None and parse_duration("x") is None
    assert parse_duration("١٢h") is None  # Arabic-Indic digits are digits to str.isdigit, not to us
    # Cyrillic look-alikes fold to Latin: "Аdmin" with a Cyrillic А is "admin".
    assert fold_name("\u0410dmin Support") == "adminsupport" and fold_name("Ada 1") == "adal"
    a = shingles("Join our crypto signals group now https://t.me/+abc")
    assert similarity(a, shingles("Join our crypto signals group now https://t.me/+xyz")) > 0.8
    assert similarity(a, shingles("see you at the meetup on Thursday")) < 0.3
