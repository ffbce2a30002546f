"""A burst of 10,000 group messages through the real polling loop (sandbox Bot API over HTTP).

The classifier is slow on purpose (a delay per batch), so its bounded queue fills and messages are shed
to "unclassified" instead of piling up. Checked while the flood is handled: the classifier queue never
passes its bound, the tasks in flight never pass the dispatcher's tasks_concurrency_limit (plus the bot's
own few), memory growth stays bounded, and /start in a private chat keeps getting its answer. After: every
message has its row (classified or unclassified, none lost).
"""

from __future__ import annotations

import asyncio
import gc
import resource
import time
from pathlib import Path

import pytest

from bot.sandbox import SandboxBotAPI
from tests.fakes import FakeClassifier, FakeVerdict
from tests.harness import MANAGER_ID, TOKEN, running_bot

GROUP = -1001500000001
FLOOD = 10_000
MEMBERS = 50
QUEUE = 64
CONCURRENCY = 256  # Steward.run_polling's tasks_concurrency_limit
START_EVERY = 2_000
START_BOUND_S = 5.0  # generous: a functional check that /start is not starved, not a speed claim


class SlowClassifier(FakeClassifier):
    """FakeClassifier that spends ``delay`` seconds per batch (on the inference thread)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def predict(self, texts: list[str]) -> list[FakeVerdict]:
        time.sleep(self.delay)
        return super().predict(texts)


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # pragma: no cover


@pytest.mark.slow
async def test_flood_sheds_stays_bounded_loses_nothing_and_answers_start(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        sandbox.add_user(MANAGER_ID, "Mia", "mia", started=True)
        members = list(range(20_000, 20_000 + MEMBERS))
        for uid in members:
            sandbox.add_user(uid, f"M{uid}")
        sandbox.add_group(GROUP, "Flooded club", owner_id=MANAGER_ID, members=members)
        sandbox.add_member(GROUP, sandbox.bot_id, "administrator")
        classifier = SlowClassifier(delay=0.05)
        async with running_bot(
            tmp_path,
            sandbox=sandbox,
            classifier=classifier,
            sentiment={"queue_size": QUEUE, "max_batch": 16, "max_wait_ms": 2.0},
            faq={"enabled": False},
        ) as h:
            app = h.app
            assert app.sentiment is not None
            await h.settle()
            gc.collect()
            rss_before = rss_mb()
            baseline_tasks = len(asyncio.all_tasks())

            # The burst: 10,000 messages queued at Telegram at once, with a manager's /start every 2,000.
            texts = ["hello all", "this is terrible", "great news, thanks", "how do I reset my password?"]
            first = sandbox.mark()
            starts: list[int] = []
            for i in range(FLOOD):
                if i % START_EVERY == 0:
                    starts.append(sandbox.send_message(MANAGER_ID, MANAGER_ID, "/start")["message_id"])
                sandbox.send_message(GROUP, members[i % MEMBERS], f"{texts[i % len(texts)]} #{i}")
            starts.append(sandbox.send_message(MANAGER_ID, MANAGER_ID, "/start")["message_id"])
            assert len(sandbox.pending_updates()) >= FLOOD

            peaks = {"queue": 0, "tasks": 0, "rss": 0.0}

            async def sample() -> None:
                while True:
                    peaks["queue"] = max(peaks["queue"], app.sentiment._batcher.pending)  # type: ignore[union-attr]
                    peaks["tasks"] = max(peaks["tasks"], len(asyncio.all_tasks()))
                    peaks["rss"] = max(peaks["rss"], rss_mb())
                    await asyncio.sleep(0.01)

            sampler = asyncio.create_task(sample())
            try:
                replies = []
                for _ in starts:
                    since = replies[-1].index + 1 if replies else first
                    replies.append(await sandbox.wait_for("sendMessage", chat_id=MANAGER_ID, since=since, timeout=120))
                await h.settle(timeout=60)
            finally:
                sampler.cancel()

            # When did the bot receive each /start (the getUpdates answer that carried it)?
            received: dict[int, float] = {}
            for call in sandbox.calls("getUpdates", ok=True):
                for update in call.result or []:
                    message = update.get("message") or {}
                    if message.get("chat", {}).get("id") == MANAGER_ID:
                        received.setdefault(message["message_id"], call.at + call.duration)
            latencies = [reply.at - received[mid] for mid, reply in zip(starts, replies, strict=True)]
            waited = [received[mid] - sandbox.journal[first].at for mid in starts]

            stored = await app.messages.count(GROUP)
            unclassified = await app.db.fetchval(
                "SELECT COUNT(*) FROM messages WHERE chat_id = ? AND sentiment_label = 'unclassified'", (GROUP,)
            )
            classified = sum(len(batch) for batch in classifier.calls)
            growth = peaks["rss"] - rss_before

    print(
        f"\nflood: {FLOOD} messages; classified {classified}, shed {app.sentiment.shed}; "
        f"peak classifier queue {peaks['queue']}/{QUEUE}; peak tasks {peaks['tasks']} "
        f"(baseline {baseline_tasks}); RSS +{growth:.0f} MB; /start answered within "
        f"{max(latencies):.2f}s of being received ({len(latencies)} tries); the last one waited "
        f"{waited[-1]:.1f}s behind the flood in Telegram's queue"
    )
    # No message record is lost: each one has its row, classified or not.
    assert stored == FLOOD
    assert unclassified == app.sentiment.shed > 0  # the queue shed instead of growing
    assert classified + unclassified >= FLOOD
    # Bounded: the classifier queue never passes its size; the tasks never pass the polling limit.
    assert peaks["queue"] <= QUEUE
    assert peaks["tasks"] <= baseline_tasks + CONCURRENCY + 16
    assert growth < 300, f"RSS grew {growth:.0f} MB during the flood"
    # /start kept being answered throughout: each within the bound once the bot received it (updates
    # come in order: the wait *behind* the flood in Telegram's queue is the drain time, printed above).
    assert len(latencies) == FLOOD // START_EVERY + 1
    assert max(latencies) < START_BOUND_S, latencies
