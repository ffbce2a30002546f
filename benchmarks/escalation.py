"""Escalation benchmark: how well cases open on labelled threads, and what watching threads costs.

Usage::

    python benchmarks/escalation.py --threads benchmarks/data/escalation_threads/test.jsonl [--json]
    python benchmarks/escalation.py [--messages 5000] [--threads 200] [--negative 0.2] [--json]

**Quality** (``--threads FILE``, a JSON-lines file of labelled threads, see
``benchmarks/data/escalation_threads/README.md``): every thread is replayed through the real services
(``benchmarks/escalation_replay.py``: real CommunityService and EscalationService on a real SQLite
database, the shipped sentiment model, the real multilingual e5 encoder, the escalation check every
simulated minute) once per policy (``--policies message,thread``: today's per-message rules and the
thread judgment). Prints recall on threads that need a manager, false alarms on those that do not,
the most cases any one thread got and the median time to open, overall, per language and per kind,
both policies side by side; then the threads each policy got wrong.

**Cost** (``--threads N``, a number):

Every group message already costs one write (``MessageRepository.record``): that is the baseline.
The run records ``--messages`` messages spread over ``--threads`` reply threads (``--negative`` of
them negative, with a few pile-ons that open cases) into a temporary SQLite file, once with the
record alone and once with the record followed by ``EscalationService.on_message`` (the policy over
the thread's window, case updates and card renders; the outbox and desk are no-op stand-ins, so
Telegram's own latency is not counted). Prints per-message times and the ratio, plus the cost of one
``EscalationPolicy.decide`` over a 50-message window. With ``--json`` the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.escalation_replay import NullDesk, NullOutbox
from bot.config import EscalationSettings
from bot.domain import Author, IncomingMessage, MessageContext, Sentiment, SentimentLabel
from bot.services.escalation import EscalationService
from bot.services.escalation.policy import EscalationPolicy, PolicySettings, WindowMessage
from bot.storage.cases import CaseRepository
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.messages import MessageRepository
from handlers.callbacks import BUTTONS

CHAT = -1001000888000
TEXTS_NEG = ["this is terrible", "awful, nothing works", "the app is broken again", "so bad today"]
TEXTS_OK = ["hi all", "what time is the meetup?", "thanks, that helped", "see you there", "nice one"]


class _Roles:
    manager_ids = frozenset({1})

    def is_manager(self, user_id: int) -> bool:
        return user_id == 1

    async def chat_admins(self, chat_id: int) -> set[int]:
        return {2}


def workload(messages: int, threads: int, negative: float, seed: int = 7) -> list[tuple[int, int, int, str, bool]]:
    """(message id, user, thread root, text, negative) in order."""
    rng = random.Random(seed)
    roots: list[int] = []
    out = []
    for mid in range(1, messages + 1):
        user = rng.randint(10, 400)
        bad = rng.random() < negative
        text = rng.choice(TEXTS_NEG if bad else TEXTS_OK)
        if len(roots) < threads or rng.random() < 0.1:
            roots.append(mid)
            root = mid
        else:
            root = rng.choice(roots[-threads:])
        out.append((mid, user, root, text, bad))
    return out


async def run(with_escalation: bool, work: list[tuple[int, int, int, str, bool]], folder: Path) -> tuple[float, int]:
    db = Database(folder / f"bench-{int(with_escalation)}.db")
    await db.open()
    communities = CommunityRepository(db)
    community = await communities.upsert(
        chat_id=CHAT, title="Bench", type="supergroup", is_forum=False, username=None, timezone="UTC", language="en"
    )
    messages = MessageRepository(db)
    cases = CaseRepository(db)
    service = EscalationService(
        EscalationSettings(),
        cases,
        messages,
        communities,
        _Roles(),
        NullOutbox(),
        NullDesk(),
        buttons=BUTTONS,
        bot_id=99,
        managers_chat_id=None,
    )
    now = datetime.now(UTC)
    start = time.perf_counter()
    for mid, user, root, text, bad in work:
        msg = IncomingMessage(
            CHAT,
            mid,
            Author(user, f"u{user}"),
            text,
            now,
            reply_to_message_id=None if root == mid else root,
            reply_to_user_id=None,
        )
        sentiment = Sentiment(SentimentLabel.NEGATIVE, 0.75) if bad else Sentiment(SentimentLabel.NEUTRAL, 0.8)
        key, _ = await messages.record(msg, sentiment, is_question=False)
        if with_escalation:
            await service.on_message(MessageContext(msg, community, sentiment, key, False))
    elapsed = time.perf_counter() - start
    opened = await cases.count()
    await db.close()
    return elapsed, opened


def policy_micro(repeats: int = 2000) -> float:
    policy = EscalationPolicy()
    settings = PolicySettings(about="Acme Cloud hosting and billing")
    window = [
        WindowMessage(
            i,
            10 + i % 7,
            TEXTS_NEG[i % 4] if i % 3 == 0 else TEXTS_OK[i % 5],
            1000 + i,
            "negative" if i % 3 == 0 else "neutral",
            0.75,
        )
        for i in range(50)
    ]
    start = time.perf_counter()
    for _ in range(repeats):
        policy.decide(window, settings, now=1100, staff_ids=frozenset({1}), bot_id=99)
    return (time.perf_counter() - start) / repeats


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--threads", default="200", help="a number of synthetic threads, or a .jsonl file")
    parser.add_argument("--policies", default="message,thread")
    parser.add_argument(
        "--read",
        default="two_pass",
        choices=("two_pass", "quantized"),
        help="how the thread policy reads messages (escalation.read)",
    )
    parser.add_argument("--negative", type=float, default=0.2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--embed-cache",
        type=Path,
        default=None,
        help="a file that remembers message vectors between runs (the encoder is deterministic; saves CPU)",
    )
    args = parser.parse_args()
    if not args.threads.isdigit():
        await quality(Path(args.threads), args.policies.split(","), args.json, args.read, args.embed_cache)
        return
    args.threads = int(args.threads)
    work = workload(args.messages, args.threads, args.negative)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base, _ = await run(False, work, folder)
        full, opened = await run(True, work, folder)
    per_base = base / len(work) * 1e6
    per_full = full / len(work) * 1e6
    decide_us = policy_micro() * 1e6
    print(f"messages: {len(work)} over {args.threads} threads, {args.negative:.0%} negative; cases opened: {opened}")
    print(f"record only (baseline):     {per_base:8.1f} µs/message")
    print(f"record + escalation:        {per_full:8.1f} µs/message  ({per_full / per_base:.2f}x the baseline)")
    print(f"EscalationPolicy.decide, 50-message window: {decide_us:.1f} µs")
    if args.json:
        print(
            json.dumps(
                {
                    "messages": len(work),
                    "cases": opened,
                    "baseline_us": round(per_base, 1),
                    "escalation_us": round(per_full, 1),
                    "ratio": round(per_full / per_base, 2),
                    "decide_us": round(decide_us, 1),
                }
            )
        )


def _failure(f: dict[str, Any]) -> str:
    if f["needs_manager"] and not f["cases"]:
        return "missed"
    return "false alarm" if not f["needs_manager"] else f"{f['cases']} cases"


class CachedEncoder:
    """``encode_queries`` through a dict of remembered vectors (kept in a pickle between runs)."""

    def __init__(self, encoder: Any, cache: dict[str, Any]) -> None:
        self.encoder = encoder
        self.cache = cache

    def encode_queries(self, texts: list[str]) -> Any:
        import numpy as np

        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for text, vector in zip(todo, self.encoder.encode_queries(todo), strict=True):
                self.cache[text] = np.asarray(vector, dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])


async def quality(
    path: Path, policies: list[str], as_json: bool, read: str = "two_pass", cache_file: Path | None = None
) -> None:
    from benchmarks.escalation_replay import classify_all, load_threads, replay, summarise, table
    from models.encoder import E5Encoder

    if not path.is_file():
        raise SystemExit(f"no thread file {path}")
    threads = load_threads(path)
    verdicts = classify_all(threads)
    # The full multilingual e5 and its int8 copy, as Steward reads messages (bot/services/escalation/thread.py).
    encoder: Any = (E5Encoder(), E5Encoder(quantize=True)) if "thread" in policies else None
    caches: dict[str, dict[str, Any]] = {"full": {}, "cheap": {}}
    if cache_file is not None and cache_file.is_file():
        import pickle

        caches = pickle.loads(cache_file.read_bytes())  # our own file, written below
    if encoder is not None and cache_file is not None:
        encoder = (CachedEncoder(encoder[0], caches["full"]), CachedEncoder(encoder[1], caches["cheap"]))
    summaries: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for policy in policies:
            results, stats = await replay(threads, policy, Path(tmp), verdicts, encoder, read)
            summaries[policy] = summarise(results) | {"encoder": stats}
    if cache_file is not None:
        import pickle

        cache_file.write_bytes(pickle.dumps(caches))
    print(f"{path}: {len(threads)} threads; replayed in {time.perf_counter() - started:.0f} s")
    print(table(summaries))
    for policy, summary in summaries.items():
        wrong = ", ".join(f"{f['id']} ({f['kind']}, {_failure(f)})" for f in summary["failures"])
        print(f"{policy}: wrong on {len(summary['failures'])}: {wrong or 'none'}")
        e = summary["encoder"]
        print(
            f"{policy}: messages read by the quantized encoder {e['cheap']}, then by the full one "
            f"{e['embedded']}; kept from the encoder by the gate {e['gated']}"
        )
    if as_json:
        print(json.dumps({"file": str(path), "threads": len(threads), "policies": summaries}, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
