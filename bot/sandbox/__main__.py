"""``python -m bot.sandbox --port 8081``: serve a sandbox Bot API until Ctrl-C, SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from bot.sandbox.api import SandboxBotAPI
from bot.signals import stop_signal_handlers


def _scripted_group(api: SandboxBotAPI) -> None:
    api.add_user(1001, "Ann", "ann", started=True)
    api.add_user(1002, "Ben", "ben", language_code="ru")
    api.add_group(-1001234567890, "Sandbox club", owner_id=1001, members=[1002])
    api.add_bot_to_group(-1001234567890, by_user_id=1001)


async def _chatter(api: SandboxBotAPI, interval: float) -> None:
    lines = [
        (1001, "Hi all! When does the next meetup start?"),
        (1002, "I think it's on Friday, but the link doesn't work for me"),
        (1001, "/help"),
    ]
    i = 0
    while True:
        await asyncio.sleep(interval)
        user_id, text = lines[i % len(lines)]
        api.send_message(-1001234567890, user_id, text)
        i += 1


async def _serve(host: str, port: int, token: str, demo: bool, interval: float) -> None:
    stop = asyncio.Event()
    # Our own handlers, installed before we say we are ready: a background job (``&``, nohup) starts with
    # SIGINT ignored (bot.signals), and a signal sent right after the ready line must still stop us.
    with stop_signal_handlers(stop.set):
        api = SandboxBotAPI(token=token)
        await api.start(host, port)
        tasks: list[asyncio.Task[None]] = []
        try:
            print(
                f"Sandbox Bot API on {api.base_url}  (bot token {api.token}; any '<digits>:<secret>' token works)",
                flush=True,
            )
            print(f"  STEWARD_TELEGRAM__API_BASE={api.base_url} BOT_TOKEN={api.token} steward run ...", flush=True)
            if demo:
                _scripted_group(api)
                tasks.append(asyncio.create_task(_chatter(api, interval)))
                print(
                    f"  demo: group -1001234567890 with Ann (1001) and Ben (1002); a message every {interval:g}s",
                    flush=True,
                )
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await api.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:SANDBOX-token", help="the bot identity getMe reports")
    parser.add_argument("--demo", action="store_true", help="add a small group whose members chat")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between demo messages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.token, args.demo, args.interval))


if __name__ == "__main__":
    main()
