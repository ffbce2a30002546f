"""Files: what a send call attaches (an upload, a URL or a file_id), the media objects messages carry, and
``getFile`` (the bytes are served at ``/file/bot<token>/<file_path>``)."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.methods.registry import Family
from bot.sandbox.params import Ctx, Params, Upload
from bot.sandbox.state import JSON

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


METHODS = Family("files")


def file_for(sb: SandboxCore, ctx: Ctx, kind: str, value: Any) -> JSON:
    """Register the file a send call refers to (upload, URL or file_id) and return its info."""
    if isinstance(value, str) and value.startswith("attach://"):
        value = ctx.uploads.get(value[len("attach://") :])
        if value is None:
            raise ApiError(400, f"Bad Request: wrong remote file identifier specified: can't find {kind}")
    if isinstance(value, Upload):
        info = new_file(sb, kind, name=value.filename, data=value.data, mime=value.content_type)
        sb.uploads.append((value.filename, value.data))
        return info
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"Bad Request: there is no {kind} in the request")
    if value in sb.files:
        return sb.files[value]
    if re.match(r"^https?://", value):
        name = value.rstrip("/").rsplit("/", 1)[-1] or kind
        return new_file(sb, kind, name=name, url=value)
    return new_file(sb, kind, name=None, file_id=value)


def new_file(
    sb: SandboxCore,
    kind: str,
    *,
    name: str | None,
    data: bytes | None = None,
    url: str | None = None,
    mime: str | None = None,
    file_id: str | None = None,
) -> JSON:
    prefix = {"photo": "AgAC", "document": "BQAC", "video": "BAAC", "sticker": "CAAC"}.get(kind, "CQAC")
    fid = file_id or f"{prefix}{secrets.token_urlsafe(24)}"
    suffix = "." + name.rsplit(".", 1)[-1] if name and "." in name else ""
    info: JSON = {
        "kind": kind,
        "file_id": fid,
        "file_unique_id": f"AQAD{secrets.token_urlsafe(8)}",
        "file_name": name,
        "file_size": len(data) if data is not None else 1024,
        "mime_type": mime,
        "data": data,
        "url": url,
        "file_path": f"{kind}s/file_{len(sb.files)}{suffix}",
    }
    sb.files[fid] = info
    return info


def media_object(kind: str, info: JSON) -> Any:
    base = {
        "file_id": info["file_id"],
        "file_unique_id": info["file_unique_id"],
        "file_size": info["file_size"],
    }
    if kind == "photo":
        return [
            {**base, "file_id": info["file_id"], "width": 90, "height": 67},
            {**base, "width": 1280, "height": 960},
        ]
    obj = dict(base)
    if kind in ("document", "video", "audio", "animation"):
        if info.get("file_name"):
            obj["file_name"] = info["file_name"]
        if info.get("mime_type"):
            obj["mime_type"] = info["mime_type"]
    if kind in ("video", "animation", "video_note", "voice", "audio"):
        obj["duration"] = 1
    if kind in ("video", "animation"):
        obj.update(width=640, height=480)
    if kind == "video_note":
        obj["length"] = 240
    if kind == "sticker":
        obj.update(type="regular", width=512, height=512, is_animated=False, is_video=False)
    return obj


@METHODS.method("getFile")
async def get_file(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    info = sb.files.get(p.get_str("file_id") or "")
    if info is None:
        raise ApiError(400, "Bad Request: invalid file_id")
    return {
        "file_id": info["file_id"],
        "file_unique_id": info["file_unique_id"],
        "file_size": info["file_size"],
        "file_path": info["file_path"],
    }
