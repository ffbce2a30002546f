"""Rows into domain types: one mapper per dataclass, built from its fields, and placeholder lists.

A repository declares ``_case = mapper(Case, reasons=...)`` once and hands it to
``db.fetchone(sql, params, into=_case)`` / ``db.fetchall(...)``, instead of spelling out one
``Case(id=int(row["id"]), …)`` builder per type.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection
from dataclasses import MISSING, fields
from typing import Any, TypeVar

T = TypeVar("T")
Row = sqlite3.Row  # aiosqlite.Row is sqlite3.Row
Into = Callable[[Row], T]

# A field annotated exactly so is passed through its type (SQLite gives 0/1 for booleans); an
# optional or composite field is taken as stored, or computed.
_COERCE: dict[str, Callable[[Any], Any]] = {"int": int, "str": str, "bool": bool, "float": float}


def mapper(cls: type[T], **computed: Callable[[Row], Any]) -> Callable[[Row], T]:
    """A function building ``cls`` from a row: each field from the column of its name (coerced as
    above), or from ``computed[field](row)``. A field with a default may be absent from the row."""
    plan: list[tuple[str, Callable[[Any], Any] | None, bool]] = []
    derived: list[tuple[str, Callable[[Row], Any]]] = []
    unknown = set(computed) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)}")
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in computed:
            derived.append((f.name, computed[f.name]))
            continue
        name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        optional = f.default is not MISSING or f.default_factory is not MISSING
        plan.append((f.name, _COERCE.get(name), optional))
    has_optional = any(optional for _, _, optional in plan)

    def build(row: Row) -> T:
        keys = row.keys() if has_optional else ()
        values: dict[str, Any] = {}
        for name, coerce, optional in plan:
            if optional and name not in keys:
                continue
            value = row[name]
            values[name] = value if coerce is None else coerce(value)
        for name, compute in derived:
            values[name] = compute(row)
        return cls(**values)

    build.__name__ = f"row_to_{cls.__name__}"
    return build


def marks(values: Collection[object]) -> str:
    """``?, ?, ?``: one placeholder per value, for ``IN (…)`` (``NULL`` for none, which matches nothing)."""
    return ", ".join("?" for _ in values) or "NULL"
