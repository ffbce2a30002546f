"""Sandbox Telegram Bot API: an in-process emulator over HTTP on 127.0.0.1.

Used by the tests (the real ``Dispatcher.start_polling`` talks to it through
``TelegramAPIServer.from_base(api.base_url)``), by ``steward demo``, and by fault and flood tests.
Run one by hand with ``python -m bot.sandbox --port 8081``.
"""

from bot.sandbox.api import SandboxBotAPI
from bot.sandbox.core import DEFAULT_UPDATE_TYPES
from bot.sandbox.faults import ApiError, Fault, Injection
from bot.sandbox.state import ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID, Call, ChatState, Member

__all__ = [
    "ANONYMOUS_ADMIN_ID",
    "CHANNEL_BOT_ID",
    "DEFAULT_UPDATE_TYPES",
    "ApiError",
    "Call",
    "ChatState",
    "Fault",
    "Injection",
    "Member",
    "SandboxBotAPI",
]
