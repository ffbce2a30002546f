"""Row mapping: the field-driven mapper of bot/storage/rows.py against a hand-written builder.

Usage::

    python benchmarks/row_mapping.py [--n 50000] [--rounds 3]

Builds ``Case`` (30 columns, the widest row the bot reads on a message's path) from one
``sqlite3.Row`` ``--n`` times per round, alternating a hand-written builder (what every
repository spelled out before) and ``mapper(Case, reasons=...)``. Prints µs per row for each, the
ratio mapper/builder (best round of each) and the load average, since the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
from dataclasses import fields
from typing import Any

from bot.domain.cases import Case
from bot.storage.rows import mapper


def _reasons(row: sqlite3.Row) -> tuple[str, ...]:
    return tuple(r for r in str(row["reasons"]).split(",") if r)


def builder(row: sqlite3.Row) -> Case:
    """The shape of the hand-written builder the mapper replaced: one coercion per column."""
    r = row
    # fmt: off
    return Case(
        int(r["id"]), int(r["chat_id"]), str(r["thread_key"]), r["topic_id"], str(r["state"]), bool(r["shadow"]),
        _reasons(r), str(r["detail"]), r["keyword"], float(r["severity"]), int(r["negative_members"]),
        int(r["message_count"]), int(r["first_message_id"]), int(r["last_message_id"]), int(r["opened_at"]),
        int(r["last_activity_at"]), r["taken_by"], r["taken_by_name"], r["taken_at"], r["answered_by"],
        r["answered_by_name"], r["first_response_at"], r["response_seconds"], r["snoozed_until"], r["closed_by"],
        r["closed_by_name"], r["closed_at"], r["last_reminded_at"], int(r["reminders"]), str(r["signals"]),
    )
    # fmt: on


def _row() -> sqlite3.Row:
    con = sqlite3.connect(":memory:")
    con.row_factory = sqlite3.Row
    names = [f.name for f in fields(Case)]
    con.execute(f"CREATE TABLE cases ({', '.join(names)})")
    values: list[object] = [1, -100, "m:1", None, "open", 0, "keyword,negative", "detail", None, 0.5]
    values += [2, 3, 10, 12, 1_800_000_000, 1_800_000_060] + [None] * 12 + [0, ""]
    con.execute(f"INSERT INTO cases VALUES ({', '.join('?' for _ in names)})", values)  # noqa: S608 - placeholders only
    row = con.execute("SELECT * FROM cases").fetchone()
    con.close()
    return row  # type: ignore[no-any-return]


def _per_row_us(fn: Any, row: sqlite3.Row, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(row)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    row = _row()
    mapped = mapper(Case, reasons=_reasons)
    assert mapped(row) == builder(row), "the mapper must build exactly what the builder builds"
    best_builder = best_mapper = float("inf")
    for _ in range(args.rounds):
        best_builder = min(best_builder, _per_row_us(builder, row, args.n))
        best_mapper = min(best_mapper, _per_row_us(mapped, row, args.n))
    print(f"hand-written builder: {best_builder:.2f} µs/row (best of {args.rounds} × {args.n})")
    print(f"field-driven mapper:  {best_mapper:.2f} µs/row")
    print(f"ratio mapper/builder: {best_mapper / best_builder:.2f}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
