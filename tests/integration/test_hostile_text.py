"""One hostile message must not stall the bot (issue #13, point 1, "Done when").

The real bot polls the sandbox over HTTP. A member sends a 4096-character message made of
repeated greetings and addressees (the text that made ``_ONLY_POLITE`` backtrack for minutes);
the bot must still answer ``/start`` in private within 2 seconds, and keep the member's message.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.harness import MANAGER_ID, running_bot

GROUP = -1001300000001
MEMBER, OTHER = 1301, 1302


def _hostile(pieces: list[str], tail: str) -> str:
    unit = " ".join(pieces) + " "
    return (unit * (4096 // len(unit) + 1))[: 4096 - len(tail)] + tail


@pytest.mark.parametrize(
    "text",
    [
        _hostile(["hi", "there"], "x"),
        _hostile(["hello there", "all", "thanks again"], "?"),
        _hostile(["привет", "всем", "спасибо", "ещё раз"], "как"),
        _hostile(["שלום", "חברים", "תודה רבה"], "?"),
    ],
    ids=["en", "en-mixed", "ru", "he"],
)
async def test_start_is_answered_while_a_hostile_message_is_handled(tmp_path: Path, text: str) -> None:
    assert len(text) == 4096
    async with running_bot(tmp_path) as h:
        h.sandbox.add_user(MEMBER, "Mallory", "mallory")
        h.sandbox.add_user(OTHER, "Olga", "olga")
        h.sandbox.add_user(MANAGER_ID, "Max", "max")
        # A manager adds the bot, so the group is served in every access mode and the text is really examined.
        h.sandbox.add_group(GROUP, "Open group", owner_id=MANAGER_ID, members=[MEMBER])
        h.sandbox.add_bot_to_group(GROUP, MANAGER_ID)
        await h.settle()
        since = h.sandbox.mark()
        h.sandbox.send_message(GROUP, MEMBER, text)
        h.sandbox.send_message(OTHER, OTHER, "/start")
        started = time.monotonic()
        call = await h.sandbox.wait_for("sendMessage", since=since, chat_id=OTHER, timeout=10)
        elapsed = time.monotonic() - started
        assert "Steward" in call.params["text"]
        assert elapsed < 2.0, f"/start took {elapsed:.2f} s behind a hostile message"
        # Nothing a member gives is lost: the hostile message has its row.
        await h.settle()
        stored = await h.app.db.fetchone(
            "SELECT length(text) FROM messages WHERE chat_id = ? AND user_id = ?", (GROUP, MEMBER)
        )
        assert stored is not None and stored[0] == 4096
