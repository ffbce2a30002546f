"""``SandboxBotAPI``: the sandbox server plus helpers that act as Telegram users."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bot.sandbox.membership import Membership
from bot.sandbox.posting import Posting

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher
    from aiogram.types import Message

__all__ = ["SandboxBotAPI"]


class SandboxBotAPI(Membership, Posting):
    """An in-process Telegram Bot API over HTTP on 127.0.0.1, for tests and ``steward demo``.

    ::

        async with SandboxBotAPI() as api:
            api.add_user(1, "Ann")
            api.add_group(-1001, "Club", owner_id=1)
            api.add_bot_to_group(-1001, by_user_id=1)
            async with api.polling(dispatcher):
                api.send_message(-1001, 1, "hello")
                call = await api.wait_for("sendMessage", chat_id=-1001)

    The helpers below are synchronous: they change state, queue the updates the bot would get, and wake
    long polls. They raise ``ValueError``/``KeyError`` for actions real Telegram would not allow
    (posting in a chat one is not a member of, replying to a missing message).
    """

    async def __aenter__(self) -> SandboxBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ aiogram glue

    def make_bot(self, token: str | None = None, **kwargs: Any) -> Bot:
        """An aiogram ``Bot`` talking to this sandbox; close it with ``await bot.session.close()``."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        session = AiohttpSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(token or self.token, session=session, **kwargs)

    @contextlib.asynccontextmanager
    async def polling(
        self,
        dispatcher: Dispatcher,
        bot: Bot | None = None,
        *,
        polling_timeout: int = 1,
        start_timeout: float = 10.0,
        **kwargs: Any,
    ) -> AsyncIterator[Bot]:
        """Run the real ``dispatcher.start_polling(bot)`` as a task until the block ends, then
        ``stop_polling()`` it. Entering waits until the first ``getUpdates`` reached the sandbox. Without
        ``bot`` one is made with :meth:`make_bot` and its session closed at the end. Extra keyword arguments
        go to ``start_polling`` (``allowed_updates``, workflow data…)."""
        own = bot is None
        the_bot = self.make_bot() if bot is None else bot
        polls = self.poll_count
        task = asyncio.create_task(
            dispatcher.start_polling(
                the_bot,
                polling_timeout=polling_timeout,
                handle_signals=False,
                close_bot_session=own,
                **kwargs,
            )
        )
        try:
            await self._wait_polling_started(polls, task, start_timeout)
            yield the_bot
        finally:
            if not task.done():
                try:
                    await dispatcher.stop_polling()
                except RuntimeError:  # not started yet
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)

    async def _wait_polling_started(self, polls: int, task: asyncio.Task[Any], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.poll_count <= polls:
            if task.done():
                task.result()  # re-raise the polling failure
                raise RuntimeError("polling stopped before its first getUpdates")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("the dispatcher did not call getUpdates in time")
            await self._journal_changed.wait(min(remaining, 0.05))

    @staticmethod
    def as_message(message: Mapping[str, Any]) -> Message:
        """Parse a message dict (from :meth:`sent_messages`, :meth:`send_message`…) as an aiogram Message."""
        from aiogram.types import Message

        return Message.model_validate(dict(message))
