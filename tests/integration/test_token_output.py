"""`steward check` and `steward run` never print the token, whatever the error (issue #13, point 4).

The Bot API address answers every request with a redirect to itself, so aiohttp gives up with
TooManyRedirects, and the exception's text carries the request URL: /bot<token>/method.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.local_server import serve

TOKEN = "123456789:AAHsecretsecretsecretsecretsecret12"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def redirect_loop() -> AsyncIterator[str]:
    async def again(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(str(request.url))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", again)
    runner, port = await serve(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _steward(tmp_path: Path, api_base: str, *args: str) -> tuple[int, str]:
    config = tmp_path / "steward.toml"
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\napi_base = "{api_base}"\n[database]\npath = "{tmp_path / "s.db"}"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=str(ROOT),
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), out.decode()


@pytest.mark.slow
async def test_check_does_not_print_the_token(tmp_path: Path, redirect_loop: str) -> None:
    code, out = await _steward(tmp_path, redirect_loop, "check")
    assert code == 1
    assert "cannot reach the Bot API: TooManyRedirects" in out
    assert TOKEN not in out and "AAHsecret" not in out
    assert "/bot<redacted>/getMe" in out


@pytest.mark.slow
async def test_run_does_not_print_the_token(tmp_path: Path, redirect_loop: str) -> None:
    # -v: the redacted traceback is printed too, so both the log path and the error line are covered.
    code, out = await _steward(tmp_path, redirect_loop, "run", "-v")
    assert code == 1
    assert "Traceback" in out and "TooManyRedirects" in out
    assert "steward: run failed: TelegramNetworkError" in out
    assert TOKEN not in out and "AAHsecret" not in out
