"""The bot itself: ``getMe``, ``close``/``logOut`` and the command menus."""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any

from bot.sandbox.faults import ApiError
from bot.sandbox.methods.registry import Family
from bot.sandbox.params import Ctx, Params

if TYPE_CHECKING:
    from bot.sandbox.core import SandboxCore


METHODS = Family("the bot")


@METHODS.method("close", "logOut")
async def ok(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    return True


@METHODS.method("getMe")
async def get_me(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    return {
        **sb.bot_user(ctx.bot_id),
        "can_join_groups": sb.can_join_groups,
        "can_read_all_group_messages": sb.can_read_all_group_messages,
        "supports_inline_queries": sb.supports_inline_queries,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _scope_key(p: Params) -> tuple[str, str]:
    scope = p.get_obj("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), p.get_str("language_code") or ""


@METHODS.method("setMyCommands")
async def set_my_commands(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    commands = p.get_obj("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
    for command in commands:
        name = str(command.get("command", ""))
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    sb.commands[_scope_key(p)] = copy.deepcopy(commands)
    return True


@METHODS.method("deleteMyCommands")
async def delete_my_commands(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    sb.commands.pop(_scope_key(p), None)
    return True


@METHODS.method("getMyCommands")
async def get_my_commands(sb: SandboxCore, ctx: Ctx, p: Params) -> Any:
    return copy.deepcopy(sb.commands.get(_scope_key(p), []))
