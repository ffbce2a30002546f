"""Telegram misbehaves on a schedule; every outbound message still ends delivered or failed with a reason,
and the limits hold, checked from the sandbox's call journal (``Call.at``).

Over the real bot session (HTTP to the sandbox) the outbox sends to three groups while the sandbox injects
429 with retry_after, 502, a dropped connection (timeout), 400 "message to be replied not found" and, in one
group, 403 "bot was kicked". The group rate is shrunk (6 per 2 s) so the test is quick; the global one is
Telegram's 30 per second.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from bot.domain import Delivery, ErrorKind, Priority
from bot.sandbox import Call, Fault, SandboxBotAPI
from tests.harness import MANAGER_ID, TOKEN, running_bot

G1, G2, G3 = -1001600000001, -1001600000002, -1001600000003
MEMBER = 30_001
PER_GROUP = 24
GROUP_LIMIT, GROUP_PERIOD = 6, 2.0
GLOBAL_PER_SECOND = 30
JITTER = 0.05  # seconds of transit time between the outbox's clock and the sandbox's arrival stamps


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any half-open window of ``window`` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def sending(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method in ("sendMessage", "sendPhoto", "sendDocument", "copyMessage")]


@pytest.mark.slow
async def test_scheduled_faults_end_in_delivery_or_a_reason_within_the_limits(tmp_path: Path) -> None:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        sandbox.add_user(MANAGER_ID, "Mia", "mia", started=True)
        sandbox.add_user(MEMBER, "Ann")
        for gid in (G1, G2, G3):
            sandbox.add_group(gid, f"Group {gid}", owner_id=MANAGER_ID, members=[MEMBER])
            sandbox.add_member(gid, sandbox.bot_id, "administrator")
        # Members' messages to reply to (one of them is deleted before the bot replies).
        targets = {gid: sandbox.send_message(gid, MEMBER, "question?")["message_id"] for gid in (G1, G2, G3)}
        async with running_bot(tmp_path, sandbox=sandbox, faq={"enabled": False}) as h:
            await h.settle()
            outbox = h.app.outbox
            outbox.set_group_rate(GROUP_LIMIT, period_s=GROUP_PERIOD)
            first = sandbox.mark()
            sandbox.inject_schedule(
                "sendMessage",
                [
                    Fault.retry_after(1),
                    None,
                    Fault.server_error(502),
                    None,
                    None,
                    Fault.timeout(0.1),
                    None,
                    Fault.bad_request("Bad Request: message to be replied not found"),
                    None,
                    Fault.server_error(503),
                ],
                chat_id=G1,
            )
            sandbox.inject_schedule(
                "sendMessage",
                [None, Fault.timeout(0.1), Fault.retry_after(2), None, Fault.server_error(500), None],
                chat_id=G2,
            )
            sandbox.inject(
                "sendMessage",
                Fault.forbidden("Forbidden: bot was kicked from the supergroup chat"),
                chat_id=G3,
                times=None,
            )
            sandbox.delete_message(G2, targets[G2])

            async def send(gid: int, i: int) -> Delivery:
                reply_to = targets[gid] if i % 4 == 0 else None
                return await outbox.send_message(
                    gid,
                    f"message {i} to {gid}",
                    reply_to=reply_to,
                    priority=Priority.REPLY if reply_to else Priority.NORMAL,
                )

            deliveries = await asyncio.wait_for(
                asyncio.gather(*(send(gid, i) for i in range(PER_GROUP) for gid in (G1, G2, G3))), timeout=120
            )
            calls = sandbox.journal[first:]

    # Every message ends delivered, or failed with a reason a manager can read.
    by_chat: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_chat.setdefault(delivery.chat_id, []).append(delivery)
        if not delivery.ok:
            assert delivery.error and delivery.error_kind, delivery
    assert len(by_chat[G1]) == len(by_chat[G2]) == len(by_chat[G3]) == PER_GROUP
    assert all(d.ok and d.message_id for d in by_chat[G1] + by_chat[G2])
    assert all(not d.ok and d.error_kind == ErrorKind.FORBIDDEN for d in by_chat[G3])
    assert "removed" in (by_chat[G3][0].error or "")
    # Each delivered message is in the chat exactly once (a retried fault never posted twice).
    for gid in (G1, G2):
        texts = [t for t in sandbox.sent_texts(gid) if t.startswith("message ")]
        assert sorted(texts) == sorted({f"message {i} to {gid}" for i in range(PER_GROUP)})
    # The faults did happen.
    failed_codes = {c.error_code for c in calls if not c.ok and c.method == "sendMessage"}
    assert {429, 400, 403}.issubset(failed_codes) and failed_codes & {500, 502, 503}
    assert any(c.fault is not None and c.fault.kind == "timeout" for c in calls)
    # After a 429 the chat waited at least retry_after before its next attempt.
    for gid in (G1, G2):
        chat_calls = sending([c for c in calls if c.chat_id == gid])
        for before, after in itertools.pairwise(chat_calls):
            if before.error_code == 429:
                wait = before.params.get("retry_after") or (before.fault.parameters or {}).get("retry_after", 0)
                assert after.at - before.at >= float(wait) - 0.05
    # Limits, from the journal: every attempt counts, accepted or not. Call.at is when a request *arrived*;
    # the outbox spaces dispatches exactly one period apart and HTTP transit varies by a few ms, so a request
    # sent on the boundary can land up to JITTER inside the window (0.08% of Telegram's real 60 s window).
    for gid in (G1, G2, G3):
        stamps = [c.at for c in sending(calls) if c.chat_id == gid]
        offsets = " ".join(f"{t - stamps[0]:.3f}" for t in stamps)
        assert max_in_window(stamps, GROUP_PERIOD - JITTER) <= GROUP_LIMIT, (gid, offsets)
    assert max_in_window([c.at for c in sending(calls)], 1.0 - JITTER) <= GLOBAL_PER_SECOND
