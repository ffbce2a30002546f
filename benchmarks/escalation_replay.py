"""Replay labelled community threads through the real escalation services, for both policies.

Used by ``benchmarks/escalation.py --threads FILE``. Each thread's messages go, at their relative
times, through the real ``CommunityService`` (recording into a real SQLite database, sentiment from
the shipped model) to the real ``EscalationService`` (the real multilingual e5 encoder for the thread
policy); the escalation check (``tick``) runs every simulated minute, as the scheduler runs it. The
communities are set up as a new user would have them: ``config.example.toml`` defaults, no
``/escalation about``, the group's description served as its Telegram description, staff as chat admins.

A labelled thread "escalates" when at least one case (live, not shadow) opened for any of its reply
chains; the time to open is measured from the thread's first message.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import EscalationSettings
from bot.domain import Author, ChatInfo, Delivery, IncomingMessage, Sentiment
from bot.services.community import CommunityService
from bot.services.escalation import EscalationService
from bot.storage.cases import CaseRepository
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from bot.storage.members import MemberRepository
from bot.storage.messages import MessageRepository
from handlers.callbacks import BUTTONS

BASE = int(datetime(2026, 11, 2, 8, 0, tzinfo=UTC).timestamp())
SPACING = 4 * 3600  # threads lie hours apart: one thread's window never sees another's
TAIL = 20 * 60  # keep ticking this long after a thread's last message
STAFF_OFFSET = 900_000  # staff user ids in the files are small; keep them apart from members


def load_threads(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@dataclass
class ThreadResult:
    thread: dict[str, Any]
    cases: int
    opened_after: int | None  # seconds from the thread's first message to its first case


class NullOutbox:
    """Every send and edit succeeds at once: the benchmarks measure judgment, not Telegram."""

    async def send_message(self, chat_id: int, text: str, **kw: Any) -> Delivery:
        return Delivery(True, chat_id, [1])

    async def edit_text(self, chat_id: int, message_id: int, text: str, **kw: Any) -> Delivery:
        return Delivery(True, chat_id, [message_id])


@dataclass
class Posted:
    chat_id: int
    message_id: int
    thread_id: int | None = None


class NullDesk:
    def __init__(self) -> None:
        self.n = 0

    async def post(self, text: str, **kw: Any) -> list[Posted]:
        self.n += 1
        return [Posted(-100, self.n)]

    async def open_topic(self, name: str) -> int | None:
        return None


class _Roles:
    manager_ids: frozenset[int] = frozenset()

    def __init__(self, admins: dict[int, set[int]]) -> None:
        self.admins = admins

    def is_manager(self, user_id: int) -> bool:
        return False

    async def chat_admins(self, chat_id: int) -> set[int]:
        return self.admins.get(chat_id, set())


class _Sentiments:
    """The shipped model's verdicts, computed once for all texts (the same for both policies)."""

    def __init__(self, verdicts: dict[str, Sentiment]) -> None:
        self.verdicts = verdicts

    async def classify(self, text: str) -> Sentiment:
        return self.verdicts.get(text.strip(), Sentiment.unclassified())


def classify_all(threads: Sequence[dict[str, Any]]) -> dict[str, Sentiment]:
    from bot.services.inference import to_sentiment
    from models import sentiment

    texts = sorted({m["text"].strip() for t in threads for m in t["messages"]})
    classifier = sentiment.load_default()
    return {text: to_sentiment(v) for text, v in zip(texts, classifier.predict(texts), strict=True)}


class Clock:
    def __init__(self) -> None:
        self.now = BASE

    def __call__(self) -> int:
        return self.now


