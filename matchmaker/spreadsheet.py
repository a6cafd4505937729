"""Write a table as CSV (UTF-8 with BOM, which spreadsheet programs need to see UTF-8) or XLSX (streamed).

Text that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return)
is written with a leading apostrophe, so it shows as the text it is.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE_FORBIDDEN = re.compile(r"[\\*?:/\[\]]")  # characters a worksheet's name may not hold


def safe_cell(value: Any) -> Any:
    """Return a cell that no spreadsheet runs as a formula; numbers, dates and blanks stay as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """Yield the table as CSV text, a row at a time, starting with the BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield BOM
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_text(header: list[object], rows: Iterable[list[Any]]) -> str:
    """Return a whole (small) table as one CSV document, BOM first: the analytics downloads."""
    return "".join(csv_chunks([str(cell) for cell in header], rows))


def sheet_title(title: str) -> str:
    """Return a caption as a worksheet name: at most 31 characters, none of those a sheet name may not hold."""
    return SHEET_TITLE_FORBIDDEN.sub(" ", str(title)).strip()[:31].strip() or "Sheet"


def xlsx_bytes(title: str, header: list[str], rows: Iterable[list[Any]]) -> bytes:
    """Return the table as an XLSX workbook, written in openpyxl's streaming (write-only) mode."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title(title))
    sheet.append([safe_cell(cell) for cell in header])
    for row in rows:
        sheet.append([safe_cell(cell) for cell in row])
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        return handle.read()
