from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.check import run_check
from bot.config import Settings
from bot.sandbox import SandboxBotAPI
from bot.storage.communities import CommunityRepository
from bot.storage.db import Database
from tests.builders import add_supergroup

TOKEN = "123456:TEST"


async def test_check_reports_config_database_and_rights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with SandboxBotAPI(token=TOKEN) as sandbox:
        sandbox.add_user(1, "Owner")
        sandbox.add_group(-1001, "Admin group", owner_id=1)
        sandbox.add_group(-1002, "Member group", owner_id=1)
        sandbox.add_member(-1001, sandbox.bot_id, status="administrator")
        sandbox.add_member(-1002, sandbox.bot_id, status="member")
        db = Database(tmp_path / "s.db")
        await db.open()
        repo = CommunityRepository(db)
        for chat_id, title in ((-1001, "Admin group"), (-1002, "Member group")):
            await add_supergroup(repo, chat_id, title)
        await db.close()
        settings = Settings(
            telegram={"token": TOKEN, "api_base": sandbox.base_url}, database={"path": str(tmp_path / "s.db")}
        )
        code = await run_check(settings, None)
    out = capsys.readouterr().out
    assert code == 1  # the member-only group cannot read messages with privacy mode on
    assert "ok    Admin group: admin" in out
    assert "FAIL  Member group: cannot read messages" in out
    assert "integrity check: ok" in out
    assert TOKEN not in out


async def test_check_without_token_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database={"path": str(tmp_path / "s.db")})
    assert await run_check(settings, None) == 1
    assert "telegram.token is missing" in capsys.readouterr().out
