"""Import demands or offerings from CSV, XLSX or JSON through the same posting rules as the web.

The importer only parses: file → rows → typed values (text, `;`-separated lists, whole numbers, dates) →
the `DemandInput` / `OfferingInput` the web forms build. Every rule on those values belongs to
`domain.postings` and is applied by the functions the web uses, acting for the row's organization.
All rows or none: one transaction; a file with any bad row writes nothing and lists every problem.
"""

from __future__ import annotations

import functools
import re
import types
import typing
import unicodedata
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _

from ..extensions import db
from ..matching.text import posting_text
from ..models import Demand, Offering, Organization, OrgKind, PostingStatus
from ..vocabulary import DEMAND, OFFERING
from . import mapping, postings
from .errors import DomainError, FieldError, ValidationFailed
from .spreadsheets import ImportFailed, Problem, read_sheet

__all__ = ["ImportFailed", "ImportResult", "Problem", "check_postings", "import_postings", "read_rows"]

KINDS = {DEMAND: (Demand, postings.DemandInput), OFFERING: (Offering, postings.OfferingInput)}
YES, NO = ("yes", "true", "1", "y", "是"), ("no", "false", "0", "n", "否")
ORG_KINDS = {Demand: OrgKind.MANUFACTURER, Offering: OrgKind.VENDOR}
DEFAULT_ORGANIZATION = {Demand: "Imported demands", Offering: "Imported offerings"}
COLUMNS = mapping.COLUMNS
ORGANIZATION_NAME_LIMIT = Organization.__table__.c["name"].type.length
PROGRESS_EVERY = 100  # rows between two progress reports while staging


@dataclass
class ImportResult:
    """What an import did (or, checked, would do): refs created and updated, postings, near-duplicates."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    postings: list[Demand | Offering] = field(default_factory=list)
    proposals: int = 0
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class ImportFile:
    """How to read one import file: its encoding (blank: detect) and mapping (None: suggested), and the limit."""

    path: Path
    encoding: str = ""
    columns: dict[str, str] | None = None
    limit_mb: int = 20


# ---------------------------------------------------------------- file → rows


def read_rows(source: ImportFile, kind: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Return the file's rows keyed by import column, and each import column's header in the sheet."""
    sheet = read_sheet(source.path, encoding=source.encoding, limit_mb=source.limit_mb)
    columns = mapping.suggest(sheet.header, kind, source.columns)
    mapping.check(columns, kind)
    headers = {column: header for header, column in columns.items() if column}
    return mapping.apply(sheet.rows, columns), headers


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


def title_key(title: str, organization: str = "") -> str:
    """Return a title (and organization) folded so that near-identical wordings compare equal."""
    folded = unicodedata.normalize("NFKC", f"{title}|{organization}").casefold()
    return re.sub(r"[\W_]+", "", folded)


class _Import:
    """One import's state: the organizations and postings that exist, what it staged, what went wrong."""

    def __init__(self, kind: str, refs: list[str], headers: dict[str, str]):
        self.model, self.input_class = KINDS[kind]
        self.headers = headers
        self.organizations = {o.name.strip().casefold(): o for o in db.session.scalars(sa.select(Organization))}
        self.existing = {p.ref: p for p in db.session.scalars(sa.select(self.model).where(self.model.ref.in_(refs)))}
        self.result = ImportResult()
        self.problems: list[Problem] = []
        self.first_row: dict[str, int] = {}  # ref → the row it first appeared on
        self.titles = self._titles_on_platform()

    def _titles_on_platform(self) -> dict[str, tuple[str, str]]:
        """Return each open posting's folded title and organization → (its ref, its title)."""
        query = (
            sa.select(self.model.ref, self.model.id, self.model.title, Organization.name)
            .join(Organization, self.model.organization_id == Organization.id)
            .where(self.model.status != PostingStatus.CLOSED)
        )
        return {title_key(t, o): (r or f"#{i}", t) for r, i, t, o in db.session.execute(query)}

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
        if org is not None and not errors:
            self.flag_near_duplicate(number, ref, data.title, org.name)

    def flag_near_duplicate(self, number: int, ref: str, title: str, organization: str) -> None:
        """Warn when another posting (on the platform or earlier in the file) has the same title and organization."""
        key = title_key(title, organization)
        other_ref, other_title = self.titles.get(key, (ref, ""))
        if other_ref != ref:
            message = _(
                "Looks like %(other)s (%(title)s), which has the same title and organization.",
                other=other_ref,
                title=other_title,
            )
            self.result.warnings.append(Problem(message, number, self._header("title"), ref))
        self.titles.setdefault(key, (ref, title))

    def _header(self, column: str | None) -> str:
        """Return the sheet's own header for an import field, or the field's column name."""
        column = COLUMNS.get(column, column) if column else ""
        return self.headers.get(column, column)

    def report(self, number: int, ref: str, errors: list[FieldError]) -> None:
        """Record a row's problems by row, ref and the sheet's own column header."""
        self.problems += [Problem(error.message, number, self._header(error.field), ref) for error in errors]


