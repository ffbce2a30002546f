"""One long-lived aiosqlite connection with forward-only numbered migrations."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, overload

import aiosqlite

from bot.storage.rows import Into

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")


def load_migrations() -> list[tuple[int, str, str]]:
    """Return (number, name, sql) for every migration file, in order."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("bot.storage.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"duplicate migration numbers: {numbers}")
    return found


class Database:
    """A thin wrapper: SQL lives in the repositories, this class owns the connection."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if str(path) != ":memory:" else Path(":memory:")
        self._conn: aiosqlite.Connection | None = None
        self._transaction_lock = asyncio.Lock()
        # True inside this database's transaction() (the owning task and what it awaits).
        self._in_transaction: ContextVar[bool] = ContextVar(f"steward-db-tx-{id(self)}", default=False)

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable across application crashes in WAL mode; only power loss can drop
        # the last commits, and it keeps a busy group's one write per message cheap.
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA busy_timeout=5000")
        await self.migrate()

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        current = await self.schema_version()
        applied = 0
        for number, name, sql in load_migrations():
            if number <= current:
                continue
            log.info("applying migration %s", name)
            # executescript commits first; wrap it so a failing migration leaves nothing behind.
            await self.conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number:d};\nCOMMIT;")
            applied += 1
        return applied

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        await self._wait_for_other_transaction()
        async with self.conn.execute(sql, params) as cursor:
            return int(cursor.rowcount)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT; return the new row id."""
        await self._wait_for_other_transaction()
        async with self.conn.execute(sql, params) as cursor:
            return int(cursor.lastrowid or 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._wait_for_other_transaction()
        await self.conn.executemany(sql, rows)

    async def _wait_for_other_transaction(self) -> None:
        """Every task shares one connection, so a statement sent while another task's transaction is
        open would run inside it (and vanish with its rollback). Wait until that transaction ends;
        the statement is then queued before any later BEGIN (aiosqlite runs calls in order)."""
        while self._transaction_lock.locked() and not self._in_transaction.get():
            async with self._transaction_lock:
                pass

    @overload
    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None: ...
    @overload
    async def fetchone(self, sql: str, params: Params = (), *, into: Into[T]) -> T | None: ...
    async def fetchone(self, sql: str, params: Params = (), *, into: Into[Any] | None = None) -> Any:
        """The first row (built ``into`` a domain type when given), or None."""
        rows = await self.fetchall(sql, params)
        if not rows:
            return None
        return rows[0] if into is None else into(rows[0])

    @overload
    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]: ...
    @overload
    async def fetchall(self, sql: str, params: Params = (), *, into: Into[T]) -> list[T]: ...
    async def fetchall(self, sql: str, params: Params = (), *, into: Into[Any] | None = None) -> list[Any]:
        """Every row (each built ``into`` a domain type when given)."""
        # One trip to the connection thread that steps the statement to its end: a SELECT left
        # half-read between trips would make another task's COMMIT fail ("SQL statements in progress").
        await self._wait_for_other_transaction()
        rows = list(await self.conn.execute_fetchall(sql, params))
        return rows if into is None else [into(row) for row in rows]

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def fetchint(self, sql: str, params: Params = ()) -> int | None:
        """The first column of the first row as an int; None when there is no row or it is NULL."""
        value = await self.fetchval(sql, params)
        return None if value is None else int(value)

    async def fetchcount(self, sql: str, params: Params = ()) -> int:
        """A ``COUNT(*)`` or a counter column: 0 when there is no row or it is NULL."""
        return int(await self.fetchval(sql, params) or 0)

    async def exists(self, sql: str, params: Params = ()) -> bool:
        """Whether the query returns a row."""
        return await self.fetchone(sql, params) is not None

    async def changed(self, sql: str, params: Params = ()) -> bool:
        """Run one statement; True when it changed a row (a conditional UPDATE won, an INSERT OR IGNORE inserted)."""
        return await self.execute(sql, params) > 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on error. Not re-entrant.

        Transactions are serialised by a lock because every task shares one connection.
        """
        async with self._transaction_lock:
            token = self._in_transaction.set(True)
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                    await self.conn.execute("COMMIT")
                except BaseException:
                    # Also when COMMIT itself failed: never leave the shared connection inside a
                    # transaction that every later statement would silently join.
                    with suppress(sqlite3.Error):
                        await self.conn.execute("ROLLBACK")
                    raise
            finally:
                self._in_transaction.reset(token)

    async def move_chat(
        self, old_chat_id: int, new_chat_id: int, *, keep: frozenset[str] = frozenset({"communities"})
    ) -> int:
        """A group became a supergroup: every table's chat_id column follows it.

        Chat ids are unique across Telegram, so the old id can be replaced wherever it stands
        (a community, the managers' chat, a card's destination). Rows that would collide with
        an existing one for the new id stay behind. Returns the number of rows moved.
        """
        tables = await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        moved = 0
        for (table,) in tables:
            if table in keep:
                continue
            columns = await self.fetchall("SELECT name FROM pragma_table_info(?)", (table,))
            if any(column[0] == "chat_id" for column in columns):
                # The table name comes from sqlite_master, never from a user; the values are parameters.
                quoted = '"' + str(table).replace('"', '""') + '"'
                moved += await self.execute(
                    f"UPDATE OR IGNORE {quoted} SET chat_id = ? WHERE chat_id = ?",  # noqa: S608
                    (new_chat_id, old_chat_id),
                )
        return moved

    async def integrity_check(self) -> str:
        return str(await self.fetchval("PRAGMA integrity_check"))


class Repository:
    """One aggregate's SQL over the shared connection; every repository starts from this."""

    def __init__(self, db: Database) -> None:
        self.db = db
