"""Read an import file into a header and rows of cells, refusing what cannot be read with confidence.

Every check here happens before a single row is looked at, and each refusal says what to do:
- a file over the size limit is refused unread;
- CSV bytes are decoded by the encoding given, or one detected (UTF-8 with or without BOM, GB18030, Big5);
  bytes that decode plausibly as more than one, or as none, ask which encoding they are in;
- an XLSX sheet is streamed (openpyxl read-only), so 10,000 rows are never held as cell objects;
  merged cells and formulas are reported by cell, since neither reads as what the sheet shows;
- an empty file or sheet, or a header with no rows below it, is refused.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _

# The encodings an import can be read in, in the order they are tried; the web form offers the same.
ENCODINGS = ("utf-8", "gb18030", "big5")
CJK_ENCODINGS = ("gb18030", "big5")
# Formulas and merged ranges listed before the rest are summarised: a sheet of them needs one fix.
LISTED_CELLS = 20
MERGE_CELL = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)\"")


@dataclass
class Problem:
    """One thing wrong with an import: where (row, column, ref; any may be unknown) and what."""

    message: Any  # a lazy string, rendered in the reader's language
    row: int | None = None
    column: str = ""
    ref: str = ""

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row} (ref {self.ref or '?'})")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else str(self.message)


class ImportFailed(Exception):
    """A file that cannot be imported; lists every problem found, by row."""

    def __init__(self, problems: list[Problem | str], warnings: list[Problem] = ()):
        self.details = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        self.warnings = list(warnings)  # near-duplicates found on the way, worth showing beside the problems
        self.problems = [str(p) for p in self.details]
        super().__init__("\n".join(self.problems))


@dataclass
class Sheet:
    """A file's header and its rows as dicts keyed by header, with how it was read."""

    header: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    encoding: str = ""  # the CSV encoding used, or "" for XLSX and JSON


def max_bytes(limit_mb: int) -> int:
    """Return the size limit in bytes for a limit in megabytes."""
    return limit_mb * 1024 * 1024


def check_size(size: int, limit_mb: int) -> None:
    """Refuse a file larger than the limit, before reading it."""
    if size > max_bytes(limit_mb):
        raise ImportFailed(
            [
                _(
                    "The file is %(size).1f MB; the limit is %(limit)d MB. Split it into smaller files.",
                    size=size / 1024 / 1024,
                    limit=limit_mb,
                )
            ]
        )


def read_sheet(path: Path, *, encoding: str = "", limit_mb: int = 20) -> Sheet:
    """Return the file's header and rows, by its extension; raise ImportFailed saying what is wrong."""
    check_size(path.stat().st_size, limit_mb)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path.read_bytes(), encoding)
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise ImportFailed([_("Unsupported file type %(suffix)s; use .csv, .xlsx or .json.", suffix=suffix or "(none)")])


# ---------------------------------------------------------------- CSV


def decode(data: bytes, encoding: str = "") -> tuple[str, str]:
    """Return the text and the encoding it was read in: the one given, or the one detected."""
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"  # a BOM settles it, whatever was chosen
    encoding = encoding or detect_encoding(data)
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError):
        raise ImportFailed(
            [_("The file cannot be read as %(encoding)s; choose the encoding it was saved in.", encoding=encoding)]
        ) from None


def detect_encoding(data: bytes) -> str:
    """Return the encoding the bytes are in, or raise ImportFailed asking for it.

    UTF-8 first: text in any other encoding almost never decodes as UTF-8. GB18030 and Big5 both
    decode most Big5 bytes, so when both succeed the choice is the one charset-normalizer finds far
    less garbled; when it cannot tell them apart, ask.
    """
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    decodable = [name for name in CJK_ENCODINGS if _decodes(data, name)]
    if len(decodable) == 1:
        return decodable[0]
    if decodable:
        best = _least_garbled(data, decodable)
        if best:
            return best
    raise ImportFailed([_("The file's encoding could not be recognised; choose the encoding it was saved in.")])


def _decodes(data: bytes, encoding: str) -> bool:
    """Return whether the bytes decode strictly in the encoding."""
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def _least_garbled(data: bytes, encodings: list[str]) -> str | None:
    """Return the encoding charset-normalizer reads with clearly less mess than the others, if one is."""
    from charset_normalizer import from_bytes

    results = from_bytes(data, cp_isolation=encodings, threshold=0.5)
    chaos = {match.encoding: match.chaos for match in results}
    ranked = sorted(chaos.items(), key=lambda item: item[1])
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[1][1] - ranked[0][1] < 0.05:
        return None
    return ranked[0][0]


