"""The layering rules, read from the source with ``ast`` (nothing is imported):

- no module under ``handlers/`` imports ``bot.storage`` (handlers call services);
- SQL lives only in ``bot/storage``: no string literal elsewhere in ``bot/``, ``handlers/`` or
  ``models/`` looks like a statement;
- no module in ``bot/services`` or ``bot/domain`` imports ``aiogram``.

The known offenders of the first two rules are listed in ``PENDING_*``: a new offender fails, and so
does a listed one that is already clean (take it off the list), so each list only ever shrinks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Modules under handlers/ that still import bot.storage (issue 14 point 2 removes them).
PENDING_HANDLER_STORAGE: set[str] = set()

# Modules outside bot/storage that still hold SQL.
PENDING_SQL: set[str] = set()

# Uppercase keywords, as every statement in this tree is written; [^;]* keeps each match inside one statement.
SQL = re.compile(
    r"\bSELECT\b[^;]*?\bFROM\b"
    r"|\bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b"
    r"|\bUPDATE\b[^;]*?\bSET\b"
    r"|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(?:TABLE|INDEX|VIEW|TRIGGER)\b"
)


def _sources(*folders: str, skip: str | None = None) -> Iterator[tuple[str, ast.Module]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if skip is not None and name.startswith(skip):
                continue
            yield name, ast.parse(path.read_text(encoding="utf-8"), filename=name)


def imported_modules(tree: ast.AST) -> Iterator[str]:
    """Every module an import statement names (also inside functions and ``TYPE_CHECKING``):
    ``from a.b import c`` names ``a.b`` and ``a.b.c``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def imports(tree: ast.AST, package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in imported_modules(tree))


def sql_literals(tree: ast.AST) -> list[str]:
    """String constants (f-string parts included, docstrings left out) that look like SQL."""
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and SQL.search(node.value)
    ]


def _check(found: set[str], pending: set[str], rule: str) -> None:
    new = found - pending
    cleaned = pending - found
    assert not new, f"{rule}: {sorted(new)}"
    assert not cleaned, f"{rule} no longer in {sorted(cleaned)}: take them off the pending list"


def test_handlers_do_not_import_storage() -> None:
    found = {name for name, tree in _sources("handlers") if imports(tree, "bot.storage")}
    _check(found, PENDING_HANDLER_STORAGE, "handlers importing bot.storage")


def test_sql_lives_only_in_storage() -> None:
    found = {name for name, tree in _sources("bot", "handlers", "models", skip="bot/storage/") if sql_literals(tree)}
    _check(found, PENDING_SQL, "SQL outside bot/storage")


def test_services_and_domain_do_not_import_aiogram() -> None:
    found = {name for name, tree in _sources("bot/services", "bot/domain") if imports(tree, "aiogram")}
    assert not found, f"services or domain modules importing aiogram: {sorted(found)}"


def test_the_scanners_see_what_they_look_for() -> None:
    """The rules above can fail: each scanner flags a sample offender and passes a clean one."""
    tree = ast.parse(
        "from bot.storage.cases import Case\ndef f():\n    import aiogram.types\n    from bot import storage\n"
    )
    assert imports(tree, "bot.storage")
    assert imports(tree, "aiogram")
    assert not imports(ast.parse("from bot.services.cases import CaseService\nimport aiogramx\n"), "aiogram")
    assert not imports(ast.parse("from bot.storagex import y\n"), "bot.storage")

    statements = [
        'q = "SELECT id FROM cases WHERE chat_id = ?"',
        'q = f"SELECT * FROM {table} WHERE id = ?"',
        'q = ("UPDATE posts SET status = ?"\n     " WHERE id = ?")',
        'q = "INSERT OR IGNORE INTO state (key, value) VALUES (?, ?)"',
        'q = "DELETE FROM faq_votes WHERE answer_id = ?"',
        'q = "CREATE TABLE t (x)"',
    ]
    for source in statements:
        assert sql_literals(ast.parse(source)), source
    clean = [
        'q = "Select a community from the list"',
        'q = "update the settings"',
        'def f():\n    """Every change is one UPDATE … SET, then SELECT … FROM the table."""\n',
        'q = "SELECT; FROM"',
    ]
    for source in clean:
        assert not sql_literals(ast.parse(source)), source
