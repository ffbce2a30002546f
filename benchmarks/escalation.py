"""Escalation benchmark: what watching threads adds to each group message.

Usage::

    python benchmarks/escalation.py [--messages 5000] [--threads 200] [--negative 0.2] [--json]

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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import EscalationSettings
from bot.domain import Author, Delivery, IncomingMessage, MessageContext, Sentiment, SentimentLabel
from bot.services.escalation import EscalationService
from bot.services.escalation_policy import EscalationPolicy, PolicySettings, WindowMessage
from bot.storage.cases import CaseRepository
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.messages import MessageRepository

CHAT = -1001000888000
TEXTS_NEG = ["this is terrible", "awful, nothing works", "the app is broken again", "so bad today"]
TEXTS_OK = ["hi all", "what time is the meetup?", "thanks, that helped", "see you there", "nice one"]


@dataclass
class _Posted:
    chat_id: int
    message_id: int
    thread_id: int | None = None


class _NullOutbox:
    async def send_message(self, chat_id: int, text: str, **kw: Any) -> Delivery:
        return Delivery(True, chat_id, [1])

    async def edit_text(self, chat_id: int, message_id: int, text: str, **kw: Any) -> Delivery:
        return Delivery(True, chat_id, [message_id])


class _NullDesk:
    def __init__(self) -> None:
        self.n = 0

    async def post(self, text: str, **kw: Any) -> list[_Posted]:
        self.n += 1
        return [_Posted(-100, self.n)]

    async def open_topic(self, name: str) -> int | None:
        return None


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
        EscalationSettings(), cases, messages, communities, _Roles(), _NullOutbox(), _NullDesk(),
        bot_id=99, managers_chat_id=None,
    )
    now = datetime.now(UTC)
    start = time.perf_counter()
    for mid, user, root, text, bad in work:
        msg = IncomingMessage(
            CHAT, mid, Author(user, f"u{user}"), text, now,
            reply_to_message_id=None if root == mid else root, reply_to_user_id=None,
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
        WindowMessage(i, 10 + i % 7, TEXTS_NEG[i % 4] if i % 3 == 0 else TEXTS_OK[i % 5], 1000 + i,
                      "negative" if i % 3 == 0 else "neutral", 0.75)
        for i in range(50)
    ]
    start = time.perf_counter()
    for _ in range(repeats):
        policy.decide(window, settings, now=1100, staff_ids=frozenset({1}), bot_id=99)
    return (time.perf_counter() - start) / repeats


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--negative", type=float, default=0.2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
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
        print(json.dumps({
            "messages": len(work), "cases": opened, "baseline_us": round(per_base, 1),
            "escalation_us": round(per_full, 1), "ratio": round(per_full / per_base, 2),
            "decide_us": round(decide_us, 1),
        }))


if __name__ == "__main__":
    asyncio.run(main())
