"""The real bot, started as `steward run` with the example config and the bundled models, answers `/start`
in private within 2 s of a member's 4096-character message of repeated greetings (issue #13, "Done when")."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from bot.sandbox import SandboxBotAPI
from tests.processes import EXAMPLE_CONFIG, start_steward, steward_env

TOKEN = "123456:TEST"
GROUP = -1001555000222
ALICE, MEMBER, NEWCOMER = 2001, 2002, 2003


def hostile() -> str:
    unit = "hi there hello all thanks again "
    return (unit * (4096 // len(unit) + 1))[:4095] + "x"


@pytest.mark.slow
async def test_steward_run_answers_start_right_after_a_hostile_message(tmp_path: Path) -> None:
    sandbox = SandboxBotAPI(token=TOKEN)
    await sandbox.start()
    # Alice's group is approved as she adds the bot
    env = steward_env(sandbox.base_url, tmp_path / "steward.db", TOKEN, ACCESS__ADMINS=f"[{ALICE}]")
    process = await start_steward(env, config=EXAMPLE_CONFIG)
    try:
        await sandbox.wait_for("getUpdates", timeout=120)
        sandbox.add_user(ALICE, "Alice")
        sandbox.add_user(MEMBER, "Mo")
        sandbox.add_user(NEWCOMER, "Nia")
        sandbox.add_group(GROUP, "Process group", owner_id=ALICE, members=[MEMBER])
        sandbox.add_bot_to_group(GROUP, ALICE)
        # Warm up: the first group message and the first /start load what loads lazily.
        sandbox.send_message(GROUP, MEMBER, "good morning, when is the next meetup?")
        since = sandbox.mark()
        sandbox.send_message(MEMBER, MEMBER, "/start")
        await sandbox.wait_for("sendMessage", since=since, chat_id=MEMBER, timeout=60)

        started = time.monotonic()
        sandbox.send_message(GROUP, MEMBER, hostile())
        since = sandbox.mark()
        # Someone the bot has not just written to: the outbox paces one private chat to about a message a
        # second, and Alice got her "thanks for adding me" a moment ago. That pause is not what this measures.
        sandbox.send_message(NEWCOMER, NEWCOMER, "/start")
        await sandbox.wait_for(
            "sendMessage",
            lambda c: "Steward" in str(c.params.get("text", "")),
            since=since,
            chat_id=NEWCOMER,
            timeout=10,
        )
        answered_after = time.monotonic() - started
        assert answered_after < 2.0, f"/start answered {answered_after:.2f} s after the hostile message"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
        await sandbox.stop()
