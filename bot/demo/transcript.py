"""A readable account of the demo: who said what in which chat, and what the bot did.

People's lines are printed when the script acts; the bot's lines come from the sandbox's journal of Bot
API calls (what Telegram would have received), so nothing here is made up.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import Any, TextIO

from bot.sandbox import Call, SandboxBotAPI

_TAG = re.compile(r"<[^>]+>")
_QUIET = frozenset(
    {
        "getupdates", "getme", "deletewebhook", "getchatadministrators", "getchat", "getchatmember",
        "setmycommands", "getmycommands", "sendchataction", "setwebhook", "getwebhookinfo", "close", "logout",
    }
)  # fmt: skip
WIDTH = 110


def plain(text: str) -> str:
    """Telegram HTML → plain text for the terminal."""
    return html.unescape(_TAG.sub("", text or ""))


def _clip(line: str, width: int = WIDTH) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


class Transcript:
    def __init__(self, sandbox: SandboxBotAPI, out: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.sandbox = sandbox
        self.out = out
        self.names: dict[int, str] = {}
        self.chats: dict[int, str] = {}
        self._seen = 0
        self._clock = clock
        self._started = clock()
        self.problems: list[str] = []
        self.missing: list[str] = []

    # --- printing ------------------------------------------------------------------------

    def _print(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    def _stamp(self) -> str:
        return f"{self._clock() - self._started:5.1f}s"

    def section(self, title: str) -> None:
        self.flush_bot()
        self._print()
        self._print(f"── {title} " + "─" * max(3, 72 - len(title)))

    def where(self, chat_id: int) -> str:
        if chat_id > 0:
            return f"DM {self.names.get(chat_id, chat_id)}"
        return self.chats.get(chat_id, str(chat_id))

    def said(self, message: dict[str, Any], *, note: str = "") -> None:
        """A person's message (the sandbox's stored message)."""
        self.flush_bot()
        chat_id = int(message["chat"]["id"])
        who = self.names.get(int(message.get("from", {}).get("id", 0)), message.get("from", {}).get("first_name", "?"))
        text = message.get("text") or message.get("caption") or ""
        reply = message.get("reply_to_message") or {}
        to = ""
        if reply and not reply.get("forum_topic_created"):
            to = f" (↩ {self.names.get(int(reply.get('from', {}).get('id', 0)), 'Steward')})"
        extra = f"  [{note}]" if note else ""
        self._print(_clip(f"{self._stamp()} [{self.where(chat_id)}] {who}{to}: {text}{extra}"))

    def event(self, text: str) -> None:
        self.flush_bot()
        self._print(_clip(f"{self._stamp()} · {text}"))

    def ok(self, text: str) -> None:
        self.flush_bot()
        self._print(_clip(f"       ✓ {text}"))

    def fail(self, text: str) -> None:
        self.flush_bot()
        self.problems.append(text)
        self._print(_clip(f"       ✗ {text}"))

    def absent(self, feature: str, why: str) -> None:
        self.flush_bot()
        self.missing.append(feature)
        self._print(_clip(f"       ⚠ not in this build: {feature} ({why})"))

    # --- the bot's side, from the journal ----------------------------------------------------

    def flush_bot(self) -> None:
        journal = self.sandbox.journal
        for call in journal[self._seen :]:
            line = self._describe(call)
            if line:
                self._print(_clip(f"{self._stamp()} {line}"))
        self._seen = len(journal)

    def _describe(self, call: Call) -> str | None:
        method = call.method.lower()
        if method in _QUIET:
            return None
        p = call.params
        where = self.where(call.chat_id) if call.chat_id is not None else "?"
        if not call.ok:
            return f"[{where}] Steward ✗ {call.method} failed: {call.description}"
        if method == "sendmessage":
            lines = [ln for ln in plain(str(p.get("text", ""))).splitlines() if ln.strip()]
            head = lines[0] if lines else ""
            more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
            reply = ""
            rp = p.get("reply_parameters")
            if isinstance(rp, dict) and rp.get("message_id"):
                reply = " ↩"
            return f"[{where}] 🤖 Steward{reply}: {head}{more}{self._buttons(p)}"
        if method == "edittextmessage" or method == "editmessagetext":
            head = next((ln for ln in plain(str(p.get("text", ""))).splitlines() if ln.strip()), "")
            return f"[{where}] 🤖 Steward ✎ updates message {p.get('message_id')}: {head}{self._buttons(p)}"
        if method == "editmessagereplymarkup":
            return f"[{where}] 🤖 Steward ✎ updates the buttons of message {p.get('message_id')}{self._buttons(p)}"
        if method == "sendphoto":
            caption = plain(str(p.get("caption") or "")).splitlines()
            return f"[{where}] 🤖 Steward 🖼 chart{': ' + caption[0] if caption else ''}"
        if method == "senddocument":
            return f"[{where}] 🤖 Steward 📎 file"
        if method == "answercallbackquery":
            text = p.get("text")
            return f"         (button answered: {plain(str(text))})" if text else None
        if method == "createchatinvitelink":
            return f"[{where}] 🤖 Steward creates the invite link '{p.get('name')}'"
        if method in ("pinchatmessage", "unpinchatmessage", "deletemessage", "createforumtopic"):
            return f"[{where}] 🤖 Steward {call.method} {p.get('message_id', p.get('name', ''))}"
        return f"[{where}] 🤖 Steward {call.method}"

    @staticmethod
    def _buttons(params: dict[str, Any]) -> str:
        markup = params.get("reply_markup")
        if not isinstance(markup, dict):
            return ""
        rows = markup.get("inline_keyboard") or []
        labels = [str(b.get("text", "")) for row in rows for b in row]
        return f"  [{' | '.join(labels)}]" if labels else ""
