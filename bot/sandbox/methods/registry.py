"""How the Bot API methods the sandbox serves are registered: each family module owns a :class:`Family`
and decorates its handlers; :data:`bot.sandbox.methods.REGISTRY` gathers every family into one table
that :meth:`bot.sandbox.core.SandboxCore.call` and the HTTP front dispatch through.

A handler is ``async def handler(sandbox, ctx, params) -> result``: ``sandbox`` the
:class:`~bot.sandbox.core.SandboxCore` whose state it reads and changes, ``ctx`` the caller and uploads,
``params`` the request's parameters. It returns the method's ``result`` or raises
:class:`~bot.sandbox.faults.ApiError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.sandbox.params import Ctx, Params

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore

__all__ = ["Family", "Handler", "Registry"]

Handler = Callable[["SandboxCore", Ctx, Params], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Entry:
    name: str  # as the Bot API spells it ("sendMessage")
    handler: Handler
    creates_messages: bool  # counts against the opt-in flood limits


class Family:
    """The methods of one module (messages, chats, forum topics…), before they join the registry."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.entries: list[Entry] = []

    def method(self, *names: str, creates_messages: bool = False) -> Callable[[Handler], Handler]:
        """Register the decorated handler under each Bot API method name in ``names``."""

        def register(handler: Handler) -> Handler:
            self.entries.extend(Entry(name, handler, creates_messages) for name in names)
            return handler

        return register


class Registry:
    """Every method the sandbox serves, looked up case-insensitively like the Bot API does."""

    def __init__(self, families: Iterable[Family]) -> None:
        self._entries: dict[str, Entry] = {}
        for family in families:
            for entry in family.entries:
                key = entry.name.lower()
                if key in self._entries:
                    raise ValueError(f"Bot API method {entry.name} registered twice ({family.title})")
                self._entries[key] = entry
        self.names: list[str] = sorted(entry.name for entry in self._entries.values())
        self.creating_messages: frozenset[str] = frozenset(e.name for e in self._entries.values() if e.creates_messages)

    def lookup(self, method: str) -> Entry | None:
        return self._entries.get(method.lower())
