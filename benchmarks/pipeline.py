"""Pipeline throughput: N synthetic group updates through the REAL dispatcher and the REAL bundled models.

Usage::

    python benchmarks/pipeline.py [--n 3000] [--concurrency 256] [--json] [--profile out.prof]

What runs: ``bot.app.Steward`` with its real Dispatcher (ledger and locale middlewares, every router),
SQLite on disk (WAL), the shipped sentiment model (8-layer e5-small int8 overlay) behind the MicroBatcher,
the FAQ service with the real e5 encoder and a small seeded knowledge base (``benchmarks/traffic.SEED_FAQ``),
escalation (cases and cards to a managers' group), language tracking and the posts listener. Updates
come from :mod:`benchmarks.traffic` (en/ru/he texts, questions, replies, a forum) and are fed with
``Dispatcher.feed_update`` the way polling does: one task per update, at most ``--concurrency`` at once
(``tasks_concurrency_limit`` in ``Steward.run_polling``). Telegram is an in-process session that answers
every call at once, and the outbox's rate limits are lifted (they model Telegram, not our CPU).

Baseline, in the same process and with the same feeding: a Dispatcher with one handler that only records
the message. The ratio pipeline/baseline says how much of the dispatcher's own ceiling the features keep.

Figures: updates/s sustained (N / wall time from the first update to the last handled, after a warm-up
that is not counted), p50/p99 handler latency (feed_update start to end, per update), peak RSS
(``ru_maxrss``), the share of messages classified (the rest were shed to "unclassified"), batches.
``--json``: the last line is one JSON object with ``updates_per_s``, ``baseline_updates_per_s``,
``p99_ms``, ``peak_rss_mb`` and the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import itertools
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher, Router  # noqa: E402
from aiogram.client.session.base import BaseSession  # noqa: E402
from aiogram.methods import GetChat, GetMe, TelegramMethod  # noqa: E402
from aiogram.types import ChatFullInfo, Message, Update, User  # noqa: E402

from benchmarks.traffic import SEED_FAQ, Traffic  # noqa: E402
from bot.app import Steward  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.sandbox import CHAT_INFO_DEFAULTS  # noqa: E402

TOKEN = "123456:BENCH-token"
MANAGERS_CHAT = -1003000000000
MANAGER_ID = 500


class InstantSession(BaseSession):
    """Answers every Bot API call at once with a plausible result; counts calls by method."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {}
        self._ids = itertools.count(1_000_000)

    async def close(self) -> None:
        return None

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        name = type(method).__name__
        self.calls[name] = self.calls.get(name, 0) + 1
        returning = getattr(method, "__returning__", None)
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="Steward", username="steward_bot")
        if isinstance(method, GetChat):
            return ChatFullInfo(
                id=int(method.chat_id),
                type="supergroup",
                title="Managers",
                **copy.deepcopy(CHAT_INFO_DEFAULTS),
            )
        if returning is Message:
            chat_id = getattr(method, "chat_id", 0)
            chat_id = chat_id if isinstance(chat_id, int) else 0
            return Message.model_validate(
                {
                    "message_id": getattr(method, "message_id", None) or next(self._ids),
                    "date": datetime.now(UTC),
                    "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private", "title": "x"},
                    "from": {"id": bot.id, "is_bot": True, "first_name": "Steward"},
                    "text": getattr(method, "text", None) or "ok",
                    "message_thread_id": getattr(method, "message_thread_id", None),
                },
                context={"bot": bot},
            )
        if getattr(returning, "__origin__", None) is list:
            return []
        return True

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        yield b""


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each thread of this process, by thread name (Linux /proc)."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name), "native (torch/OpenMP)")
        key = "sqlite" if "_connection_worker" in name else name.split("_")[0].rstrip("0123456789-")
        out[key] = out.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


