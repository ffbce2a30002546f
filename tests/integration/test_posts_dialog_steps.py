"""The post dialog's buttons work only at their own step: a stale one is answered, never acted on."""

from __future__ import annotations

from pathlib import Path

from tests.harness import MANAGER_ID, running_bot
from tests.integration.test_posts_dialog import GROUP, MALLORY, press, say, setup


async def test_a_dialog_button_after_its_step_is_answered_and_does_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await setup(h)
        await say(h, "/newpost")
        await say(h, "/cancel")
        since = h.sandbox.mark()
        await press(h, f"np:2:chat:{GROUP}")
        answers = [c for c in h.sandbox.journal[since:] if c.method == "answerCallbackQuery"]
        assert answers and "This dialog has ended" in answers[-1].params.get("text", "")
        assert [c for c in h.sandbox.journal[since:] if c.method == "sendMessage"] == []  # no next step


async def test_a_stranger_pressing_a_dialog_button_is_refused_as_a_stranger(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await setup(h)
        await say(h, "/newpost")
        since = h.sandbox.mark()
        await press(h, f"np:2:chat:{GROUP}", user=MALLORY, chat=MANAGER_ID)  # a forged press on the manager's chat
        answers = [c for c in h.sandbox.journal[since:] if c.method == "answerCallbackQuery"]
        assert answers and "Only the community managers" in answers[-1].params.get("text", "")
        assert [c for c in h.sandbox.journal[since:] if c.method == "sendMessage"] == []
