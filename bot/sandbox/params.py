"""What one Bot API request carries: its parameters (typed access with Bot-API-like errors), its uploads,
and the context a method handler runs in."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.sandbox.faults import ApiError
from bot.sandbox.state import JSON

__all__ = ["JSON_FIELDS", "STRING_FIELDS", "TOKEN", "Ctx", "Params", "Upload", "coerce_form_value"]


TOKEN = re.compile(r"(\d+):[A-Za-z0-9_\-:.~]+")  # a bot token; group 1 is the bot's id

# Form fields that are plain strings even when they look like JSON ("123", "true").
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "name",
        "title",
        "description",
        "short_description",
        "callback_query_id",
        "url",
        "invite_link",
        "action",
        "emoji",
        "icon_custom_emoji_id",
        "language_code",
        "secret_token",
        "ip_address",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "custom_title",
        "file_id",
        "photo",
        "document",
        "video",
        "audio",
        "animation",
        "voice",
        "video_note",
        "sticker",
        "thumbnail",
        "certificate",
        "question",
        "address",
    }
)
# Fields that carry JSON even in a JSON body, where some clients still send them as strings.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
        "commands",
        "scope",
        "reaction",
        "media",
        "permissions",
        "message_ids",
        "options",
    }
)


class Upload:
    """A file that came in a multipart request."""

    def __init__(self, field: str, filename: str, data: bytes, content_type: str | None) -> None:
        self.field = field
        self.filename = filename
        self.data = data
        self.content_type = content_type

    def describe(self) -> JSON:
        return {"upload": self.filename, "size": len(self.data)}


class Ctx:
    """Who called which method (its canonical name), with the files the request uploaded."""

    def __init__(self, bot_id: int, method: str, uploads: dict[str, Upload]) -> None:
        self.bot_id = bot_id
        self.method = method
        self.uploads = uploads


class Params:
    """Typed access to request parameters with Bot-API-like error wording."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def has(self, key: str) -> bool:
        return self.raw.get(key) not in (None, "")

    def get(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    def get_int(self, key: str, *, required: bool = False) -> int | None:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                raise ApiError(400, f"Bad Request: {key} is empty")
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise ApiError(400, f"Bad Request: invalid {key} specified")

    def req_int(self, key: str) -> int:
        value = self.get_int(key, required=True)
        assert value is not None
        return value

    def get_str(self, key: str, default: str | None = None) -> str | None:
        value = self.raw.get(key)
        if value is None:
            return default
        if isinstance(value, Upload):
            return f"attach://{value.field}"
        return value if isinstance(value, str) else json.dumps(value)

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def get_obj(self, key: str) -> Any:
        value = self.raw.get(key)
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from exc
        return value


def coerce_form_value(key: str, value: str) -> Any:
    if key in STRING_FIELDS:
        return value
    if key == "chat_id" or key == "from_chat_id":
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    try:
        return json.loads(value)
    except ValueError:
        return value