async def feed(dp: Dispatcher, bot: Bot, updates: list[dict[str, Any]], concurrency: int) -> tuple[float, list[float]]:
    """Feed like polling does: a task per update under a semaphore. Returns (wall seconds, latencies)."""
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    errors = 0

    async def one(update: Update) -> None:
        nonlocal errors
        try:
            start = time.perf_counter()
            await dp.feed_update(bot, update)
            latencies.append(time.perf_counter() - start)
        except Exception:
            errors += 1
            logging.getLogger("bench").exception("update failed")
        finally:
            sem.release()

    parsed = [Update.model_validate(u, context={"bot": bot}) for u in updates]
    tasks = []
    start = time.perf_counter()
    for update in parsed:
        await sem.acquire()
        tasks.append(asyncio.create_task(one(update)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{errors} updates raised")
    return wall, latencies


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0


async def run_baseline(updates: list[dict[str, Any]], concurrency: int) -> dict[str, float]:
    bot = Bot(token=TOKEN, session=InstantSession())
    seen: list[int] = []
    dp = Dispatcher()
    router = Router()

    @router.message()
    async def record(message: Message) -> None:
        seen.append(message.message_id)

    dp.include_router(router)
    wall, lat = await feed(dp, bot, updates, concurrency)
    assert len(seen) == len(updates), (len(seen), len(updates))
    return {"updates_per_s": len(updates) / wall, "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99)}


async def run_pipeline(
    workdir: Path, warmup: list[dict[str, Any]], updates: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    settings = Settings(
        telegram={"token": TOKEN},
        database={"path": str(workdir / "steward.db")},
        managers={"ids": [MANAGER_ID], "chat_id": MANAGERS_CHAT},
        sentiment={"max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms, "queue_size": args.queue},
        scheduler={"enabled": False},
        growth={"digest_enabled": False},
        escalation={"policy": args.escalation_policy, "read": args.escalation_read},
    )
    session = InstantSession()
    app = Steward(settings, session=session)
    await app.start()
    try:
        # The outbox models Telegram's limits; lift them so the benchmark measures our CPU, not 20/min.
        app.outbox.set_group_rate(10**9, period_s=1.0)
        app.outbox.set_global_rate(10**9)
        app.outbox.set_private_rate(10**9)
        t0 = time.perf_counter()
        for chat_id in {u["message"]["chat"]["id"] for u in updates}:
            await app.faq.import_drafts(chat_id, SEED_FAQ)
            # Adapting the encoder to the knowledge base is a one-off after an edit, not per message.
            await app.faq.index_for(chat_id)
        seed_s = time.perf_counter() - t0
        await feed(app.dispatcher, app.bot, warmup, args.concurrency)
        batcher = app.sentiment._batcher if app.sentiment is not None else None
        b0 = (batcher.batches, batcher.items) if batcher is not None else (0, 0)
        shed0 = app.sentiment.shed if app.sentiment is not None else 0
        gc.collect()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu0, threads0 = time.process_time(), thread_cpu()
        wall, lat = await feed(app.dispatcher, app.bot, updates, args.concurrency)
        cpu, threads1 = time.process_time() - cpu0, thread_cpu()
        per_thread = {
            k: round((v - threads0.get(k, 0.0)) * 1000.0 / len(updates), 3)
            for k, v in threads1.items()
            if v - threads0.get(k, 0.0) > 0
        }
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        rows = await app.messages.count()
        batches = (batcher.batches - b0[0], batcher.items - b0[1]) if batcher is not None else (0, 0)
        shed = (app.sentiment.shed - shed0) if app.sentiment is not None else 0
        cases = await app.db.fetchval("SELECT COUNT(*) FROM cases")
        answers = await app.db.fetchval("SELECT COUNT(*) FROM faq_answers")
        await app.outbox.close(drain_timeout=30)
        return {
            "updates_per_s": len(updates) / wall,
            "p50_ms": pct(lat, 0.5),
            "p99_ms": pct(lat, 0.99),
            "mean_ms": statistics.fmean(lat) * 1000.0,
            "cpu_ms_per_update": cpu * 1000.0 / len(updates),
            "cpu_ms_per_update_by_thread": per_thread,
            "wall_s": wall,
            "rows": rows,
            "classified_share": (batches[1] / len(updates)) if updates else 0.0,
            "shed": shed,
            "batches": batches[0],
            "mean_batch": (batches[1] / batches[0]) if batches[0] else 0.0,
            "cases": cases,
            "faq_answers": answers,
            "seed_kb_s": seed_s,
            "bot_calls": dict(session.calls),
        }
    finally:
        await app.stop(drain_timeout=5)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    traffic = Traffic(groups=args.groups, seed=args.seed, start=int(time.time()) - (args.n + args.warmup) // 50)
    warmup = list(traffic.updates(args.warmup))
    updates = list(traffic.updates(args.n))
    baseline = await run_baseline(updates, args.concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        result = await run_pipeline(Path(tmp), warmup, updates, args)
    result["baseline_updates_per_s"] = baseline["updates_per_s"]
    result["baseline_p99_ms"] = baseline["p99_ms"]
    result["ratio"] = result["updates_per_s"] / baseline["updates_per_s"]
    result["peak_rss_mb"] = peak_rss_mb()
    result["n"] = args.n
    result["loadavg_1m"] = os.getloadavg()[0]
    result["cores"] = os.cpu_count()
    result["concurrency"] = args.concurrency
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="updates to measure (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--groups", type=int, default=3, help="plain supergroups (plus one forum)")
    parser.add_argument("--concurrency", type=int, default=256, help="tasks_concurrency_limit of polling")
    parser.add_argument("--max-batch", type=int, default=Settings().sentiment.max_batch)
    parser.add_argument("--max-wait-ms", type=float, default=Settings().sentiment.max_wait_ms)
    parser.add_argument("--queue", type=int, default=Settings().sentiment.queue_size)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", help="write cProfile stats of the measured run here")
    parser.add_argument("--escalation-policy", default="thread", choices=("thread", "message"))
    parser.add_argument("--escalation-read", default="two_pass", choices=("two_pass", "quantized"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = asyncio.run(main_async(args))
    print(
        f"pipeline   {result['updates_per_s']:8.1f} updates/s   p50 {result['p50_ms']:.1f} ms"
        f"   p99 {result['p99_ms']:.1f} ms   ({result['n']} updates, concurrency {result['concurrency']})"
    )
    print(
        f"baseline   {result['baseline_updates_per_s']:8.1f} updates/s   p99 {result['baseline_p99_ms']:.1f} ms"
        "   (echo-only dispatcher, same feeding)"
    )
    print(f"ratio      {result['ratio']:.3f} of the echo dispatcher")
    print(
        f"classified {result['classified_share']:.1%} by the model ({result['batches']} batches, "
        f"mean {result['mean_batch']:.1f}); shed to unclassified: {result['shed']}"
    )
    print(f"stored     {result['rows']} message rows; cases {result['cases']}; FAQ answers {result['faq_answers']}")
    print(
        f"CPU        {result['cpu_ms_per_update']:.2f} ms per update (all threads; {result['cores']} cores,"
        f" load average {result['loadavg_1m']:.1f} at the end)"
    )
    by_thread = ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(result["cpu_ms_per_update_by_thread"].items(), key=lambda kv: -kv[1])
    )
    print(f"           by thread (ms per update): {by_thread}")
    print(
        f"           capacity if this CPU had the {result['cores']} cores to itself: "
        f"~{result['cores'] * 1000.0 / result['cpu_ms_per_update']:.0f} updates/s (ceiling, not measured)"
    )
    print(f"peak RSS   {result['peak_rss_mb']:.0f} MB")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
