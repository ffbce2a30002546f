"""Scheduled posts as TOML: the file ``steward posts import`` reads and ``steward posts export`` writes.

The format (see docs/posts.md)::

    [[post]]
    chat = -1001234567890          # the community
    text = "Weekly digest is out"  # HTML
    at = "2026-12-01 10:00"        # local time in the community's timezone; or:
    # cron = "0 10 * * mon"        # or: every = "mon,thu 10:00"
    topic = 42                     # forum topic (optional)
    photo = "https://…"            # or document = "…" (file_id or URL, optional)
    buttons = [{ text = "Read", url = "https://…" }]   # one row; [[…], […]] for several rows
    pin = true
    unpin_after = 60               # minutes (pinned posts only)
    silent = true
    protect = true
    late = 30                      # minutes a missed post may still go out late
    timezone = "Europe/Berlin"     # overrides the community's timezone
    status = "paused"              # import as paused (export writes it for paused posts)

Import is all-or-nothing: every entry is checked first and each error names the entry and the field.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.domain.posts import PAUSED, Post
from bot.services.posts import PostError, PostService
from bot.services.schedule import ScheduleError

KNOWN_KEYS = {
    "chat",
    "text",
    "at",
    "cron",
    "every",
    "topic",
    "photo",
    "document",
    "buttons",
    "pin",
    "unpin_after",
    "silent",
    "protect",
    "late",
    "timezone",
    "status",
    "id",
}
EXPORT_STATUSES = ("pending", "paused", "uncertain", "failed", "missed")


class ImportError_(Exception):
    """Several problems in one file: ``errors`` lists one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _buttons(value: Any) -> list[list[dict[str, str]]]:
    if not isinstance(value, list):
        raise PostError("buttons: must be a list of { text, url } tables")
    rows: list[list[dict[str, str]]] = []
    flat = [value] if all(isinstance(v, dict) for v in value) else value
    for row in flat:
        if isinstance(row, dict):
            row = [row]
        if not isinstance(row, list):
            raise PostError("buttons: each row must be a list of { text, url } tables")
        out = []
        for button in row:
            if not isinstance(button, dict) or set(button) - {"text", "url"}:
                raise PostError('buttons: each button is { text = "…", url = "https://…" }')
            out.append({"text": str(button.get("text", "")), "url": str(button.get("url", ""))})
        rows.append(out)
    return rows


def _typed(entry: dict[str, Any], key: str, kind: type | tuple[type, ...], label: str) -> Any:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and kind is int:
        raise PostError(f"{key}: must be {label}")
    if not isinstance(value, kind):
        raise PostError(f"{key}: must be {label}")
    return value


async def entry_to_post(service: PostService, entry: Any, *, now: datetime) -> Post:
    """One [[post]] table → a validated Post (not stored). Raises PostError/ScheduleError naming the field."""
    if not isinstance(entry, dict):
        raise PostError("must be a table ([[post]])")
    unknown = sorted(set(entry) - KNOWN_KEYS)
    if unknown:
        raise PostError(f"{unknown[0]}: unknown field (known: {', '.join(sorted(KNOWN_KEYS))})")
    chat = _typed(entry, "chat", int, "a chat id (a number such as -1001234567890)")
    if chat is None:
        raise PostError("chat: missing (the community's chat id)")
    text = _typed(entry, "text", str, "a string") or ""
    schedules = [k for k in ("at", "cron", "every") if entry.get(k) is not None]
    if len(schedules) != 1:
        raise PostError(
            "at/cron/every: give exactly one of them"
            if schedules
            else "at: missing (or cron / every for a recurring post)"
        )
    key = schedules[0]
    when = _typed(entry, key, str, "a string")
    media_kind = None
    media = None
    if entry.get("photo") is not None and entry.get("document") is not None:
        raise PostError("photo/document: give at most one")
    for kind in ("photo", "document"):
        if entry.get(kind) is not None:
            media_kind, media = kind, _typed(entry, kind, str, "a file_id or URL")
    timezone = _typed(entry, "timezone", str, "an IANA timezone such as Europe/Berlin")
    status = _typed(entry, "status", str, "pending or paused")
    if status not in (None, "pending", PAUSED):
        raise PostError("status: only pending or paused can be imported")
    try:
        post = await service.build(
            chat_id=chat,
            text=text,
            when=when,
            thread_id=_typed(entry, "topic", int, "a forum topic id (a number)"),
            media_kind=media_kind,
            media=media,
            buttons=_buttons(entry["buttons"]) if entry.get("buttons") is not None else [],
            pin=bool(_typed(entry, "pin", bool, "true or false")),
            unpin_after_min=_typed(entry, "unpin_after", int, "a number of minutes"),
            silent=bool(_typed(entry, "silent", bool, "true or false")),
            protect=bool(_typed(entry, "protect", bool, "true or false")),
            lateness_min=_typed(entry, "late", int, "a number of minutes"),
            timezone=timezone,
            source="import",
        )
    except ScheduleError as exc:
        raise PostError(f"{key if 'timezone' not in str(exc) else 'timezone'}: {exc}") from None
    if key == "at" and post.due_at is not None and post.due_at < int(now.timestamp()) - 60:
        raise PostError(f"at: {when} is in the past")
    if status == PAUSED:
        post = post.with_(status=PAUSED)
    return post


async def parse_file(service: PostService, data: dict[str, Any], *, now: datetime) -> list[Post]:
    extra = sorted(set(data) - {"post"})
    errors: list[str] = [f"{key}: unknown top-level key (expected [[post]] tables)" for key in extra]
    entries = data.get("post", [])
    if not isinstance(entries, list):
        raise ImportError_(["post: must be [[post]] tables"])
    posts: list[Post] = []
    for number, entry in enumerate(entries, start=1):
        try:
            posts.append(await entry_to_post(service, entry, now=now))
        except (PostError, ScheduleError) as exc:
            errors.append(f"post {number}: {exc}")
    if errors:
        raise ImportError_(errors)
    return posts


def _toml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def post_to_toml(post: Post) -> str:
    lines = ["[[post]]", f"id = {post.id}", f"chat = {post.chat_id}"]
    if post.thread_id is not None:
        lines.append(f"topic = {post.thread_id}")
    lines.append(f"text = {_toml_str(post.text)}")
    if post.cron:
        lines.append(f"cron = {_toml_str(post.cron)}")
    elif post.at_local:
        lines.append(f"at = {_toml_str(post.at_local)}")
    lines.append(f"timezone = {_toml_str(post.timezone)}")
    if post.media_kind and post.media:
        lines.append(f"{post.media_kind} = {_toml_str(post.media)}")
    if post.buttons:
        rows = ", ".join(
            "[" + ", ".join(f"{{ text = {_toml_str(b['text'])}, url = {_toml_str(b['url'])} }}" for b in row) + "]"
            for row in post.buttons
        )
        lines.append(f"buttons = [{rows}]")
    for key, on in (("pin", post.pin), ("silent", post.silent), ("protect", post.protect)):
        if on:
            lines.append(f"{key} = true")
    if post.unpin_after_min:
        lines.append(f"unpin_after = {post.unpin_after_min}")
    lines.append(f"late = {post.lateness_s // 60}")
    if post.status != "pending":
        lines.append(f"# status: {post.status}" if post.status != PAUSED else 'status = "paused"')
    return "\n".join(lines) + "\n"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportError_([f"{path}: file not found"]) from None
    except UnicodeDecodeError:
        raise ImportError_([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ImportError_([f"{path}: not valid TOML: {exc}"]) from None
