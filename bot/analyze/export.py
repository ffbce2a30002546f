"""Read a Telegram Desktop chat export (``result.json``, "Export chat history" → JSON).

The parts we use::

    {"name": "Club", "type": "public_supergroup", "id": 123,
     "messages": [
        {"id": 1, "type": "message", "date": "2026-11-02T10:15:00", "date_unixtime": "1793614500",
         "from": "Ann", "from_id": "user1001", "text": "plain text" | ["text", {"type": "bold", "text": "…"}],
         "reply_to_message_id": 0, "photo": "photos/…", "media_type": "sticker", ...},
        {"id": 2, "type": "service", "actor": "Ben", "actor_id": "user1002", "action": "join_group_by_link"}]}

Anything else is ignored. Missing or odd fields never crash the reader: a message without a usable
id or date is skipped and counted in :attr:`Export.skipped`. A file that is not an export at all raises
:class:`ExportError` with a one-line reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["JOIN_ACTIONS", "Export", "ExportError", "ExportMessage", "load_export", "parse_export", "plain_text"]

JOIN_ACTIONS = frozenset({"join_group_by_link", "invite_members", "join_group_by_request"})
LEAVE_ACTIONS = frozenset({"remove_members"})
MEDIA_KEYS = ("photo", "file", "media_type", "sticker_emoji", "poll", "location_information", "contact_information")


class ExportError(Exception):
    """The file cannot be read as a chat export; ``str(exc)`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class ExportMessage:
    id: int
    at: datetime  # timezone-aware, UTC
    author_id: str  # "user1001", "channel5", or "" when the export has none
    author: str  # display name ("" when unknown)
    text: str  # plain text ("" for media-only messages)
    reply_to: int | None = None
    media: bool = False
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    id: int
    at: datetime
    action: str
    actor_id: str
    members: tuple[str, ...] = ()


@dataclass(slots=True)
class Export:
    name: str
    chat_type: str
    messages: list[ExportMessage] = field(default_factory=list)
    events: list[ServiceEvent] = field(default_factory=list)
    skipped: int = 0  # entries without a usable id or date

    @property
    def joins(self) -> int:
        """People who joined or were added (per the service messages)."""
        return sum(
            max(1, len(e.members)) if e.action == "invite_members" else 1
            for e in self.events
            if e.action in JOIN_ACTIONS
        )

    @property
    def leaves(self) -> int:
        return sum(max(1, len(e.members)) for e in self.events if e.action in LEAVE_ACTIONS)


def plain_text(value: Any) -> str:
    """``text`` is a string, or a list of strings and entity dicts ({"type": "bold", "text": "…"})."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _when(item: dict[str, Any]) -> datetime | None:
    unix = _int(item.get("date_unixtime"))
    if unix is not None:
        return datetime.fromtimestamp(unix, UTC)
    raw = item.get("date")
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            return None
        # Older exports have only the exporter's local time; without a zone we read it as UTC.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def parse_export(data: Any) -> Export:
    """Build an :class:`Export` from the decoded JSON."""
    if not isinstance(data, dict):
        raise ExportError("not a Telegram chat export: the top level must be a JSON object")
    if "messages" not in data and isinstance(data.get("chats"), dict):
        raise ExportError(
            "this is a whole-account export; export one chat instead (chat menu → Export chat history → JSON)"
        )
    raw = data.get("messages")
    if not isinstance(raw, list):
        raise ExportError('not a Telegram chat export: no "messages" list (export the chat as JSON, not HTML)')
    export = Export(name=_str(data.get("name")) or "Telegram chat", chat_type=_str(data.get("type")))
    for item in raw:
        if not isinstance(item, dict):
            export.skipped += 1
            continue
        mid = _int(item.get("id"))
        at = _when(item)
        if mid is None or at is None:
            export.skipped += 1
            continue
        kind = item.get("type", "message")
        if kind == "service":
            export.events.append(_service_event(item, mid, at))
        elif kind == "message":
            export.messages.append(_message(item, mid, at))
        else:
            export.skipped += 1
    export.messages.sort(key=lambda m: (m.at, m.id))
    return export


def _service_event(item: dict[str, Any], mid: int, at: datetime) -> ServiceEvent:
    members = item.get("members")
    return ServiceEvent(
        id=mid,
        at=at,
        action=_str(item.get("action")),
        actor_id=_str(item.get("actor_id")),
        members=tuple(_str(m) for m in members) if isinstance(members, list) else (),
    )


def _message(item: dict[str, Any], mid: int, at: datetime) -> ExportMessage:
    reply_to = _int(item.get("reply_to_message_id"))
    text = plain_text(item.get("text"))
    if not text.strip():
        text = plain_text(item.get("caption"))
    return ExportMessage(
        id=mid,
        at=at,
        author_id=_str(item.get("from_id")),
        author=_str(item.get("from")),
        text=text.strip(),
        reply_to=reply_to if reply_to else None,
        media=any(item.get(key) for key in MEDIA_KEYS),
        forwarded=bool(item.get("forwarded_from")),
    )


def load_export(path: Path) -> Export:
    """Read and parse ``path``; every failure is an :class:`ExportError` with a one-line reason."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ExportError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ExportError(f"{path}: is a folder; pass the result.json inside it") from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ExportError(f"{path}: not UTF-8 text (is it the JSON export?)") from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    try:
        return parse_export(data)
    except ExportError as exc:
        raise ExportError(f"{path}: {exc}") from None