async def replay(
    threads: Sequence[dict[str, Any]],
    policy: str,
    folder: Path,
    verdicts: dict[str, Sentiment],
    encoder: Any,
    read: str = "two_pass",
) -> tuple[list[ThreadResult], dict[str, Any]]:
    db = Database(folder / f"replay-{policy}.db")
    await db.open()
    communities = CommunityRepository(db)
    messages = MessageRepository(db)
    cases = CaseRepository(db)
    chats: dict[str, int] = {}
    descriptions: dict[int, str] = {}
    admins: dict[int, set[int]] = {}
    for t in threads:
        c = t["community"]
        if c["key"] not in chats:
            chats[c["key"]] = -1001000000000 - len(chats)
            descriptions[chats[c["key"]]] = c["description"]
        for m in t["messages"]:
            if m["role"] == "staff":
                admins.setdefault(chats[c["key"]], set()).add(STAFF_OFFSET + m["user_id"])
    clock = Clock()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-encoder")
    loop = asyncio.get_running_loop()

    async def embed(texts: list[str], cheap: bool) -> np.ndarray:
        which = encoder[1] if cheap else encoder[0]
        return await loop.run_in_executor(executor, which.encode_queries, texts)

    async def describe(chat_id: int) -> str | None:
        return descriptions.get(chat_id)

    service = EscalationService(
        EscalationSettings(policy=policy, read=read),
        cases,
        messages,
        communities,
        _Roles(admins),
        NullOutbox(),
        NullDesk(),
        buttons=BUTTONS,
        bot_id=42,
        managers_chat_id=None,
        clock=clock,
        describe_chat=describe,
        embed=embed if policy == "thread" else None,
    )
    community_service = CommunityService(
        communities,
        messages,
        MemberRepository(db),
        _Sentiments(verdicts),
        default_language="en",
        default_timezone="UTC",
        listeners=[service],
    )
    results: list[ThreadResult] = []
    next_id = 1
    for index, t in enumerate(threads):
        chat_id = chats[t["community"]["key"]]
        chat = ChatInfo(chat_id, t["community"]["title"], "supergroup")
        start = BASE + index * SPACING
        ids: dict[int, int] = {}
        users: dict[int, int] = {}
        first_id = next_id
        events = sorted(
            [(start + m["t"], 0, m) for m in t["messages"]]
            + [(tick, 1, None) for tick in range(start + 60, start + t["messages"][-1]["t"] + TAIL, 60)],
            key=lambda e: (e[0], e[1]),
        )
        for at, _kind, m in events:
            clock.now = at
            if m is None:
                await service.tick()
                continue
            user = m["user_id"] + (STAFF_OFFSET if m["role"] == "staff" else 0)
            parent = ids.get(m["reply_to"]) if m["reply_to"] else None
            msg = IncomingMessage(
                chat_id,
                next_id,
                Author(user, f"user{user}"),
                m["text"],
                datetime.fromtimestamp(at, UTC),
                reply_to_message_id=parent,
                reply_to_user_id=users.get(parent) if parent else None,
            )
            ids[m["id"]], users[next_id] = next_id, user
            next_id += 1
            await community_service.on_message(chat, msg)
        rows = await db.fetchall(
            "SELECT opened_at FROM cases WHERE chat_id = ? AND first_message_id >= ? AND first_message_id < ?"
            " AND shadow = 0 ORDER BY opened_at",
            (chat_id, first_id, next_id),
        )
        opened = [int(r["opened_at"]) for r in rows]
        results.append(ThreadResult(t, len(opened), opened[0] - start if opened else None))
        # Close what opened, as a manager would, so the next thread starts clean.
        for case in await cases.active():
            await cases.close(case.id, "resolved", None, None, clock.now)
    signals = service.thread.signals
    stats = {"embedded": signals.embedded, "cheap": signals.cheap, "gated": signals.gated}
    executor.shutdown(wait=True)
    await db.close()
    return results, stats


def summarise(results: Sequence[ThreadResult]) -> dict[str, Any]:
    """Recall on threads that need a manager, false alarms on the others, per language and kind."""

    def block(rs: Sequence[ThreadResult]) -> dict[str, Any]:
        pos = [r for r in rs if r.thread["needs_manager"]]
        neg = [r for r in rs if not r.thread["needs_manager"]]
        times = sorted(r.opened_after for r in pos if r.opened_after is not None)
        return {
            "threads": len(rs),
            "need": len(pos),
            "recall": round(sum(r.cases > 0 for r in pos) / len(pos), 3) if pos else None,
            "no_need": len(neg),
            "false_alarms": round(sum(r.cases > 0 for r in neg) / len(neg), 3) if neg else None,
            "max_cases_per_thread": max((r.cases for r in rs), default=0),
            "median_open_s": statistics.median(times) if times else None,
            "p90_open_s": times[min(len(times) - 1, int(0.9 * len(times)))] if times else None,
        }

    out: dict[str, Any] = {"all": block(results), "language": {}, "kind": {}}
    for lang in sorted({r.thread["language"] for r in results}):
        out["language"][lang] = block([r for r in results if r.thread["language"] == lang])
    for kind in sorted({r.thread["kind"] for r in results}):
        out["kind"][kind] = block([r for r in results if r.thread["kind"] == kind])
    out["failures"] = [
        {"id": r.thread["id"], "kind": r.thread["kind"], "needs_manager": r.thread["needs_manager"], "cases": r.cases}
        for r in results
        if (r.cases > 0) != r.thread["needs_manager"] or r.cases > 1
    ]
    return out


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:.0%}" if pct else str(value)


def table(summaries: dict[str, dict[str, Any]]) -> str:
    """Both policies side by side: recall, false alarms, median time to open."""
    policies = list(summaries)
    head = (
        "| group | threads | "
        + " | ".join(f"{p}: recall | {p}: false alarms | {p}: median open" for p in policies)
        + " |"
    )
    lines = [head, "|" + "---|" * (2 + 3 * len(policies))]

    def row(name: str, key: tuple[str, ...]) -> None:
        blocks = []
        for p in policies:
            b: Any = summaries[p]
            for k in key:
                b = b[k]
            blocks.append(b)
        cells = [name, str(blocks[0]["threads"])]
        for b in blocks:
            median = b["median_open_s"]
            cells += [
                _fmt(b["recall"], True),
                _fmt(b["false_alarms"], True),
                "—" if median is None else f"{median / 60:.1f} min",
            ]
        lines.append("| " + " | ".join(cells) + " |")

    row("all", ("all",))
    for lang in summaries[policies[0]]["language"]:
        row(lang, ("language", lang))
    for kind in summaries[policies[0]]["kind"]:
        row(kind, ("kind", kind))
    return "\n".join(lines)
