"""Import demands or offerings from CSV, XLSX or JSON through the same posting rules as the web.

The importer only parses: file → rows → typed values (text, `;`-separated lists, whole numbers, dates) →
the `DemandInput` / `OfferingInput` the web forms build. Every rule on those values belongs to
`domain.postings` and is applied by the functions the web uses, acting for the row's organization.
All rows or none: one transaction; a file with any bad row writes nothing and lists every problem.
"""

from __future__ import annotations

import csv
import functools
import json
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _

from ..extensions import db
from ..models import Demand, Offering, Organization, OrgKind, PostingStatus
from . import postings
from .errors import DomainError, FieldError, ValidationFailed

YES, NO = ("yes", "true", "1", "y", "是"), ("no", "false", "0", "n", "否")
KINDS = {"demand": (Demand, postings.DemandInput), "offering": (Offering, postings.OfferingInput)}
ORG_KINDS = {Demand: OrgKind.MANUFACTURER, Offering: OrgKind.VENDOR}
DEFAULT_ORGANIZATION = {Demand: "Imported demands", Offering: "Imported offerings"}
# Input fields whose import column has another name; every other column is named as its field.
COLUMNS = {"industries_served": "industries"}
ORGANIZATION_NAME_LIMIT = Organization.__table__.c["name"].type.length
PROGRESS_EVERY = 100  # rows checked between progress lines


class ImportFailed(Exception):
    """A file that cannot be imported; lists every problem found, by row."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    """What an import did: the refs it created and updated, and the postings it wrote."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    postings: list[Demand | Offering] = field(default_factory=list)
    proposals: int = 0