def _read_csv(data: bytes, encoding: str) -> Sheet:
    """Return a CSV file's header and non-empty rows."""
    if not data.strip():
        raise ImportFailed([_("The file is empty.")])
    text, used = decode(data, encoding)
    if not text.strip():  # e.g. nothing but a byte-order mark
        raise ImportFailed([_("The file is empty.")])
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ImportFailed([_("The file is not valid CSV: %(error)s.", error=str(error))]) from None
    if not lines:
        raise ImportFailed([_("The file is empty.")])
    header = [cell.strip() for cell in lines[0]]
    return Sheet(header, _rows(header, lines[1:]), encoding=used)


def _rows(header: list[str], lines) -> list[dict[str, Any]]:
    """Return each non-empty line as a dict keyed by header; refuse a header with nothing below it."""
    _check_header(header)
    rows = [
        {h: ("" if v is None else v) for h, v in zip(header, line)}
        for line in lines
        if any(v not in (None, "") for v in line)
    ]
    if not rows:
        raise ImportFailed([_("There are no rows below the header row.")])
    return rows


def _check_header(header: list[str]) -> None:
    """Refuse a header row that is blank or names a column twice."""
    if not any(header):
        raise ImportFailed([_("The first row must hold the column names, and it is blank.")])
    seen = set()
    for name in header:
        if name and name in seen:
            raise ImportFailed([_("Two columns are named %(name)s; give each column its own name.", name=name)])
        seen.add(name)


# ---------------------------------------------------------------- JSON


def _read_json(path: Path) -> Sheet:
    """Return a JSON list of objects (or {"rows": [...]}) as rows."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ImportFailed([_("The file is not valid UTF-8 JSON: %(error)s.", error=str(error))]) from None
    rows = data
    if isinstance(data, dict):
        rows = data.get("demands") or data.get("offerings") or data.get("rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ImportFailed([_("Expected a JSON list of objects.")])
    if not rows:
        raise ImportFailed([_("The file is empty.")])
    header = list(dict.fromkeys(key for row in rows for key in row))
    return Sheet(header, rows)


# ---------------------------------------------------------------- XLSX


def _read_xlsx(path: Path) -> Sheet:
    """Return the first sheet's header and non-empty rows, streamed; refuse merged cells and formulas."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ImportFailed([_("The file is not a readable .xlsx workbook.")]) from None
    try:
        sheet = book.worksheets[0]
        _refuse_merged(path, sheet)
        lines = _values(sheet)
        header_cells = next(lines, None)
        if header_cells is None:
            raise ImportFailed([_("The first sheet, %(name)s, is empty.", name=sheet.title)])
        header = ["" if h is None else str(h).strip() for h in header_cells]
        return Sheet(header, _rows(header, lines))
    finally:
        book.close()


def _values(sheet) -> Iterator[list[Any]]:
    """Yield each row's values, streamed; raise ImportFailed listing the cells that hold formulas."""
    formulas: list[str] = []
    for cells in sheet.iter_rows():
        values = []
        for cell in cells:
            if getattr(cell, "data_type", None) == "f":
                formulas.append(cell.coordinate)
            values.append(getattr(cell, "value", None))
        if not formulas:
            yield values
    if formulas:
        raise ImportFailed([_formulas_problem(formulas)])


def _formulas_problem(coordinates: list[str]):
    """Say which cells hold formulas and how to fix it."""
    listed = ", ".join(coordinates[:LISTED_CELLS]) + (" …" if len(coordinates) > LISTED_CELLS else "")
    return _(
        "%(count)d cells hold formulas (%(cells)s); the import reads values only. "
        "Copy the sheet and paste it as values, then upload it again.",
        count=len(coordinates),
        cells=listed,
    )


def _refuse_merged(path: Path, sheet) -> None:
    """Refuse a sheet with merged cells, naming them: only the first cell of a merged range holds the value."""
    ranges = merged_ranges(path, sheet)
    if not ranges:
        return
    listed = ", ".join(ranges[:LISTED_CELLS]) + (" …" if len(ranges) > LISTED_CELLS else "")
    header = [r for r in ranges if r.split(":")[0].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "1"]
    message = (
        _("The header row has merged cells (%(cells)s); unmerge them and give each column its own name.", cells=listed)
        if header
        else _("The sheet has merged cells (%(cells)s); unmerge them and fill in each cell.", cells=listed)
    )
    raise ImportFailed([message])


def merged_ranges(path: Path, sheet) -> list[str]:
    """Return the merged ranges of a read-only sheet, scanning its XML in chunks (they follow the rows)."""
    member = getattr(sheet, "_worksheet_path", None) or "xl/worksheets/sheet1.xml"
    found: list[str] = []
    tail = b""
    with zipfile.ZipFile(path) as archive, archive.open(member.lstrip("/")) as xml:
        while chunk := xml.read(1 << 20):
            text = tail + chunk
            cut = text.rfind(b"<")  # keep a tag cut at the chunk's end for the next round
            found += [m.decode() for m in MERGE_CELL.findall(text, 0, cut if cut > 0 else len(text))]
            tail = text[cut:] if cut > 0 else b""
        found += [m.decode() for m in MERGE_CELL.findall(tail)]
    return found
