"""Analytics benchmark: how long a full /stats report takes on a large community.

Usage::

    python benchmarks/analytics.py [--messages 10000] [--days 30] [--no-baseline] [--json]

Seeds a temporary SQLite file with one community: ``--messages`` messages over 90 days (a tenth
of them questions, a third replies), joins through campaigns and leaves, then times
``build_report`` for the last ``--days`` days, and the chart rendering. For comparison it times
the same report again after dropping the ``messages_reply`` index that migration 0005 adds
(the baseline: what the question, helper and post queries cost without it, one scan of the
chat per question), in the same process. The baseline grows with questions × messages; skip it
for large sizes with ``--no-baseline``. Prints seconds and the ratio; with ``--json`` the last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.services.charts import render_report
from bot.services.stats import build_report
from bot.storage.db import Database
from bot.storage.growth import GrowthRepository

CHAT = -1001000777000
DAY = 86_400


async def seed(db: Database, messages: int, now: int, rng: random.Random) -> None:
    await db.execute(
        "INSERT INTO communities (chat_id, title, type, created_at, updated_at)"
        " VALUES (?, 'Bench', 'supergroup', 0, 0)",
        (CHAT,),
    )
    start = now - 90 * DAY
    step = 90 * DAY / messages
    rows = []
    questions: list[int] = []
    for i in range(1, messages + 1):
        at = int(start + i * step)
        user = rng.randint(1, 3000)
        reply_to = None
        if questions and rng.random() < 0.33:
            reply_to = questions[-rng.randint(1, min(len(questions), 20))]
        is_question = rng.random() < 0.1
        if is_question:
            questions.append(i)
        label = rng.choices(["negative", "neutral", "positive"], [2, 6, 3])[0]
        rows.append((CHAT, i, reply_to, f"m:{reply_to or i}", user, "text", at, int(is_question), label))
    async with db.transaction():
        await db.executemany(
            "INSERT INTO messages (chat_id, message_id, reply_to_message_id, thread_key, user_id, text, date,"
            " is_question, sentiment_label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    repo = GrowthRepository(db)
    links = []
    for name in ("newsletter", "meetup", "partner"):
        campaign = await repo.add_campaign(CHAT, name, f"https://t.me/+{name}", created_by=1, at=start)
        links.append(campaign.invite_link)
    for j in range(3000):
        at = start + rng.randint(0, 90 * DAY)
        await repo.record_join(
            CHAT, 10_000 + j, at, source="chat_member", invite_link=rng.choice([*links, None]), via="link"
        )
        if rng.random() < 0.2:
            await repo.record_leave(CHAT, 10_000 + j, at + rng.randint(DAY, 20 * DAY), source="chat_member")


async def timed_report(db: Database, now: int, days: int, repeats: int) -> tuple[float, object]:
    best = float("inf")
    report = None
    for _ in range(repeats):
        began = time.perf_counter()
        report = await build_report(db, CHAT, since=now - days * DAY, until=now, title="Bench")
        best = min(best, time.perf_counter() - began)
    return best, report


async def main(messages: int, days: int, as_json: bool, baseline: bool) -> None:
    rng = random.Random(42)
    now = int(time.time())
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "bench.db")
        await db.open()
        try:
            began = time.perf_counter()
            await seed(db, messages, now, rng)
            seeded = time.perf_counter() - began
            with_index, report = await timed_report(db, now, days, 3)
            began = time.perf_counter()
            charts = render_report(report, Path(folder) / "charts")  # type: ignore[arg-type]
            chart_s = time.perf_counter() - began
            without_index = None
            if baseline:
                await db.execute("DROP INDEX messages_reply")
                without_index, _ = await timed_report(db, now, days, 1)
        finally:
            await db.close()
    figures = {
        "messages": messages,
        "days": days,
        "seed_s": round(seeded, 2),
        "report_s": round(with_index, 3),
        "report_without_reply_index_s": None if without_index is None else round(without_index, 3),
        "speedup_from_index": round(without_index / with_index, 1) if without_index and with_index else None,
        "charts": len(charts),
        "charts_s": round(chart_s, 2),
    }
    print(f"community: {messages} messages over 90 days, report for the last {days} days")
    print(f"seeding:                          {seeded:8.2f} s")
    print(f"build_report (best of 3):         {with_index:8.3f} s")
    if without_index is not None:
        print(f"build_report without reply index: {without_index:8.3f} s  (baseline, same process)")
        print(f"ratio (baseline / ours):          {figures['speedup_from_index']:8}x")
    print(f"render {len(charts)} charts:                  {chart_s:8.2f} s")
    if as_json:
        print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow run without the index")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.days, args.json, not args.no_baseline))
