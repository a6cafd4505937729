"""Import demands or offerings from CSV, XLSX or JSON: all rows or none, with row-level errors."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from .. import taxonomy
from ..extensions import db
from ..models import Demand, Offering, Organization, OrgKind, PostingStatus
from ..vocabulary import DEMAND, DEPLOYMENT_MODES, DETECT_LANGUAGE, OFFERING, TEXT_LANGUAGES, VOUCHER_KINDS

REQUIRED = ("ref", "title", "description")
COMMON = ("organization", "language", "scenarios")
OPTIONAL = {
    "demand": (
        *COMMON,
        "industry",
        "city",
        "budget_min",
        "budget_max",
        "timeline",
        "deployment",
        "vouchers",
        "data_available",
        "expires_on",
    ),
    "offering": (
        *COMMON,
        "industries",
        "deployment_modes",
        "price_min",
        "price_max",
        "regions",
        "case_studies",
        "capacity",
    ),
}
DEFAULT_ORGANIZATION = {DEMAND: "Imported demands", OFFERING: "Imported offerings"}


class ImportFailed(Exception):
    """A file that cannot be imported; lists every problem found, by row."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    """What an import did."""

    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)


def read_rows(path: Path) -> list[dict]:
    """Return the file's rows as dicts of strings or lists, by its extension."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data if isinstance(data, list) else data.get("demands") or data.get("offerings") or data.get("rows")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ImportFailed([f"{path.name}: expected a JSON list of objects"])
        return rows
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise ImportFailed([f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv, .xlsx or .json"])


def _read_xlsx(path: Path) -> list[dict]:
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return []
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    return [
        {h: ("" if v is None else v) for h, v in zip(header, row)}
        for row in rows[1:]
        if any(v not in (None, "") for v in row)
    ]


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _list(value) -> list[str]:
    if isinstance(value, list):
        return [_text(v) for v in value if _text(v)]
    return [v.strip() for v in _text(value).replace("|", ";").split(";") if v.strip()]


def _int(value, name: str, problems: list[str]) -> int | None:
    text = _text(value).replace(",", "")
    if not text:
        return None
    try:
        number = int(float(text))
    except ValueError:
        problems.append(f"{name} must be a whole number, got {text!r}")
        return None
    if number < 0:
        problems.append(f"{name} must not be negative")
    return number


def _check_keys(values: list[str], allowed, name: str, problems: list[str]) -> list[str]:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        problems.append(f"unknown {name}: {', '.join(unknown)}")
    return values


def _validate(kind: str, row: dict) -> tuple[dict, list[str]]:
    """Return the row's cleaned fields and its problems."""
    problems: list[str] = []
    missing = [c for c in REQUIRED if not _text(row.get(c))]
    if missing:
        problems.append(f"missing required column value(s): {', '.join(missing)}")
    clean = {c: _text(row.get(c)) for c in REQUIRED}
    clean["organization"] = _text(row.get("organization")) or DEFAULT_ORGANIZATION[kind]
    clean["language"] = _text(row.get("language"))
    if clean["language"] not in (DETECT_LANGUAGE, *TEXT_LANGUAGES):
        problems.append(f"language must be one of {', '.join(TEXT_LANGUAGES)}, got {clean['language']!r}")
    clean["scenarios"] = _check_keys(_list(row.get("scenarios")), taxonomy.scenarios(), "scenario", problems)
    (_demand_fields if kind == "demand" else _offering_fields)(row, clean, problems)
    return clean, problems


def _range(row, clean, problems, low: str, high: str) -> None:
    clean[low], clean[high] = _int(row.get(low), low, problems), _int(row.get(high), high, problems)
    if clean[low] is not None and clean[high] is not None and clean[low] > clean[high]:
        problems.append(f"{low} ({clean[low]}) is more than {high} ({clean[high]})")


def _demand_fields(row, clean, problems) -> None:
    clean["industry"] = _text(row.get("industry")) or None
    if clean["industry"]:
        _check_keys([clean["industry"]], taxonomy.industries(), "industry code", problems)
    for name in ("city", "timeline", "data_available"):
        clean[name] = _text(row.get(name))
    _range(row, clean, problems, "budget_min", "budget_max")
    clean["deployment"] = _text(row.get("deployment"))
    if clean["deployment"]:
        _check_keys([clean["deployment"]], DEPLOYMENT_MODES, "deployment", problems)
    clean["vouchers"] = _check_keys(_list(row.get("vouchers")), VOUCHER_KINDS, "voucher", problems)
    clean["expires_on"] = _date(row.get("expires_on"), problems)


def _date(value, problems) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        problems.append(f"expires_on must be a date like 2027-03-31, got {text!r}")
        return None


def _offering_fields(row, clean, problems) -> None:
    clean["industries_served"] = _check_keys(
        _list(row.get("industries")), taxonomy.industries(), "industry code", problems
    )
    clean["deployment_modes"] = _check_keys(
        _list(row.get("deployment_modes")), DEPLOYMENT_MODES, "deployment", problems
    )
    _range(row, clean, problems, "price_min", "price_max")
    clean["regions"] = _list(row.get("regions"))
    clean["case_studies"] = _text(row.get("case_studies"))
    capacity = _int(row.get("capacity"), "capacity", problems)
    clean["capacity"] = 3 if capacity is None else capacity


def validate_rows(kind: str, rows: list[dict]) -> list[dict]:
    """Return every row cleaned, or raise ImportFailed listing each bad row."""
    problems, cleaned, seen = [], [], {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header in CSV and XLSX
        clean, row_problems = _validate(kind, row)
        ref = clean.get("ref")
        if ref and ref in seen:
            row_problems.append(f"duplicate ref {ref!r} (first on row {seen[ref]})")
        seen.setdefault(ref, number)
        problems += [f"row {number} (ref {ref or '?'}): {p}" for p in row_problems]
        cleaned.append(clean)
    if not rows:
        problems.append("the file has no rows")
    if problems:
        raise ImportFailed(problems)
    return cleaned


def _organization(name: str, kind: OrgKind, cache: dict) -> Organization:
    if name not in cache:
        org = db.session.scalar(sa.select(Organization).where(Organization.name == name))
        if org is None:
            org = Organization(name=name, kind=kind)
            db.session.add(org)
        elif org.kind is not kind:
            raise ImportFailed([f"organization {name!r} is a {org.kind.value}, not a {kind.value}"])
        cache[name] = org
    return cache[name]


def import_postings(kind: str, path: Path) -> ImportResult:
    """Validate the whole file, then write every row as a published posting in one transaction."""
    model, org_kind = (Demand, OrgKind.MANUFACTURER) if kind == "demand" else (Offering, OrgKind.VENDOR)
    rows = validate_rows(kind, read_rows(path))
    result, orgs = ImportResult(), {}
    try:
        for clean in rows:
            posting = db.session.scalar(sa.select(model).where(model.ref == clean["ref"]))
            (result.updated if posting else result.created).append(clean["ref"])
            posting = posting or model(ref=clean["ref"])
            posting.organization = _organization(clean.pop("organization"), org_kind, orgs)
            for name, value in clean.items():
                setattr(posting, name, value)
            posting.status = PostingStatus.PUBLISHED
            posting.published_at = posting.published_at or datetime.now(UTC)
            posting.embedding = None  # the text may have changed: embed afresh
            db.session.add(posting)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result
