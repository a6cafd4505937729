"""Load the demonstration data in seed/ into the database, safely, as often as you like.

Rows are keyed by organization name, user email and posting ref: a row whose key exists is left as it is,
so a second run creates and changes nothing. Every row is checked before anything is written, and the
whole load is one transaction; published postings are announced to the matching engine after the commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from .domain import postings
from .domain.errors import DomainError
from .extensions import db
from .models import Demand, Offering, Organization, OrgKind, PostingStatus, Role, User

FILES = ("organizations.json", "users.json", "demands.json", "offerings.json")
ORGANIZATION_FIELDS = ("city", "profile", "website", "contact_email", "contact_phone")


class SeedError(Exception):
    """A seed file is missing or one of its rows is invalid."""

    def __init__(self, filename: str, message: str, row: int | None = None):
        where = filename if row is None else f"{filename}, row {row}"
        super().__init__(f"{where}: {message}")


@dataclass
class _Row:
    """One JSON object from a seed file with where it came from, for error messages."""

    filename: str
    number: int
    data: dict

    def require(self, key: str):
        """Return a required value or fail naming the file and row."""
        value = self.data.get(key)
        if value in (None, ""):
            raise SeedError(self.filename, f"'{key}' is required", self.number)
        return value


class _Loader:
    """Hold the state of one load: what exists, what is new, and what to do after the commit."""

    def __init__(self):
        self.created = {"organizations": 0, "users": 0, "demands": 0, "offerings": 0}
        self.published: list = []
        self.seen: set[tuple[str, str]] = set()
        self.passwords: list[tuple[User, str]] = []
        self.organizations = {o.name: o for o in db.session.scalars(sa.select(Organization))}

    def first_sighting(self, row: _Row, key: str) -> None:
        """Refuse a key that an earlier row of the same file already used."""
        if (row.filename, key) in self.seen:
            raise SeedError(row.filename, f"duplicate key {key!r}", row.number)
        self.seen.add((row.filename, key))

    def organization(self, row: _Row) -> Organization:
        """Return the organization a row names, whether it was just loaded or already there."""
        name = row.require("organization")
        if name not in self.organizations:
            raise SeedError(row.filename, f"unknown organization {name!r}", row.number)
        return self.organizations[name]

    def load_organization(self, row: _Row) -> None:
        """Add an organization unless one with that name exists."""
        name = row.require("name")
        self.first_sighting(row, name)
        if name in self.organizations:
            return
        try:
            kind = OrgKind(row.require("kind"))
        except ValueError:
            raise SeedError(row.filename, f"unknown kind {row.data['kind']!r}", row.number) from None
        org = Organization(name=name, kind=kind, **{k: row.data.get(k) or "" for k in ORGANIZATION_FIELDS})
        db.session.add(org)
        self.organizations[name] = org
        self.created["organizations"] += 1

    def load_user(self, row: _Row) -> None:
        """Add a user with a hashed password unless one with that email exists."""
        email = row.require("email").strip().lower()
        self.first_sighting(row, email)
        if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == email)):
            return
        try:
            role = Role(row.data.get("role") or Role.MEMBER.value)
        except ValueError:
            raise SeedError(row.filename, f"unknown role {row.data['role']!r}", row.number) from None
        user = User(
            email=email,
            name=row.data.get("name") or "",
            organization=self.organization(row),
            role=role,
            phone=row.data.get("phone") or "",
            locale=row.data.get("locale") or "",
        )
        user.password_hash = ""  # hashed once every row has passed, so a broken file fails fast
        self.passwords.append((user, row.require("password")))
        db.session.add(user)
        db.session.flush()  # later rows look users up by email
        self.created["users"] += 1

    def load_posting(self, model: type, input_class: type, row: _Row) -> None:
        """Add a demand or offering through the domain rules unless one with that ref exists."""
        ref = row.require("ref")
        self.first_sighting(row, ref)
        if db.session.scalar(sa.select(model.id).where(model.ref == ref)):
            return
        try:
            status = PostingStatus(row.data.get("status") or PostingStatus.PUBLISHED.value)
            posting = postings.new_posting(
                model, self.organization(row), _posting_input(input_class, row), author=self.author(row), ref=ref
            )
            postings.advance(posting, status)
        except DomainError as error:
            problems = "; ".join(f"'{e.field}': {e.message}" if e.field else str(e.message) for e in error.errors)
            raise SeedError(row.filename, problems, row.number) from None
        except (TypeError, ValueError) as error:
            raise SeedError(row.filename, str(error), row.number) from None
        db.session.add(posting)
        self.created["demands" if model is Demand else "offerings"] += 1
        if posting.is_published:
            self.published.append(posting)

    def hash_passwords(self) -> None:
        """Store a salted hash of each new user's password."""
        for user, password in self.passwords:
            user.set_password(password)

    def author(self, row: _Row) -> User | None:
        """Return the user a posting row names as its author, if any."""
        email = (row.data.get("author") or "").strip().lower()
        if not email:
            return None
        user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
        if user is None:
            raise SeedError(row.filename, f"unknown author {email!r}", row.number)
        return user


def _posting_input(input_class: type, row: _Row):
    """Build a posting's domain input from a seed row; expires_in_days counts from today."""
    for key in ("title", "description"):
        row.require(key)
    values = {f.name: row.data[f.name] for f in fields(input_class) if f.name in row.data}
    if "expires_in_days" in row.data:
        values["expires_on"] = date.today() + timedelta(days=int(row.data["expires_in_days"]))
    return input_class(**values)


def read_rows(seed_dir: Path, filename: str) -> list[_Row]:
    """Read one seed file as numbered rows (1-based), failing clearly if it is missing or malformed."""
    path = seed_dir / filename
    if not path.is_file():
        raise SeedError(str(path), "file not found")
    try:
        rows = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SeedError(str(path), f"not valid JSON ({error})") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise SeedError(str(path), "expected a list of objects")
    return [_Row(filename, number, data) for number, data in enumerate(rows, start=1)]


def load_seed(seed_dir: Path | str, echo: Callable[[str], None] = print) -> dict[str, int]:
    """Load every seed file in one transaction and return how many rows of each kind were created."""
    seed_dir = Path(seed_dir)
    files = {name: read_rows(seed_dir, name) for name in FILES}  # all files must exist before any write
    loader = _Loader()
    steps = (
        ("organizations.json", loader.load_organization),
        ("users.json", loader.load_user),
        ("demands.json", lambda row: loader.load_posting(Demand, postings.DemandInput, row)),
        ("offerings.json", lambda row: loader.load_posting(Offering, postings.OfferingInput, row)),
    )
    try:
        for name, load in steps:
            echo(f"Loading {name} ({len(files[name])} rows)…")
            for row in files[name]:
                load(row)
        loader.hash_passwords()
        db.session.commit()
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        raise SeedError(str(seed_dir), f"the database refused the data ({getattr(error, 'orig', error)})") from None
    except BaseException:
        db.session.rollback()
        raise
    _announce(loader.published, echo)
    echo("Created " + ", ".join(f"{count} {kind}" for kind, count in loader.created.items()) + ".")
    return loader.created


def _announce(published: list, echo: Callable[[str], None]) -> None:
    """Tell the matching engine about the newly published postings, as the web does, and say what it proposed."""
    if not published:
        return
    echo(f"Indexing and matching {len(published)} published postings…")
    created = postings.announce(published, progress=lambda message: echo(f"  {message}"))
    echo(f"{created} new proposals.")
