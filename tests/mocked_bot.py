"""A Bot whose session answers from a queue instead of the network.

Adapted from aiogram's own ``tests/mocked_bot.py`` (https://github.com/aiogram/aiogram,
MIT licence, Copyright (c) 2017-present Alex Root Junior). Differences:

* FIFO: responses are consumed and requests returned in the order they happened
  (aiogram's version pops from the right);
* ``add_error`` queues an exception (timeouts, network errors) instead of an answer;
* ``auto_respond=True`` answers calls that have no queued response with a plausible
  result (a ``Message`` with a fresh id for send methods, ``True`` otherwise);
* ``on_request`` is called with every method as it is sent (tests record fake time);
* every request is also kept in ``session.journal``.

It works with ``Dispatcher.feed_update(bot, update)``: ``bot.me()`` is answered locally.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Chat, Message, ResponseParameters, Update, User

ErrorFactory = Callable[[TelegramMethod[Any]], BaseException]


class MockedSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.responses: deque[Response[Any] | ErrorFactory] = deque()
        self.requests: deque[TelegramMethod[Any]] = deque()
        self.journal: list[TelegramMethod[Any]] = []
        self.closed = True
        self.auto_respond = False
        self.on_request: Callable[[TelegramMethod[Any]], None] | None = None
        self._message_ids = itertools.count(1)

    def add_result(self, response: Response[Any]) -> Response[Any]:
        self.responses.append(response)
        return response

    def add_error(self, factory: ErrorFactory) -> None:
        self.responses.append(factory)

    def get_request(self) -> TelegramMethod[Any]:
        """The oldest request not yet taken."""
        return self.requests.popleft()

    async def close(self) -> None:
        self.closed = True

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,
    ) -> TelegramType:
        self.closed = False
        self.requests.append(method)
        self.journal.append(method)
        if self.on_request is not None:
            self.on_request(method)
        if self.responses:
            response = self.responses.popleft()
        elif self.auto_respond:
            response = self.auto_response(method)
        else:
            raise AssertionError(f"MockedSession: no response queued for {type(method).__name__}")
        if not isinstance(response, Response):
            raise response(method)
        self.check_response(
            bot=bot,
            method=method,
            status_code=response.error_code or 200,
            content=response.model_dump_json(),
        )
        return response.result  # type: ignore[return-value]

    def auto_response(self, method: TelegramMethod[Any]) -> Response[Any]:
        returning = getattr(method, "__returning__", None)
        if returning is Message:
            chat_id = getattr(method, "chat_id", 0)
            result: Any = make_message(
                next(self._message_ids),
                chat_id if isinstance(chat_id, int) else 0,
                text=getattr(method, "text", None),
                thread_id=getattr(method, "message_thread_id", None),
            )
            if (message_id := getattr(method, "message_id", None)) is not None:  # edits
                result = result.model_copy(update={"message_id": message_id})
            return Response[Message](ok=True, result=result)
        return Response[Any](ok=True, result=True)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # pragma: no cover
        yield b""


class MockedBot(Bot):
    if TYPE_CHECKING:
        session: MockedSession

    def __init__(self, *, auto_respond: bool = False, **kwargs: Any) -> None:
        super().__init__(kwargs.pop("token", "42:TEST"), session=MockedSession(), **kwargs)
        self.session.auto_respond = auto_respond
        self._me = User(
            id=self.id,
            is_bot=True,
            first_name="Steward",
            username="steward_test_bot",
            language_code="en",
        )

    def add_result_for(
        self,
        method: type[TelegramMethod[TelegramType]],
        ok: bool,
        result: TelegramType | None = None,
        description: str | None = None,
        error_code: int = 200,
        migrate_to_chat_id: int | None = None,
        retry_after: int | None = None,
    ) -> Response[TelegramType]:
        parameters = None
        if migrate_to_chat_id is not None or retry_after is not None:
            parameters = ResponseParameters(migrate_to_chat_id=migrate_to_chat_id, retry_after=retry_after)
        response = Response[method.__returning__](  # type: ignore[name-defined]
            ok=ok,
            result=result,
            description=description,
            error_code=error_code,
            parameters=parameters,
        )
        return self.session.add_result(response)

    def add_error(self, factory: ErrorFactory) -> None:
        """Queue an exception, e.g. ``bot.add_error(network_error())``."""
        self.session.add_error(factory)

    def get_request(self) -> TelegramMethod[Any]:
        """The oldest request not yet taken."""
        return self.session.get_request()


def network_error(message: str = "ClientConnectorError: connection reset") -> ErrorFactory:
    def factory(method: TelegramMethod[Any]) -> BaseException:
        return TelegramNetworkError(method=method, message=message)

    return factory


def timeout_error() -> ErrorFactory:
    def factory(method: TelegramMethod[Any]) -> BaseException:
        return TimeoutError()

    return factory


def make_chat(chat_id: int, *, title: str = "Test group", is_forum: bool = False) -> Chat:
    if chat_id > 0:
        return Chat(id=chat_id, type="private", first_name="Member")
    kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
    return Chat(id=chat_id, type=kind, title=title, is_forum=is_forum or None)


def make_user(user_id: int, *, first_name: str = "Member", username: str | None = None) -> User:
    return User(id=user_id, is_bot=False, first_name=first_name, username=username)


def make_message(
    message_id: int,
    chat_id: int,
    *,
    text: str | None = "ok",
    thread_id: int | None = None,
    date: datetime | None = None,
    from_user: User | None = None,
) -> Message:
    """A minimal message as the Bot API returns it for send methods (or, with
    ``from_user``, as a member sends it)."""
    return Message(
        message_id=message_id,
        date=date or datetime.now(UTC),
        chat=make_chat(chat_id),
        text=text,
        message_thread_id=thread_id,
        is_topic_message=True if thread_id is not None else None,
        from_user=from_user,
    )


_update_ids = itertools.count(1)


def message_update(
    chat_id: int,
    user_id: int,
    text: str,
    *,
    message_id: int = 1,
    thread_id: int | None = None,
    update_id: int | None = None,
) -> Update:
    """An Update for ``Dispatcher.feed_update(bot, update)``."""
    message = make_message(message_id, chat_id, text=text, thread_id=thread_id, from_user=make_user(user_id))
    return Update(update_id=update_id if update_id is not None else next(_update_ids), message=message)
