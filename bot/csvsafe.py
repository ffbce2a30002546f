"""CSV cells that a spreadsheet will not run as formulas.

Exports carry text people wrote (chat titles, names, campaign names). A cell that begins with
``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, as OWASP adds) is read as a formula by
Excel, LibreOffice and Google Sheets, and ``=HYPERLINK(…)`` or ``=cmd|…`` can leak data or run
commands on the manager's machine. Such text cells get a leading apostrophe, which spreadsheets
show as plain text. Numbers stay numbers (a negative chat id is an int, not text).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["FORMULA_STARTS", "SafeDictWriter", "SafeWriter", "safe_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every text cell goes through :func:`safe_cell`."""

    def __init__(self, handle: Any, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """``csv.DictWriter`` whose every text cell goes through :func:`safe_cell` (the header is ours)."""

    def __init__(self, handle: Any, fieldnames: list[str], **options: Any) -> None:
        self._writer = csv.DictWriter(handle, fieldnames=fieldnames, **options)

    def writeheader(self) -> None:
        self._writer.writeheader()

    def writerow(self, row: Mapping[str, object]) -> None:
        self._writer.writerow({key: safe_cell(value) for key, value in row.items()})

    def writerows(self, rows: Iterable[Mapping[str, object]]) -> None:
        for row in rows:
            self.writerow(row)
