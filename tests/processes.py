"""Start the real bot (``python -m bot run``) as a child process against a sandbox in the test process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "config.example.toml"


def steward_env(api_base: str, db: Path, token: str, **settings: str) -> dict[str, str]:
    """This process's environment without any STEWARD_* setting or BOT_TOKEN of its own, pointed at the sandbox
    and ``db``; ``settings`` are more ``STEWARD_<SECTION>__<KEY>`` variables (the prefix is added)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_") and k != "BOT_TOKEN"}
    env.update(
        {
            "STEWARD_TELEGRAM__API_BASE": api_base,
            "BOT_TOKEN": token,
            "STEWARD_DATABASE__PATH": str(db),
            "STEWARD_TELEGRAM__POLLING_TIMEOUT": "1",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update({f"STEWARD_{name}": value for name, value in settings.items()})
    return env


async def start_steward(
    env: dict[str, str],
    *,
    config: Path | None = None,
    stdout: int | IO[Any] | None = asyncio.subprocess.DEVNULL,
    stderr: int | IO[Any] | None = asyncio.subprocess.STDOUT,
) -> asyncio.subprocess.Process:
    """``python -m bot run`` (with ``--config config`` when given) from the repository root."""
    args = ["-m", "bot", "run", *(["--config", str(config)] if config is not None else [])]
    return await asyncio.create_subprocess_exec(sys.executable, *args, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)


class BotProcesses:
    """The bot's successive processes (one life after another), all writing to one log file."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.started: list[asyncio.subprocess.Process] = []

    async def start(self, env: dict[str, str]) -> asyncio.subprocess.Process:
        with self.log.open("ab") as out:
            process = await start_steward(env, stdout=out)
        self.started.append(process)
        return process

    async def kill_the_living(self) -> None:
        for process in self.started:
            if process.returncode is None:
                process.kill()
                await process.wait()


@asynccontextmanager
async def bot_processes(log: Path) -> AsyncIterator[BotProcesses]:
    """Start bot processes in the block; any still running when it ends is killed."""
    processes = BotProcesses(log)
    try:
        yield processes
    finally:
        await processes.kill_the_living()
