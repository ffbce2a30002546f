"""Fault injection for the sandbox Bot API: what to answer instead of (or before) the real result."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ApiError", "Fault", "Injection"]

FaultKind = Literal["error", "timeout", "delay"]


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": …, "description": …, "parameters": …}``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour. Build it with the class methods, e.g. ``Fault.retry_after(3)``.

    * ``error`` faults answer with ``error_code``/``description``/``parameters`` instead of running the method
      (the call has no effect on state, like a real rejected call);
    * ``timeout`` hangs ``seconds`` and then drops the connection (``then="drop"``, the client sees a network
      error, or its own request timeout fires first) or runs the call normally (``then="respond"``);
    * ``delay`` waits ``seconds`` and then runs the call normally (a slow but successful reply).
    """

    kind: FaultKind
    error_code: int = 0
    description: str = ""
    parameters: dict[str, Any] | None = None
    seconds: float = 0.0
    then: Literal["drop", "respond"] = "drop"

    @classmethod
    def retry_after(cls, seconds: int) -> Fault:
        return cls(
            "error",
            429,
            f"Too Many Requests: retry after {seconds}",
            {"retry_after": int(seconds)},
        )

    @classmethod
    def forbidden(cls, description: str = "Forbidden: bot was kicked from the group chat") -> Fault:
        if not description.startswith("Forbidden"):
            description = f"Forbidden: {description}"
        return cls("error", 403, description)

    @classmethod
    def bad_request(cls, description: str = "Bad Request: chat not found") -> Fault:
        if not description.startswith("Bad Request"):
            description = f"Bad Request: {description}"
        return cls("error", 400, description)

    @classmethod
    def migrate(cls, migrate_to_chat_id: int) -> Fault:
        return cls(
            "error",
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": migrate_to_chat_id},
        )

    @classmethod
    def server_error(cls, code: int = 502, description: str | None = None) -> Fault:
        default = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(code, "Internal Server Error")
        return cls("error", code, description or default)

    @classmethod
    def error(cls, code: int, description: str, parameters: dict[str, Any] | None = None) -> Fault:
        return cls("error", code, description, parameters)

    @classmethod
    def timeout(cls, seconds: float, *, then: Literal["drop", "respond"] = "drop") -> Fault:
        return cls("timeout", seconds=seconds, then=then)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls("delay", seconds=seconds)

    def api_error(self) -> ApiError:
        return ApiError(self.error_code, self.description, dict(self.parameters) if self.parameters else None)


@dataclass
class Injection:
    """A registered fault rule. Matching calls are counted; the rule fires on matching call number
    ``after + 1``, then every ``every``-th one, ``times`` times in all (``None``: forever), while
    ``time.monotonic() < until`` (if set). A ``schedule`` rule instead walks its list, one entry per matching
    call (``None`` entries let the call through), and is spent at the end of the list."""

    method: str
    fault: Fault | None
    chat_id: int | None = None
    times: int | None = 1
    every: int = 1
    after: int = 0
    until: float | None = None
    schedule: Sequence[Fault | None] | None = None
    seen: int = 0
    fired: int = 0
    cancelled: bool = False
    history: list[float] = field(default_factory=list)

    @property
    def active(self) -> bool:
        if self.cancelled:
            return False
        if self.until is not None and time.monotonic() >= self.until:
            return False
        if self.schedule is not None:
            return self.seen < len(self.schedule)
        return self.times is None or self.fired < self.times

    def cancel(self) -> None:
        self.cancelled = True

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method != "*" and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def take(self) -> Fault | None:
        """Count one matching call and return the fault to apply to it, if any."""
        self.seen += 1
        if self.schedule is not None:
            fault = self.schedule[self.seen - 1]
        else:
            n = self.seen - self.after
            fault = self.fault if n >= 1 and (n - 1) % max(self.every, 1) == 0 else None
        if fault is not None:
            self.fired += 1
            self.history.append(time.monotonic())
        return fault
