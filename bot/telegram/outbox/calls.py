"""Building Bot API calls from the services' plain types: keyboards, replies, and the parts of a long text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters, WebAppInfo

from bot.domain import Button, Keyboard
from bot.telegram.split import utf16_len, visible_html_len

__all__ = ["Look", "keyboard_markup", "reply_parameters", "text_len", "text_steps"]


def keyboard_markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """Convert a plain keyboard. Raises ``ValueError`` for a malformed one."""
    if keyboard is None:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for row in keyboard:
        buttons: list[InlineKeyboardButton] = []
        for button in row:
            buttons.append(_button(button))
        if buttons:
            rows.append(buttons)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _button(button: Button) -> InlineKeyboardButton:
    if not button.text:
        raise ValueError("a button needs a text")
    if [button.url, button.callback_data, button.web_app].count(None) != 2:
        raise ValueError(f"button {button.text!r} needs exactly one of url, callback_data and web_app")
    if button.callback_data is not None and not 1 <= len(button.callback_data.encode()) <= 64:
        raise ValueError(f"callback data of button {button.text!r} must be 1-64 bytes")
    web_app = WebAppInfo(url=button.web_app) if button.web_app is not None else None
    return InlineKeyboardButton(text=button.text, url=button.url, callback_data=button.callback_data, web_app=web_app)


def reply_parameters(reply_to: int | None) -> ReplyParameters | None:
    if reply_to is None:
        return None
    return ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)


def text_len(text: str, parse_mode: str | None) -> int:
    if parse_mode is not None and parse_mode.lower() == "html":
        return visible_html_len(text)
    return utf16_len(text)


@dataclass(frozen=True, slots=True)
class Look:
    """What every part of one outgoing message shares: its topic, formatting, sound and protection."""

    thread_id: int | None
    parse_mode: str | None
    silent: bool
    protect: bool

    def fields(self) -> dict[str, Any]:
        """As keyword arguments of a Bot API send method."""
        return {
            "message_thread_id": self.thread_id,
            "parse_mode": self.parse_mode,
            "disable_notification": self.silent,
            "protect_content": self.protect,
        }


def text_steps(
    chat_id: int,
    parts: Sequence[str],
    look: Look,
    *,
    reply_to: int | None,
    markup: InlineKeyboardMarkup | None,
    disable_preview: bool,
) -> list[TelegramMethod[Any]]:
    """One sendMessage per part: only the first is a reply, only the last carries the keyboard."""
    last = len(parts) - 1
    return [
        SendMessage(
            chat_id=chat_id,
            text=part,
            **look.fields(),
            link_preview_options=LinkPreviewOptions(is_disabled=disable_preview),
            reply_parameters=reply_parameters(reply_to) if i == 0 else None,
            reply_markup=markup if i == last else None,
        )
        for i, part in enumerate(parts)
    ]
