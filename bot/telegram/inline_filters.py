"""The one place Steward reaches into aiogram's internals: magic (``F``) and ``State`` filters run inline.

Why: aiogram calls every synchronous filter through ``asyncio.to_thread``
(``aiogram.dispatcher.event.handler.CallableObject.call``), magic filters included: about 25 thread
hand-offs for each group message with our routers, a quarter of the dispatcher's CPU in
benchmarks/pipeline.py. A magic filter only reads attributes of the update (a State filter compares a
string), so it can run on the event loop.

What it touches: ``TelegramEventObserver._handler`` (the router-level filters) and ``.handlers``, and on
each ``FilterObject`` its ``callback``, ``awaitable`` and ``magic`` fields. aiogram is pinned below 4 in
pyproject.toml; tests/reliability/test_dispatch_overhead.py fails if any of these change shape, or if
aiogram stops sending synchronous filters to a thread (then this module can go).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Dispatcher
from aiogram.fsm.state import State


def _inline(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return call


def inline_magic_filters(dp: Dispatcher) -> int:
    """Evaluate ``F`` and FSM ``State`` filters on the event loop; returns how many were changed.

    Call it after the last ``include_router``.
    """
    changed = 0
    for router in dp.chain_tail:
        for observer in router.observers.values():
            for handler in [getattr(observer, "_handler", None), *observer.handlers]:
                for flt in (handler.filters or []) if handler is not None else []:
                    if not flt.awaitable and (flt.magic is not None or isinstance(flt.callback, State)):
                        flt.callback = _inline(flt.callback)
                        flt.awaitable = True
                        changed += 1
    return changed
