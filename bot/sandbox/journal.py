"""The sandbox's journal of Bot API calls (what tests assert on), fault injection and the opt-in flood limits."""

from __future__ import annotations

import asyncio
import copy
import math
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.sandbox.faults import ApiError, Fault, Injection
from bot.sandbox.methods import REGISTRY
from bot.sandbox.params import Upload
from bot.sandbox.pulse import Pulse
from bot.sandbox.state import JSON, Call, ChatState

__all__ = ["Journal"]


def _matches(call: Call, method: str | None, chat_id: int | None, ok: bool | None) -> bool:
    """``method`` case-insensitive; None for ``method``, ``chat_id`` or ``ok``: any."""
    return (
        (method is None or call.method.lower() == method.lower())
        and (chat_id is None or call.chat_id == chat_id)
        and (ok is None or call.ok == ok)
    )


class Journal:
    """Part of :class:`bot.sandbox.core.SandboxCore`: every call the bot made, the faults waiting for its
    next calls, and the flood limits."""

    chats: dict[int, ChatState]
    injections: list[Injection]
    _journal: list[Call]
    _journal_changed: Pulse
    _sent: list[tuple[int, int]]  # (chat id, message id) of the bot's messages, in order
    _flood: dict[str, tuple[int | None, float]]
    _flood_log: dict[tuple[str, int | None], list[float]]

    # ------------------------------------------------------------------ the journal

    def calls(self, method: str | None = None, chat_id: int | None = None, *, ok: bool | None = None) -> list[Call]:
        """Journaled calls, optionally filtered by method (case-insensitive), chat id and outcome."""
        return [call for call in self._journal if _matches(call, method, chat_id, ok)]

    @property
    def journal(self) -> list[Call]:
        return list(self._journal)

    def clear_journal(self) -> None:
        """Forget every journaled call (indices from :meth:`mark` restart at 0)."""
        self._journal.clear()

    def mark(self) -> int:
        """The current journal length: pass it as ``since=`` to wait only for later calls."""
        return len(self._journal)

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
        chat_id: int | None = None,
        ok: bool | None = True,
    ) -> Call:
        """Return the first journaled call at index >= ``since`` to ``method`` (``"*"``: any) that matches
        ``chat_id``, ``ok`` (successful by default; ``None``: either) and ``predicate``; wait for it if
        needed. Raises ``TimeoutError`` listing the calls seen."""
        wanted = None if method == "*" else method
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = since
        while True:
            while index < len(self._journal):
                call = self._journal[index]
                index += 1
                if _matches(call, wanted, chat_id, ok) and (predicate is None or predicate(call)):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [f"{c.method}({c.chat_id})={'ok' if c.ok else c.error_code}" for c in self._journal[since:]]
                seen = [s for s in seen if not s.startswith("getUpdates")][-20:]
                raise TimeoutError(f"no {method} call matched within {timeout}s; calls since {since}: {seen}")
            await self._journal_changed.wait(remaining)

    def sent_messages(
        self, chat_id: int | None = None, thread_id: int | None = None, *, include_deleted: bool = False
    ) -> list[JSON]:
        """Messages the bot sent (sendMessage, sendPhoto, copyMessage, forwardMessage…), in order, in their
        current state (edits applied). ``thread_id`` matches ``message_thread_id``."""
        out = []
        for cid, mid in self._sent:
            if chat_id is not None and cid != chat_id:
                continue
            chat = self.chats[cid]
            msg = chat.messages.get(mid)
            if msg is None:
                if not include_deleted or mid not in chat.deleted:
                    continue
                msg = chat.deleted[mid]
            if thread_id is not None and msg.get("message_thread_id") != thread_id:
                continue
            out.append(copy.deepcopy(msg))
        return out

    def sent_texts(self, chat_id: int | None = None, thread_id: int | None = None) -> list[str]:
        """Text (or caption) of each message the bot sent, in order."""
        return [m.get("text") or m.get("caption") or "" for m in self.sent_messages(chat_id, thread_id)]

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        started: float,
        wall: datetime,
        chat_id: int | None,
        bot_id: int,
        *,
        result: Any = None,
        error: ApiError | None = None,
        fault: Fault | None = None,
    ) -> Call:
        call = Call(
            method=method,
            params={k: (v.describe() if isinstance(v, Upload) else v) for k, v in params.items()},
            at=started,
            wall=wall,
            chat_id=chat_id,
            ok=error is None,
            error_code=None if error is None else (error.code or None),
            result=copy.deepcopy(result),
            description=None if error is None else error.description,
            fault=fault,
            bot_id=bot_id,
            index=len(self._journal),
            duration=time.monotonic() - started,
        )
        self._journal.append(call)
        self._journal_changed.fire()
        return call

    # ------------------------------------------------------------------ faults

    def inject(
        self,
        method: str,
        fault: Fault,
        *,
        chat_id: int | None = None,
        times: int | None = 1,
        every: int = 1,
        after: int = 0,
        duration: float | None = None,
    ) -> Injection:
        """Make matching calls (``method`` case-insensitive, ``"*"`` = any; ``chat_id`` None = any chat) fail.

        The fault hits matching call number ``after + 1``, then every ``every``-th matching call, ``times``
        times in all (``None``: without end), for ``duration`` seconds (None: no time limit). Returns the
        rule; ``rule.cancel()`` removes it, ``rule.fired`` counts hits."""
        until = None if duration is None else time.monotonic() + duration
        rule = Injection(
            method=method, fault=fault, chat_id=chat_id, times=times, every=every, after=after, until=until
        )
        self.injections.append(rule)
        return rule

    def inject_schedule(
        self, method: str, schedule: Sequence[Fault | None], *, chat_id: int | None = None
    ) -> Injection:
        """One entry per matching call, in order: a Fault to apply, or None to let that call through.
        E.g. ``[Fault.retry_after(2), None, None, Fault.server_error()]``."""
        rule = Injection(method=method, fault=None, chat_id=chat_id, schedule=list(schedule))
        self.injections.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.injections.clear()

    def _take_fault(self, method: str, chat_id: int | None) -> Fault | None:
        chosen: Fault | None = None
        for rule in self.injections:  # in order; the first rule that fires takes the call, later ones skip it
            if rule.active and rule.matches(method, chat_id):
                chosen = rule.take()
                if chosen is not None:
                    break
        self.injections = [r for r in self.injections if r.active]
        return chosen

    # ------------------------------------------------------------------ flood limits (opt-in)

    def set_flood_limits(
        self,
        *,
        per_group_per_minute: int | None = 20,
        per_private_chat_per_second: int | None = 1,
        global_per_second: int | None = 30,
    ) -> None:
        """Answer 429 (with a computed ``retry_after``) like Telegram does when the bot sends faster than
        these limits: messages per group per minute, per private chat per second, and overall per second.
        Only calls that create messages count. Off by default; :meth:`clear_flood_limits` turns it off."""
        self._flood = {
            "group": (per_group_per_minute, 60.0),
            "private": (per_private_chat_per_second, 1.0),
            "global": (global_per_second, 1.0),
        }
        self._flood_log.clear()

    def clear_flood_limits(self) -> None:
        self._flood = {}
        self._flood_log.clear()

    def _flood_check(self, method: str, chat_id: int | None) -> ApiError | None:
        if not self._flood or method not in REGISTRY.creating_messages:
            return None
        now = time.monotonic()
        chat = self.chats.get(chat_id) if chat_id is not None else None
        keys: list[tuple[str, int | None]] = [("global", None)]
        if chat is not None:
            keys.append(("private" if chat.type == "private" else "group", chat.id))
        wait = 0.0
        for kind, cid in keys:
            limit, window = self._flood.get(kind, (None, 0.0))
            if not limit:
                continue
            stamps = self._flood_log.setdefault((kind, cid), [])
            stamps[:] = [t for t in stamps if now - t < window]
            if len(stamps) >= limit:
                wait = max(wait, window - (now - stamps[-limit]))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            return ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for kind, cid in keys:
            if self._flood.get(kind, (None, 0.0))[0]:
                self._flood_log.setdefault((kind, cid), []).append(now)
        return None