# ---------------------------------------------------------------- file → rows


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Return the file's rows as dicts of cell values, by its extension; raise ImportFailed if unreadable."""
    suffix = path.suffix.lower()
    readers = {".csv": _read_csv, ".json": _read_json, ".xlsx": _read_xlsx}
    if suffix not in readers:
        raise ImportFailed([f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv, .xlsx or .json"])
    try:
        return readers[suffix](path)
    except UnicodeDecodeError as error:
        raise ImportFailed([f"{path.name}: not UTF-8 text (byte {error.start}); save it as UTF-8"]) from None


def _read_csv(path: Path) -> list[dict[str, Any]]:
    """Return a CSV file's rows below its header."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            return list(csv.DictReader(handle))
        except csv.Error as error:
            raise ImportFailed([f"{path.name}: not a readable CSV file ({error})"]) from None


def _read_json(path: Path) -> list[dict[str, Any]]:
    """Return a JSON list of objects, or the list under "demands", "offerings" or "rows"."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise ImportFailed([f"{path.name}: not valid JSON ({error.msg}, line {error.lineno})"]) from None
    rows = data
    if isinstance(data, dict):
        rows = data.get("demands") or data.get("offerings") or data.get("rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ImportFailed([f"{path.name}: expected a JSON list of objects"])
    return rows


def _read_xlsx(path: Path) -> list[dict[str, Any]]:
    """Return the first sheet's rows below its header row, skipping empty ones."""
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    except Exception as error:  # a damaged workbook fails anywhere in zip, XML or openpyxl's own checks
        raise ImportFailed([f"{path.name}: not a readable XLSX workbook ({type(error).__name__})"]) from None
    if not rows:
        return []
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    return [
        {h: ("" if v is None else v) for h, v in zip(header, row)}
        for row in rows[1:]
        if any(v not in (None, "") for v in row)
    ]


# ---------------------------------------------------------------- cell → typed value


def _text(value) -> str:
    """Return a cell as trimmed text; a spreadsheet's 17.0 reads as 17."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _list(value) -> list[str]:
    """Return a JSON list, or text separated by `;`, as a list of non-empty texts."""
    if isinstance(value, list):
        return [_text(v) for v in value if _text(v)]
    return [v.strip() for v in _text(value).replace("|", ";").split(";") if v.strip()]


def _whole(value) -> int:
    """Return a whole number from a cell such as 300000, "300,000" or 300000.0."""
    if isinstance(value, bool):
        raise ValueError(value)
    try:
        number = Decimal(_text(value).replace(",", ""))
        if number != number.to_integral_value():
            raise ValueError(value)
        return int(number)
    except ArithmeticError:  # decimal.InvalidOperation, and infinity
        raise ValueError(value) from None


def _date(value) -> date:
    """Return a date from a date cell or text like 2027-03-31 (a time after it is ignored)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text).date()


def _yes_no(value) -> bool:
    """Return a yes/no cell as a bool: yes/no, true/false, 1/0, 是/否."""
    if isinstance(value, bool):
        return value
    word = _text(value).lower()
    if word in YES or word in NO:
        return word in YES
    raise ValueError(value)


def _not_yes_no(value: str):
    """Say a cell is not a yes or a no."""
    return _("Not yes or no: %(value)s.", value=value)


def _not_whole(value: str):
    """Say a cell is not a whole number."""
    return _("Not a whole number: %(value)s.", value=value)


def _not_date(value: str):
    """Say a cell is not a date."""
    return _("Not a date like 2027-03-31: %(value)s.", value=value)


# How to read a cell for one field, and what to say about a cell it cannot read.
Reader = Callable[[object], object]
Complaint = Callable[[str], str]


def _parser(annotation: object) -> tuple[Reader, Complaint | None]:
    """Return how to read a cell for a field of this type, and what to say when it cannot be read."""
    if isinstance(annotation, types.UnionType):  # X | None: read as X, blank means the default
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is list:
        return _list, None
    if annotation is int:
        return _whole, _not_whole
    if annotation is date:
        return _date, _not_date
    if annotation is bool:
        return _yes_no, _not_yes_no
    return _text, None


@functools.cache
def _hints(input_class: type) -> dict[str, Any]:
    """Return an input dataclass's field types, resolved once."""
    return typing.get_type_hints(input_class)


def _blank(value) -> bool:
    """Return whether a cell holds nothing."""
    return value is None or value == [] or (not isinstance(value, list) and _text(value) == "")


def parse_row(input_class: type, row: dict[str, Any]) -> tuple[object, list[FieldError]]:
    """Return the domain input a row describes and the cells that could not be read.

    A blank or unreadable cell gives the field its default, so the domain still checks every other field.
    """
    values: dict[str, object] = {}
    problems: list[FieldError] = []
    for item in fields(input_class):
        column = COLUMNS.get(item.name, item.name)
        cell = row.get(column)
        if _blank(cell):
            if item.default is MISSING and item.default_factory is MISSING:
                values[item.name] = ""  # required text: the domain says it is missing
            continue
        read, complaint = _parser(_hints(input_class)[item.name])
        try:
            values[item.name] = read(cell)
        except (TypeError, ValueError):
            problems.append(FieldError(item.name, complaint(_text(cell))))
    return input_class(**values), problems


# ---------------------------------------------------------------- rows → postings


class _Import:
    """One import's state: the organizations and postings that exist, what it staged, what went wrong."""

    def __init__(self, kind: str, refs: list[str]):
        self.model, self.input_class = KINDS[kind]
        self.organizations = {o.name.strip().casefold(): o for o in db.session.scalars(sa.select(Organization))}
        self.existing = {p.ref: p for p in db.session.scalars(sa.select(self.model).where(self.model.ref.in_(refs)))}
        self.result = ImportResult()
        self.problems: list[str] = []
        self.first_row: dict[str, int] = {}  # ref → the row it first appeared on

    def organization(self, name: str, posting) -> Organization:
        """Return the organization a row names: the posting's own when blank, else found by name or new."""
        if not name and posting is not None:
            return posting.organization
        name = name or DEFAULT_ORGANIZATION[self.model]
        if len(name) > ORGANIZATION_NAME_LIMIT:
            raise ValidationFailed(
                _("At most %(count)d characters.", count=ORGANIZATION_NAME_LIMIT), field="organization"
            )
        kind = ORG_KINDS[self.model]
        org = self.organizations.get(name.casefold())
        if org is None:
            org = self.organizations[name.casefold()] = Organization(name=name, kind=kind)
            db.session.add(org)
        elif org.kind is not kind:
            raise ValidationFailed(
                _(
                    "'%(name)s' is a %(existing)s, not a %(wanted)s.",
                    name=org.name,
                    existing=org.kind.value,
                    wanted=kind.value,
                ),
                field="organization",
            )
        return org

    def write(self, ref: str, org: Organization, data) -> None:
        """Create or update the posting with this ref through the domain, published, without committing."""
        posting = self.existing.get(ref)
        actor = postings.OnBehalfOf(org)
        if posting is None:
            posting = self.existing[ref] = postings.new_posting(self.model, org, data, ref=ref)
            db.session.add(posting)
            self.result.created.append(ref)
        else:
            postings.stage_update(actor, posting, data)
            self.result.updated.append(ref)
        if posting.status is PostingStatus.DRAFT:
            postings.stage_publish(actor, posting)
        self.result.postings.append(posting)

    def stage(self, number: int, row: dict[str, Any]) -> None:
        """Stage one row through the domain, recording its unreadable cells and what the domain refused."""
        ref = _text(row.get("ref"))
        data, errors = parse_row(self.input_class, row)
        if not ref:
            errors.insert(0, FieldError("ref", _("This field is required.")))
        elif ref in self.first_row:
            duplicate = _("Duplicate ref %(ref)s (first on row %(row)d).", ref=repr(ref), row=self.first_row[ref])
            errors.insert(0, FieldError("ref", duplicate))
        self.first_row.setdefault(ref, number)
        org = None
        try:
            org = self.organization(_text(row.get("organization")), self.existing.get(ref))
        except DomainError as error:
            errors += error.errors
        try:
            if ref and org is not None:
                self.write(ref, org, data)
            else:  # nothing to write to, but the fields are still worth checking
                postings.check_input(self.model, data, self.existing.get(ref))
        except DomainError as error:
            errors += error.errors
        self.report(number, ref, errors)

    def report(self, number: int, ref: str, errors: list[FieldError]) -> None:
        """Record a row's problems as `row N (ref R), column C: what is wrong`."""
        for error in errors:
            where = f"row {number} (ref {ref or '?'})"
            if error.field:
                where += f", column {COLUMNS.get(error.field, error.field)}"
            self.problems.append(f"{where}: {error.message}")


def import_postings(
    kind: str, path: Path, *, propose: bool = True, progress: Callable[[str], None] | None = None
) -> ImportResult:
    """Write every row of the file as a published posting in one transaction, then announce them.

    Raises ImportFailed, having written nothing, if any row breaks a rule. A process killed before the
    commit leaves nothing either; one killed after it leaves every row, and the engine embeds and indexes
    what it did not get to when it next starts.
    """
    rows = read_rows(path)
    if not rows:
        raise ImportFailed(["the file has no rows"])
    job = _Import(kind, [_text(row.get("ref")) for row in rows])
    # Nothing reaches the database before the commit: a bad row must not flush its neighbours early.
    with db.session.no_autoflush:
        for number, row in enumerate(rows, start=2):  # row 1 is the header in CSV and XLSX
            job.stage(number, row)
            if progress and (number - 1) % PROGRESS_EVERY == 0:
                progress(f"checked {number - 1}/{len(rows)} rows")
    if job.problems:
        db.session.rollback()
        raise ImportFailed(job.problems)
    try:
        db.session.commit()
    except sa.exc.SQLAlchemyError as error:  # e.g. another import took the same ref a moment ago
        db.session.rollback()
        raise ImportFailed([f"the database refused the data ({getattr(error, 'orig', error)})"]) from None
    job.result.proposals = postings.announce(job.result.postings, propose=propose, progress=progress)
    return job.result
