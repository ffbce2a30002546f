"""Rows into domain types: one mapper per dataclass, built from its fields, and placeholder lists.

A repository declares ``_case = mapper(Case, reasons=...)`` once and hands it to
``db.fetchone(sql, params, into=_case)`` / ``db.fetchall(...)``, instead of spelling out one
``Case(id=int(row["id"]), …)`` builder per type.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")
Row = sqlite3.Row  # aiosqlite.Row is sqlite3.Row
Into = Callable[[Row], T]

# A field annotated exactly so is passed through its type (SQLite gives 0/1 for booleans); an
# optional or composite field is taken as stored, or computed.
_COERCE: dict[str, Callable[[Any], Any]] = {"int": int, "str": str, "bool": bool, "float": float}


def mapper(cls: type[T], **computed: Callable[[Row], Any]) -> Callable[[Row], T]:
    """A function building ``cls`` from a row: each field from the column of its name (coerced as
    above), or from ``computed[field](row)``. Every other field's column must be in the row."""
    every = fields(cls)  # type: ignore[arg-type]
    unknown = set(computed) - {f.name for f in every}
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)}")
    if any(not f.init or f.kw_only for f in every):
        raise TypeError(f"{cls.__name__}: the mapper builds from positional fields only")
    stored = [f for f in every if f.name not in computed]
    names = [f.name for f in stored]
    take = operator.itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    coerce = [(i, _COERCE[f.type]) for i, f in enumerate(stored) if isinstance(f.type, str) and f.type in _COERCE]
    coerce += [(i, _COERCE[f.type.__name__]) for i, f in enumerate(stored) if f.type in (int, str, bool, float)]
    inserts = [(i, computed[f.name]) for i, f in enumerate(every) if f.name in computed]

    def build(row: Row) -> T:
        values = list(take(row))
        for i, convert in coerce:
            values[i] = convert(values[i])
        for i, compute in inserts:
            values.insert(i, compute(row))
        return cls(*values)

    build.__name__ = f"row_to_{cls.__name__}"
    return build


def marks(values: Collection[object]) -> str:
    """``?, ?, ?``: one placeholder per value, for ``IN (…)`` (``NULL`` for none, which matches nothing)."""
    return ", ".join("?" for _ in values) or "NULL"
