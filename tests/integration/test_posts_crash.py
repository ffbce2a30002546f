"""Crash safety: 100 posts over a short span, the real bot (``python -m bot run``) killed with SIGKILL at
random points several times and restarted each time, against a sandbox that keeps its state because it
lives in this test process. Every post must appear exactly once, or be reported uncertain (and then it
appears at most once); none may be lost."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.posts import import_file
from bot.config import Settings
from bot.sandbox import Fault, SandboxBotAPI
from tests.harness import ADMIN_ID, MANAGER_ID, TOKEN
from tests.processes import bot_processes, steward_env
from tests.seeding import SeededRandom
from tests.waiting import wait_until

GROUPS = [-1001000000300 - i for i in range(10)]
MANAGERS = -1001000000399
POSTS = 100
KILLS = 3
TEXT = re.compile(r"^crash post (\d{3})$")


def _env(base_url: str, db: Path) -> dict[str, str]:
    return steward_env(
        base_url,
        db,
        TOKEN,
        MANAGERS__IDS=f"[{MANAGER_ID}]",
        MANAGERS__CHAT_ID=str(MANAGERS),
        MANAGERS__RECEIPTS="failures",  # bad news only: uncertain, missed, failed
        SENTIMENT__ENABLED="false",
        SCHEDULER__SYNC_SECONDS="1",
    )


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        return list(conn.execute(sql).fetchall())


def _write_posts(path: Path, first: datetime) -> None:
    entries = []
    for i in range(POSTS):
        at = (first + timedelta(seconds=i * 0.2)).strftime("%Y-%m-%d %H:%M:%S")
        entries.append(f'[[post]]\nchat = {GROUPS[i % len(GROUPS)]}\ntext = "crash post {i:03d}"\nat = "{at}"\n')
    path.write_text("\n".join(entries), encoding="utf-8")


@pytest.mark.slow
async def test_sigkill_never_loses_or_doubles_a_post(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seeded_rng: SeededRandom
) -> None:
    rng, seed = seeded_rng, seeded_rng.replay_seed  # replay: STEWARD_TEST_SEED=<seed>, printed before the test
    db = tmp_path / "steward.db"
    async with SandboxBotAPI(token=TOKEN) as sandbox, bot_processes(tmp_path / "bot.log") as procs:
        sandbox.add_user(ADMIN_ID, "Ada", "ada")
        sandbox.add_user(MANAGER_ID, "Max", "max")
        for chat in [*GROUPS, MANAGERS]:
            sandbox.add_group(chat, f"Group {chat}", owner_id=ADMIN_ID, members=[MANAGER_ID])
            sandbox.add_bot_to_group(chat, ADMIN_ID)
        # Every call takes a little while, so a kill often lands while a post is on the wire.
        sandbox.inject("sendMessage", Fault.delay(0.15), times=None)

        settings = Settings(telegram={"token": TOKEN}, database={"path": str(db)}, community={"timezone": "UTC"})
        posts_file = tmp_path / "posts.toml"
        _write_posts(posts_file, datetime.now(UTC) + timedelta(seconds=4))
        imported = await import_file(settings, posts_file)
        assert len(imported) == POSTS

        env = _env(sandbox.base_url, db)
        lives: list[int] = []
        for _ in range(KILLS):
            since = sandbox.mark()
            before = len(sandbox.calls("sendMessage", ok=True))
            proc = await procs.start(env)
            await sandbox.wait_for("getUpdates", since=since, timeout=30)
            await asyncio.sleep(rng.uniform(0.2, 2.0))  # a random point in the bot's life, not an assertion
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            lives.append(len(sandbox.calls("sendMessage", ok=True)) - before)

        # The last life runs until every post is resolved, then stops politely.
        since = sandbox.mark()
        proc = await procs.start(env)
        await sandbox.wait_for("getUpdates", since=since, timeout=30)

        def all_resolved() -> bool:
            open_rows = _rows(db, "SELECT COUNT(*) FROM posts WHERE status IN ('pending', 'sending')")[0][0]
            unreported = _rows(db, "SELECT COUNT(*) FROM post_runs WHERE reported = 0 AND status = 'uncertain'")
            return open_rows == 0 and unreported[0][0] == 0

        await wait_until(all_resolved, timeout=45, poll=0.2, required=False)  # the assertions below say what is off
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0, procs.log.read_text()[-3000:]

        statuses = dict(_rows(db, "SELECT id, status FROM posts"))
        texts = {int(pid): str(text) for pid, text in _rows(db, "SELECT id, text FROM posts")}
        appeared: Counter[str] = Counter()
        for chat in GROUPS:
            for message in sandbox.sent_messages(chat):
                if TEXT.match(message.get("text", "")):
                    appeared[message["text"]] += 1
        report_texts = sandbox.sent_texts(MANAGERS)

        sent = [pid for pid, status in statuses.items() if status == "sent"]
        uncertain = [pid for pid, status in statuses.items() if status == "uncertain"]
        other = {pid: status for pid, status in statuses.items() if status not in ("sent", "uncertain")}
        doubled = [texts[pid] for pid in statuses if appeared[texts[pid]] > 1]
        sent_missing = [texts[pid] for pid in sent if appeared[texts[pid]] != 1]
        uncertain_posted = [pid for pid in uncertain if appeared[texts[pid]] == 1]
        unreported = [
            pid for pid in uncertain if not any(f"Post #{pid} " in t and "may or may not" in t for t in report_texts)
        ]
        with capsys.disabled():  # the counts are the point of this test: show them even when it passes
            print(
                f"\ncrash test (seed {seed}): {POSTS} posts, {KILLS} SIGKILLs (successful sends per life: {lives}); "
                f"sent exactly once: {len(sent) - len(sent_missing)}, uncertain: {len(uncertain)} "
                f"(of which on the chat: {len(uncertain_posted)}, reported: {len(uncertain) - len(unreported)}), "
                f"doubled: {len(doubled)}, lost: {len(other) + len(sent_missing)}"
            )
        assert len(statuses) == POSTS
        assert other == {}, f"posts neither sent nor uncertain: {other}"
        assert doubled == [], f"posted twice: {doubled}"
        assert sent_missing == [], f"marked sent but not exactly once on the chat: {sent_missing}"
        assert unreported == [], f"uncertain posts the managers were not asked about: {unreported}"
        assert len(sent) + len(uncertain) == POSTS
        assert sum(lives) > 0, "the bot never posted before a kill: the kills did not test anything"
