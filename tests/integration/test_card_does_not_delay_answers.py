"""A member's FAQ answer never waits for a manager's case card.

The managers' chat takes at most 20 messages a minute, and Telegram can be slow: a case card that is stuck on
its way must not hold up the FAQ answer to the very message that opened the case (escalation is the first
listener), nor the next message of the same thread.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from bot.cli.faq import run_import
from bot.sandbox import Fault, SandboxBotAPI
from tests.fakes import HashingEncoder, loader_of
from tests.harness import ADMIN_ID, MANAGER_ID, TOKEN, running_bot
from tests.integration.test_faq import FAQ

GROUP = -1001000000077
DESK = -1001000000078
ANN, BOB = 1001, 1002
CARD_DELAY_S = 8.0

KB = """
[[faq]]
id = "refund"
questions = ["Can I get my money back?", "What is the refund policy?"]
answer = "Full refund within 14 days of the start."
"""


async def test_a_blocked_card_does_not_delay_the_faq_answer(tmp_path: Path) -> None:
    encoder = HashingEncoder()
    loader = loader_of(encoder)
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        for uid, name in ((ANN, "Ann"), (BOB, "Bob")):
            sandbox.add_user(uid, name)
        sandbox.add_user(ADMIN_ID, "Ada", started=True)
        sandbox.add_user(MANAGER_ID, "Mia", "mia", started=True)
        sandbox.add_group(GROUP, "Acme Club", owner_id=ADMIN_ID, members=[ANN, BOB])
        sandbox.add_member(GROUP, sandbox.bot_id, "administrator")
        sandbox.add_group(DESK, "Managers", owner_id=MANAGER_ID, members=[])
        sandbox.add_member(DESK, sandbox.bot_id, "administrator")
        # Every card to the managers' chat hangs for a while on its way.
        sandbox.inject("sendMessage", Fault.delay(CARD_DELAY_S), chat_id=DESK, times=None)
        sections = {**FAQ, "managers": {"ids": [MANAGER_ID], "chat_id": DESK}, "escalation": {"policy": "message"}}
        async with running_bot(tmp_path, sandbox=sandbox, encoder=encoder, **sections) as h:
            kb = tmp_path / "faq.toml"
            kb.write_text(KB, "utf-8")
            assert await run_import(h.settings, kb, GROUP, partial=False, out=io.StringIO(), encoder_loader=loader) == 0

            since = sandbox.mark()
            started = time.monotonic()
            # 'scam' is very negative for the fake classifier: this one message opens a case and asks the FAQ.
            sandbox.send_message(GROUP, ANN, "Can I get my money back? This is a scam")
            answer = await sandbox.wait_for("sendMessage", chat_id=GROUP, since=since, timeout=CARD_DELAY_S)
            answered_after = time.monotonic() - started
            assert answer.result is not None and "14 days" in answer.result["text"]
            assert answered_after < CARD_DELAY_S / 2, answered_after

            # The card still reaches the managers, once, after its delay.
            card = await sandbox.wait_for("sendMessage", chat_id=DESK, since=since, timeout=3 * CARD_DELAY_S)
            assert card.result is not None and "Case #1" in card.result["text"]
            await h.settle(timeout=3 * CARD_DELAY_S)
            assert len(sandbox.calls("sendMessage", chat_id=DESK, ok=True)) == 1
