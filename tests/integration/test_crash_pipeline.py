"""Crash safety of the message pipeline: the real bot (``python -m bot run``) is killed with SIGKILL at random
points while members keep writing (complaints that open cases included), and restarted each time, against a
sandbox that lives in this test process and so keeps Telegram's side (unconfirmed updates come again).

Afterwards: ``PRAGMA integrity_check`` is ok, every message has exactly one row, every case got exactly one
card (a redelivered update never opens or announces a case twice), cases keep their states across lives,
and the last handled update id is recorded. Rerun a failure with STEWARD_TEST_SEED=<seed>.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from bot.sandbox import Fault, SandboxBotAPI
from tests.harness import ADMIN_ID, MANAGER_ID, TOKEN
from tests.integration.test_posts_crash import _env, _rows
from tests.processes import bot_processes
from tests.seeding import SeededRandom
from tests.waiting import wait_for_drain, wait_until

GROUPS = [-1001000000500 - i for i in range(3)]
DESK = -1001000000599
MEMBERS = list(range(40_000, 40_030))
KILLS = 3
CASE = re.compile(r"^case:2:[a-z]+:(\d+)$")


def _cards(sandbox: SandboxBotAPI) -> Counter[int]:
    """Case id → how many case cards the bot posted for it."""
    counts: Counter[int] = Counter()
    for message in sandbox.sent_messages(DESK):
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        ids = {int(m.group(1)) for row in rows for b in row if (m := CASE.match(str(b.get("callback_data", ""))))}
        for case_id in ids:
            counts[case_id] += 1
    return counts


@pytest.mark.slow
async def test_sigkill_during_busy_pipeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seeded_rng: SeededRandom
) -> None:
    rng = seeded_rng  # replay a failure with STEWARD_TEST_SEED=<seed>, printed before the test starts
    db = tmp_path / "steward.db"
    sent: list[tuple[int, int]] = []
    async with SandboxBotAPI(token=TOKEN) as sandbox, bot_processes(tmp_path / "bot.log") as procs:
        sandbox.add_user(ADMIN_ID, "Ada", "ada")
        sandbox.add_user(MANAGER_ID, "Max", "max")
        for uid in MEMBERS:
            sandbox.add_user(uid, f"M{uid}")
        for chat in [*GROUPS, DESK]:
            sandbox.add_group(chat, f"Group {chat}", owner_id=ADMIN_ID, members=[MANAGER_ID, *MEMBERS])
            sandbox.add_member(chat, sandbox.bot_id, "administrator")
        # Telegram answers a little slowly, so kills land while cards are on the wire too.
        sandbox.inject("sendMessage", Fault.delay(0.05), times=None)
        env = _env(sandbox.base_url, db)
        env["STEWARD_MANAGERS__CHAT_ID"] = str(DESK)
        env["STEWARD_FAQ__ENABLED"] = "false"
        # Crash safety of cases and cards: the message rules open them on the spot (the thread policy
        # waits minutes for peers, longer than this test runs).
        env["STEWARD_ESCALATION__POLICY"] = "message"
        env["STEWARD_SCHEDULER__ENABLED"] = "false"

        texts = [
            "hi all",
            "the meetup is on friday",
            "I want a refund, this is a scam",
            "thanks!",
            "where is the form?",
            "refund now, scam",
        ]

        async def members_write(stop: asyncio.Event) -> None:
            i = 0
            roots: dict[int, int] = {}
            while not stop.is_set():
                chat = GROUPS[i % len(GROUPS)]
                text = texts[rng.randrange(len(texts))]
                reply_to = roots.get(chat) if i % 3 else None
                msg = sandbox.send_message(
                    chat, MEMBERS[rng.randrange(len(MEMBERS))], f"{text} ({i})", reply_to=reply_to
                )
                sent.append((chat, msg["message_id"]))
                if i % 40 == 0:
                    roots[chat] = msg["message_id"]  # a new thread every so often
                i += 1
                await asyncio.sleep(0.01)

        stop = asyncio.Event()
        writer = asyncio.create_task(members_write(stop))
        states: dict[int, str] = {}
        for _ in range(KILLS):
            since = sandbox.mark()
            proc = await procs.start(env)
            await sandbox.wait_for("getUpdates", since=since, timeout=60)
            await asyncio.sleep(rng.uniform(0.5, 2.5))  # a random point in the bot's busy life
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            if db.exists():
                for case_id, status in _rows(db, "SELECT id, state FROM cases"):
                    states.setdefault(int(case_id), str(status))  # first state seen
        stop.set()
        await writer

        # The last life handles what is left in Telegram's queue, then stops politely.
        since = sandbox.mark()
        proc = await procs.start(env)
        await sandbox.wait_for("getUpdates", since=since, timeout=60)
        # As long as the bot keeps taking updates (a busy machine may need minutes); the assertions say what is off.
        await wait_for_drain(lambda: len(sandbox.pending_updates()), what="Telegram's queue")

        def ledger_caught_up() -> bool:  # the ledger flushes every second
            delivered = [int(u["update_id"]) for c in sandbox.calls("getUpdates", ok=True) for u in c.result or []]
            last = _rows(db, "SELECT value FROM state WHERE key = 'last_update_id'")
            return bool(last) and int(last[0][0]) == max(delivered)

        await wait_until(ledger_caught_up, timeout=10, poll=0.1, required=False)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0, procs.log.read_text()[-3000:]

        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows = _rows(
            db,
            "SELECT chat_id, message_id FROM messages WHERE chat_id IN (?, ?, ?)".replace(
                "?, ?, ?", ", ".join(str(g) for g in GROUPS)
            ),
        )
        stored = Counter((int(c), int(m)) for c, m in rows)
        cases = {int(i): str(s) for i, s in _rows(db, "SELECT id, state FROM cases")}
        open_per_thread = _rows(
            db,
            "SELECT chat_id, thread_key, COUNT(*) FROM cases"
            " WHERE state NOT IN ('resolved', 'dismissed', 'expired')"
            " GROUP BY chat_id, thread_key HAVING COUNT(*) > 1",
        )
        last = _rows(db, "SELECT value FROM state WHERE key = 'last_update_id'")
        redelivered = _rows(db, "SELECT COUNT(*) FROM messages WHERE seen_count > 1")[0][0]
        cards = _cards(sandbox)
        max_update = max(int(u["update_id"]) for c in sandbox.calls("getUpdates", ok=True) for u in c.result or [])
        with capsys.disabled():
            print(
                f"\npipeline crash test (seed {rng.replay_seed}): {len(sent)} messages, {KILLS} SIGKILLs; "
                f"rows {len(stored)}; "
                f"cases {len(cases)}, with a card {len(cards)}, cards {sum(cards.values())}; "
                f"redelivered and recognised {redelivered}; "
                f"last handled update {last[0][0] if last else None} of {max_update}"
            )

    assert integrity == "ok"
    assert set(stored) == set(sent), f"lost: {sorted(set(sent) - set(stored))[:10]}"
    assert all(n == 1 for n in stored.values())
    assert cases, "no case opened: the complaints did not test escalation"
    assert {case_id: n for case_id, n in cards.items() if n != 1} == {}, "a case was announced twice"
    assert set(cards) <= set(cases), "a card without its case"
    # Known gap (docs/reliability.md): a card still queued in the outbox (20 per minute to the managers' group)
    # when the process dies is not re-sent by the next life; the case itself is kept.
    assert open_per_thread == []
    for case_id, first_state in states.items():
        assert cases[case_id] == first_state  # nobody worked the queue: states are kept as they were
    assert last and int(last[0][0]) == max_update
