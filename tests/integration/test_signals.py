"""Long-running commands stop on SIGINT and SIGTERM even when started with SIGINT ignored (issue #13, point 8).

A background job of a shell script (``cmd &``, ``nohup cmd``) starts with SIGINT ignored; Python's
KeyboardInterrupt then never comes. Each command must install its own handlers. (``steward run``
has them already: aiogram's polling and bot/webhook.py install loop handlers for both signals.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _like_a_background_job() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=ENV,
        cwd=str(ROOT),
        preexec_fn=_like_a_background_job,
    )


async def _stop(process: asyncio.subprocess.Process, sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"the process did not stop on signal {sig}") from None
    return int(process.returncode or 0), out.decode()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_sandbox_stops_on_a_signal_when_started_in_the_background(sig: int) -> None:
    process = await _start("-m", "bot.sandbox", "--port", "0")
    assert process.stdout is not None
    line = ""
    while "Sandbox Bot API on http://127.0.0.1:" not in line:
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line, "the sandbox exited before serving"
    code, _ = await _stop(process, sig)
    assert code == 0


@pytest.mark.slow
async def test_demo_stops_on_sigint_when_started_in_the_background(tmp_path: Path) -> None:
    process = await _start("-m", "bot", "demo", "--fast", "--out", str(tmp_path / "demo"))
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert first.strip()
    code, out = await _stop(process, signal.SIGINT)
    assert code == 130 and "stopped by a signal" in out, out[-500:]
