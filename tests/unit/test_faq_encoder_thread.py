"""The FAQ encoder's thread, seen from FaqService: every encode runs on the one "faq-encoder" thread, member
questions that arrive while a forward pass runs go together in the next one (at most QUESTION_BATCH, in
the order they came), and beyond QUESTION_QUEUE waiting questions the next one gets EncoderBusy at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from bot.config import FaqSettings
from bot.services.faq import QUESTION_BATCH, QUESTION_QUEUE, EncoderBusy, FaqService
from bot.storage.db import Database
from bot.storage.faq import FaqRepository
from handlers.callbacks import BUTTONS
from tests.fakes import HashingEncoder
from tests.unit.test_faq_service import NoMessages, Recorder, Roles


class GatedEncoder(HashingEncoder):
    """A multilingual stand-in whose forward passes wait for ``gate``; records each call and its thread."""

    multilingual = True

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()

    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.batches.append(list(texts))
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        self.gate.wait(10)
        return super().encode_queries(texts)


@pytest.fixture
async def gated(tmp_path: Path) -> AsyncIterator[tuple[FaqService, GatedEncoder]]:
    db = Database(tmp_path / "faq.db")
    await db.open()
    encoder = GatedEncoder()
    service = FaqService(
        FaqRepository(db),
        FaqSettings(),
        sender=Recorder(),
        buttons=BUTTONS,
        roles=Roles(),
        messages=NoMessages(),
        encoder_loader=lambda: (encoder, "gated:64"),
    )
    await service.start()
    assert await service.ensure_encoder()
    try:
        yield service, encoder
    finally:
        encoder.gate.set()
        await service.close()
        await db.close()


async def _let_them_queue() -> None:
    """Each embed_plain call reaches the encoder's queue within a few turns of the loop."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_questions_wait_in_order_in_batches_on_one_thread_and_a_full_queue_says_busy(gated: Any) -> None:
    service, encoder = gated
    first = asyncio.create_task(service.embed_plain(["question 0"]))
    await asyncio.get_running_loop().run_in_executor(None, encoder.entered.wait, 5)
    assert encoder.batches == [["question 0"]]  # taken alone, at once

    texts = [f"question {i}" for i in range(1, QUESTION_QUEUE + 1)]
    waiting = [asyncio.create_task(service.embed_plain([text])) for text in texts]
    await _let_them_queue()
    with pytest.raises(EncoderBusy):
        await service.embed_plain(["one question too many"])

    encoder.gate.set()
    vectors = await asyncio.gather(first, *waiting)
    expected = HashingEncoder(dim=64).encode_queries(["question 0", *texts])
    np.testing.assert_allclose(np.concatenate(vectors), expected, atol=1e-6)
    later = encoder.batches[1:]
    assert [t for batch in later for t in batch] == texts  # first come, first encoded
    assert all(len(batch) <= QUESTION_BATCH for batch in later)
    assert len(later) == -(-QUESTION_QUEUE // QUESTION_BATCH)  # batched, not one pass each
    assert len(encoder.threads) == 1 and next(iter(encoder.threads)).startswith("faq-encoder")
    assert threading.current_thread().name not in encoder.threads


async def test_bulk_encodes_take_the_same_thread_in_turn(gated: Any) -> None:
    service, encoder = gated
    question = asyncio.create_task(service.embed_plain(["a member question"]))
    await asyncio.get_running_loop().run_in_executor(None, encoder.entered.wait, 5)
    bulk = asyncio.create_task(service.encode_questions(["phrasing one", "phrasing two"]))
    after = asyncio.create_task(service.embed_plain(["a later question"]))
    await _let_them_queue()
    encoder.gate.set()
    await asyncio.gather(question, bulk, after)
    assert encoder.batches[0] == ["a member question"]
    assert ["phrasing one", "phrasing two"] in encoder.batches and ["a later question"] in encoder.batches
    assert len(encoder.threads) == 1
