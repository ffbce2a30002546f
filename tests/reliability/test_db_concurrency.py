"""The shared SQLite connection under concurrent tasks: transactions stay isolated from other tasks'
statements, and a half-read SELECT never makes a COMMIT fail (found by benchmarks/pipeline.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.storage.db import Database
from tests.waiting import stays_pending


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "t.db")
    await database.open()
    await database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    yield database  # type: ignore[misc]
    await database.close()


async def test_transactions_commit_while_other_tasks_read(db: Database) -> None:
    await db.executemany("INSERT INTO t (v) VALUES (?)", [(str(i),) for i in range(200)])

    async def reader() -> int:
        total = 0
        for i in range(60):
            total += len(await db.fetchall("SELECT * FROM t"))
            await db.fetchone("SELECT * FROM t ORDER BY id")
            # A write that returns a row (MessageRepository.record): in progress until stepped to its end.
            row = await db.fetchone("INSERT INTO t (v) VALUES (?) RETURNING id", (f"r{i}",))
            assert row is not None
        return total

    async def writer(n: int) -> None:
        for i in range(30):
            async with db.transaction():
                await db.insert("INSERT INTO t (v) VALUES (?)", (f"w{n}-{i}",))
                await db.fetchone("SELECT COUNT(*) FROM t")

    results = await asyncio.gather(*(reader() for _ in range(4)), *(writer(n) for n in range(4)))
    assert all(isinstance(r, int) and r > 0 for r in results[:4])
    assert await db.fetchval("SELECT COUNT(*) FROM t WHERE v LIKE 'w%'") == 120
    assert await db.fetchval("SELECT COUNT(*) FROM t WHERE v LIKE 'r%'") == 240
    assert not db.conn.in_transaction


async def test_a_rollback_does_not_take_other_tasks_writes_with_it(db: Database) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def failing_transaction() -> None:
        async with db.transaction():
            await db.insert("INSERT INTO t (v) VALUES ('rolled back')")
            inside.set()
            await release.wait()
            raise RuntimeError("boom")

    task = asyncio.create_task(failing_transaction())
    await inside.wait()
    # Another task writes while the transaction is open: it must wait, not join it.
    other = asyncio.create_task(db.insert("INSERT INTO t (v) VALUES ('kept')"))
    await stays_pending(other, window=0.05, what="a write outside the open transaction")
    assert not other.done()
    release.set()
    with pytest.raises(RuntimeError):
        await task
    await other
    assert [r["v"] for r in await db.fetchall("SELECT v FROM t")] == ["kept"]
    assert not db.conn.in_transaction
