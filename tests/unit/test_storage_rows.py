"""bot/storage/rows.py: the field-driven row mapper and the placeholder list."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import pytest

from bot.storage.rows import mapper, marks


@dataclass(frozen=True, slots=True)
class Sample:
    id: int
    name: str
    flag: bool
    score: float
    note: str | None
    tags: tuple[str, ...] = field(default=())


def row_of(sql: str) -> sqlite3.Row:
    con = sqlite3.connect(":memory:")
    con.row_factory = sqlite3.Row
    row = con.execute(sql).fetchone()
    con.close()
    assert row is not None
    return row  # type: ignore[no-any-return]


def test_columns_are_coerced_by_annotation_and_computed_fields_are_computed() -> None:
    build = mapper(Sample, tags=lambda row: tuple(str(row["tag_list"]).split(",")))
    row = row_of("SELECT 'x' AS tag_list, 7 AS id, 12 AS name, 1 AS flag, 2 AS score, NULL AS note")
    sample = build(row)
    assert sample == Sample(7, "12", True, 2.0, None, ("x",))
    assert type(sample.name) is str and type(sample.flag) is bool and type(sample.score) is float
    kept = build(row_of("SELECT 'a,b' AS tag_list, 1 AS id, 'n' AS name, 0 AS flag, 0.5 AS score, 3 AS note"))
    assert kept.note == 3  # an optional field is taken as stored
    assert kept.tags == ("a", "b") and kept.flag is False


def test_a_missing_column_is_an_error_not_a_default() -> None:
    build = mapper(Sample)
    with pytest.raises(IndexError):
        build(row_of("SELECT 1 AS id, 'n' AS name, 0 AS flag, 0.5 AS score, NULL AS note"))


def test_a_computed_name_that_is_no_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no field"):
        mapper(Sample, tagz=lambda row: ())


def test_marks() -> None:
    assert marks([1, 2, 3]) == "?, ?, ?"
    assert marks(()) == "NULL"
