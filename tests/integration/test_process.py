"""`steward run` as a real process against a Bot API emulator on 127.0.0.1, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

from bot.sandbox import SandboxBotAPI
from tests.processes import EXAMPLE_CONFIG, start_steward, steward_env
from tests.waiting import wait_until

TOKEN = "123456:TEST"
GROUP = -1001555000111
ALICE = 2001


async def test_run_answers_start_records_messages_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    sandbox = SandboxBotAPI(token=TOKEN)
    await sandbox.start()
    db_path = tmp_path / "data" / "steward.db"
    env = steward_env(
        sandbox.base_url,
        db_path,
        TOKEN,
        # The model has its own tests; this one is about the process and the protocol.
        SENTIMENT__ENABLED="false",
        # The example config serves approved communities only; Alice's groups are approved as she adds
        # the bot (a listed admin).
        ACCESS__ADMINS=f"[{ALICE}]",
    )
    process = await start_steward(env, config=EXAMPLE_CONFIG, stdout=asyncio.subprocess.PIPE)
    try:
        await sandbox.wait_for("getUpdates", timeout=60)
        assert sandbox.calls("deleteWebhook"), "polling must start with deleteWebhook"
        allowed = sandbox.calls("getUpdates")[0].params.get("allowed_updates") or []
        assert {"chat_member", "my_chat_member"} <= set(allowed)

        sandbox.add_user(ALICE, "Alice")
        sandbox.add_group(GROUP, "Process group", owner_id=ALICE)
        sandbox.add_bot_to_group(GROUP, ALICE)
        since = sandbox.mark()
        sandbox.send_message(ALICE, ALICE, "/start")
        reply = await sandbox.wait_for("sendMessage", since=since, chat_id=ALICE, timeout=30)
        assert "Steward" in reply.params["text"]
        message = sandbox.send_message(GROUP, ALICE, "Hello from a real process")
        await wait_until(lambda: not sandbox.pending_updates(), timeout=10, what="the bot to take the message")

        def stored() -> bool:  # the handler has written the row
            with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)) as conn:
                query = "SELECT 1 FROM messages WHERE chat_id = ? AND message_id = ?"
                return conn.execute(query, (GROUP, message["message_id"])).fetchone() is not None

        await wait_until(stored, timeout=10, poll=0.05, what="the message row to be written")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 60)
        await sandbox.stop()
    text = output.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text
    assert TOKEN not in text  # the token never reaches the logs
    # A clean close checkpoints and removes the WAL file.
    assert not Path(f"{db_path}-wal").exists()
    with sqlite3.connect(db_path) as conn:
        row = conn.execute(
            "SELECT text, thread_key FROM messages WHERE chat_id = ? AND message_id = ?",
            (GROUP, message["message_id"]),
        ).fetchone()
        assert row == ("Hello from a real process", f"m:{message['message_id']}")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
