"""Turn the hand-written thread files (dev.txt, test.txt) into JSON lines (dev.jsonl, test.jsonl).

Usage: ``python benchmarks/data/escalation_threads/build.py`` (rewrites the .jsonl files next to it).
The format of the .txt files is described in README.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NEEDS = {
    "billing",
    "refund",
    "outage",
    "data_loss",
    "no_show",
    "leave_threat",
    "harassment",
    "safety",
    "staff_question",
    "repeated",
}
NEAR_MISSES = {"venting", "joke", "outside", "solved", "staff_handled"}


def parse(path: Path) -> list[dict[str, Any]]:
    communities: dict[str, dict[str, str]] = {}
    threads: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path.name}:{number}"
        if line.startswith("community "):
            head, title, description = (part.strip() for part in line.split("|", 2))
            _, key, language, kind = head.split()
            communities[key] = {
                "key": key,
                "language": language,
                "kind": kind,
                "title": title,
                "description": description,
            }
            continue
        if line.startswith("=== "):
            head, reason = (part.strip() for part in line[4:].split("|", 1))
            tid, community, kind, label = head.split()
            if kind not in NEEDS | NEAR_MISSES or label not in ("Y", "N"):
                raise ValueError(f"{where}: unknown kind or label in {line!r}")
            if (label == "Y") != (kind in NEEDS):
                raise ValueError(f"{where}: kind {kind} does not fit label {label}")
            c = communities[community]
            current = {
                "id": tid,
                "split": path.stem,
                "language": c["language"],
                "community": c,
                "kind": kind,
                "needs_manager": label == "Y",
                "reason": reason,
                "messages": [],
            }
            threads.append(current)
            continue
        if current is None:
            raise ValueError(f"{where}: a message before any thread")
        head, text = (part.strip() for part in line.split(" : ", 1))
        fields = head.split()
        author, seconds = fields[0], int(fields[1])
        reply_to = int(fields[2][1:]) if len(fields) > 2 else None
        role = {"m": "member", "s": "staff"}[author[0]]
        messages = current["messages"]
        if reply_to is not None and not 1 <= reply_to <= len(messages):
            raise ValueError(f"{where}: ^{reply_to} points outside the thread")
        if messages and seconds < messages[-1]["t"]:
            raise ValueError(f"{where}: time goes backwards")
        messages.append(
            {
                "id": len(messages) + 1,
                "user_id": int(author[1:]),
                "role": role,
                "t": seconds,
                "reply_to": reply_to,
                "text": text,
            }
        )
    return threads


def main() -> int:
    for name in ("dev", "val", "test", "test2"):
        threads = parse(HERE / f"{name}.txt")
        ids = [t["id"] for t in threads]
        if len(ids) != len(set(ids)):
            raise ValueError(f"{name}: duplicate thread ids")
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for thread in threads:
                out.write(json.dumps(thread, ensure_ascii=False) + "\n")
        yes = sum(t["needs_manager"] for t in threads)
        print(f"{name}: {len(threads)} threads, {yes} need a manager, {len(threads) - yes} do not")
    return 0


if __name__ == "__main__":
    sys.exit(main())