Progress = Callable[[int, int], None]


def _texts_of(rows: list[dict[str, Any]]) -> list[str]:
    """Return the posting text each row's title and description make."""
    title, description = (COLUMNS.get(name, name) for name in ("title", "description"))
    return [posting_text(_text(row.get(title)), _text(row.get(description))) for row in rows]


def _stage_all(kind: str, rows: list[dict[str, Any]], headers: dict[str, str], on_row: Progress | None) -> _Import:
    """Stage every row without committing; raise ImportFailed, rolled back, if any row is bad."""
    job = _Import(kind, [_text(row.get("ref")) for row in rows], headers)
    # Nothing reaches the database before the commit: a bad row must not flush its neighbours early.
    with db.session.no_autoflush:
        for number, row in enumerate(rows, start=2):  # row 1 is the header in CSV and XLSX
            job.stage(number, row)
            if on_row and (number - 1) % PROGRESS_EVERY == 0:
                on_row(number - 1, len(rows))
    if on_row:
        on_row(len(rows), len(rows))
    if job.problems:
        db.session.rollback()
        raise ImportFailed(job.problems, job.result.warnings)
    return job


def check_postings(kind: str, source: ImportFile, *, on_row: Progress | None = None) -> ImportResult:
    """Check every row as an import would, write nothing, and return what it would create and update."""
    job = _stage_all(kind, *read_rows(source, kind), on_row)
    result = job.result
    db.session.rollback()
    result.postings = []  # rolled back: they are no rows of the database
    return result


def import_postings(
    kind: str,
    source: ImportFile | Path,
    *,
    propose: bool = True,
    progress: Callable[[str], None] | None = None,
    on_row: Progress | None = None,
    on_stored: Callable[[int], None] | None = None,
) -> ImportResult:
    """Write every row of the file as a published posting in one transaction, then announce them.

    on_row(done, total) follows the rows being read and checked, on_stored(count) is called once they are
    committed, and progress(text) then follows the engine embedding and proposing.

    Raises ImportFailed, having written nothing, if any row breaks a rule. A process killed before the
    commit leaves nothing either; one killed after it leaves every row, and the engine embeds and indexes
    what it did not get to when it next starts.
    """
    if isinstance(source, Path):
        source = ImportFile(source)
    rows, headers = read_rows(source, kind)
    with postings.expect(_texts_of(rows)):  # the engine may embed the texts while the rows are checked
        job = _stage_all(kind, rows, headers, on_row)
        try:
            db.session.commit()
        except sa.exc.SQLAlchemyError as error:  # e.g. another import took the same ref a moment ago
            db.session.rollback()
            raise ImportFailed([f"the database refused the data ({getattr(error, 'orig', error)})"]) from None
        if on_stored:
            on_stored(len(job.result.postings))
        job.result.proposals = postings.announce(job.result.postings, propose=propose, progress=progress)
    return job.result
