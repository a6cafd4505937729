"""Domain models: organizations, people, postings, matches and their history."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db

# The enums live with the other vocabularies; they are imported here for the columns and for importers.
from .vocabulary import DEMAND, OFFERING, JoinStatus, MatchStatus, OrgKind, PostingStatus, Role


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _enum(kind: type[enum.Enum], length: int = 20) -> sa.Enum:
    """Store an enum by value as a plain string column, portable across databases."""
    return sa.Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e], validate_strings=True
    )


class Organization(db.Model):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind))
    city: Mapped[str] = mapped_column(sa.String(80), default="")
    profile: Mapped[str] = mapped_column(sa.Text, default="")
    website: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(50), default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    members: Mapped[list[User]] = relationship(back_populates="organization")

    def __repr__(self) -> str:
        return f"<Organization {self.name!r} {self.kind.value}>"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(200), unique=True, index=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    # None until an invitation is accepted or a join request approved: a name typed at registration is no key.
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.MEMBER)
    curator_requested: Mapped[bool] = mapped_column(default=False)
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    locale: Mapped[str] = mapped_column(sa.String(10), default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Part of the id sessions and remember-me cookies carry: raising it on a password change ends them all.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="members")

    def set_password(self, password: str, *, end_sessions: bool = True) -> None:
        """Store a salted hash of the password, made the configured way; end every open session unless told not to."""
        self.password_hash = generate_password_hash(password, method=current_app.config["MATCHMAKER_PASSWORD_HASH"])
        if end_sessions:
            self.session_version = (self.session_version or 0) + 1

    def get_id(self) -> str:
        """Return the id sessions carry (Flask-Login): the account's and its session version, as `7-2`."""
        return f"{self.id}-{self.session_version or 0}"

    def check_password(self, password: str) -> bool:
        """Return whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        """Admins approve curators and may do everything curators do."""
        return self.role is Role.ADMIN

    @property
    def is_curator(self) -> bool:
        """Curators and admins may steer matches."""
        return self.role in (Role.CURATOR, Role.ADMIN)

    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot sign in, and their sessions end (Flask-Login asks this)."""
        return bool(self.active)

    @property
    def kind(self) -> OrgKind | None:
        """Return the kind of the user's organization, or None while they belong to none."""
        return self.organization.kind if self.organization is not None else None

    def __repr__(self) -> str:
        return f"<User {self.email!r} {self.role.value}>"


class PostingMixin:
    """Columns shared by demands and offerings, including their search representation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str] = mapped_column(sa.String(10), default="")
    scenarios: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[PostingStatus] = mapped_column(_enum(PostingStatus), default=PostingStatus.DRAFT, index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Matching engine state: tags found in the text, the embedding and the model that made it.
    auto_scenarios: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    auto_industries: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(sa.String(200))
    # Raised by each edit through domain.postings, so an edit made from a stale form is refused, not merged.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @property
    def is_published(self) -> bool:
        """Return whether the posting is live."""
        return self.status is PostingStatus.PUBLISHED

    @property
    def all_scenarios(self) -> list[str]:
        """Return the poster's scenarios followed by those tagged from the text."""
        return list(dict.fromkeys([*(self.scenarios or []), *(self.auto_scenarios or [])]))


class Demand(PostingMixin, db.Model):
    __tablename__ = "demand"

    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    industry: Mapped[str | None] = mapped_column(sa.String(2))
    city: Mapped[str] = mapped_column(sa.String(80), default="")
    budget_min: Mapped[int | None] = mapped_column()
    budget_max: Mapped[int | None] = mapped_column()
    # Shown only to the organisation's own members and to curators; matching still uses it.
    budget_confidential: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    timeline: Mapped[str] = mapped_column(sa.String(100), default="")
    deployment: Mapped[str] = mapped_column(sa.String(20), default="")
    vouchers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    data_available: Mapped[str] = mapped_column(sa.Text, default="")
    expires_on: Mapped[date | None] = mapped_column(sa.Date)

    organization: Mapped[Organization] = relationship()
    author: Mapped[User | None] = relationship()

    kind = DEMAND

    @property
    def industries(self) -> list[str]:
        """Return the poster's industry, or, when none was chosen, those tagged from the text."""
        # A factory's own choice beats the text: it may mention a compressor without making them.
        return [self.industry] if self.industry else list(self.auto_industries or [])


class Offering(PostingMixin, db.Model):
    __tablename__ = "offering"

    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    industries_served: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    deployment_modes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    price_min: Mapped[int | None] = mapped_column()
    price_max: Mapped[int | None] = mapped_column()
    regions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    case_studies: Mapped[str] = mapped_column(sa.Text, default="")
    capacity: Mapped[int] = mapped_column(default=3)

    organization: Mapped[Organization] = relationship()
    author: Mapped[User | None] = relationship()

    kind = OFFERING

    @property
    def industries(self) -> list[str]:
        """Return the industries the vendor serves and those tagged from the text."""
        return list(dict.fromkeys([*(self.industries_served or []), *(self.auto_industries or [])]))


# The lists' order (domain/filters.py: newest first among one status), so a page reads its rows from the
# index instead of sorting every posting of that status.
for _listed in (Demand, Offering):
    sa.Index(
        f"ix_{_listed.__tablename__}_listing",
        _listed.status,
        sa.func.coalesce(_listed.published_at, _listed.created_at),
        _listed.id,
    )


class IndexChange(db.Model):
    """Append-only log of posting changes; each process's index replays it past its watermark."""

    __tablename__ = "index_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_kind: Mapped[str] = mapped_column(sa.String(10))
    posting_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Match(db.Model):
    """A proposed pairing of a demand and an offering, and where it stands."""

    __tablename__ = "match"
    __table_args__ = (sa.UniqueConstraint("demand_id", "offering_id", name="uq_match_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id"), index=True)
    offering_id: Mapped[int] = mapped_column(sa.ForeignKey("offering.id"), index=True)
    status: Mapped[MatchStatus] = mapped_column(_enum(MatchStatus), default=MatchStatus.PROPOSED, index=True)
    source: Mapped[str] = mapped_column(sa.String(20), default="engine")
    score: Mapped[float] = mapped_column(default=0.0)
    rank: Mapped[int | None] = mapped_column()
    breakdown: Mapped[dict[str, float]] = mapped_column(sa.JSON, default=dict)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    demand_response: Mapped[str] = mapped_column(sa.String(20), default="pending")
    offering_response: Mapped[str] = mapped_column(sa.String(20), default="pending")
    decision_reason: Mapped[str] = mapped_column(sa.String(50), default="")
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_reason: Mapped[str] = mapped_column(sa.Text, default="")
    introduced_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    demand: Mapped[Demand] = relationship()
    offering: Mapped[Offering] = relationship()
    events: Mapped[list[MatchEvent]] = relationship(back_populates="match", order_by="MatchEvent.id")


class MatchEvent(db.Model):
    """Audit trail: one row per state change of a match."""

    __tablename__ = "match_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(sa.ForeignKey("match.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.String(50), default="")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    match: Mapped[Match] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class MatchNote(db.Model):
    """A curator's private note on a match."""

    __tablename__ = "match_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(sa.ForeignKey("match.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    author: Mapped[User] = relationship()


class Notification(db.Model):
    """An in-app message to one user about something that concerns them."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    message: Mapped[str] = mapped_column(sa.Text)  # written in the recipient's language when it was sent
    # The message's English source and its values, so pages write it in the reader's language of the moment;
    # empty for notifications stored before, which show `message`.
    msgid: Mapped[str] = mapped_column(sa.Text, default="")
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class OutboundEmail(db.Model):
    """An email queued after commit; failed sends stay here to be retried."""

    __tablename__ = "outbound_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class JoinRequest(db.Model):
    """A person's request to join an organization, which one of its members or an admin decides."""

    __tablename__ = "join_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    status: Mapped[JoinStatus] = mapped_column(_enum(JoinStatus), default=JoinStatus.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organization: Mapped[Organization] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class Invitation(db.Model):
    """An invitation for one email address to join an organization; only a hash of its token is kept."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(200), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    organization: Mapped[Organization] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])


class ColumnMapping(db.Model):
    """A saved mapping from a spreadsheet's own column names to import columns, reusable by name."""

    __tablename__ = "column_mapping"
    __table_args__ = (sa.UniqueConstraint("owner_id", "kind", "name", name="uq_column_mapping_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(10))  # DEMAND or OFFERING
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    # Shared mappings are offered to every curator; the others only to their owner.
    shared: Mapped[bool] = mapped_column(default=False)
    columns: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)  # sheet header → import column
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()


class ImportJob(db.Model):
    """One uploaded import file and where its check or commit stands, so pages show progress across restarts."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # DEMAND or OFFERING
    filename: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(100))  # the upload's file in DATA_DIR/imports/
    encoding: Mapped[str] = mapped_column(sa.String(20), default="")
    columns: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="uploaded", index=True)
    phase: Mapped[str] = mapped_column(sa.String(20), default="")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    # What the check or the commit found, written in each interface language: {"problems": …, "warnings": …}.
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # ids created and updated, proposals
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """A person's named key to the JSON API; only a SHA-256 hash of the token is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters of the token, so its owner can tell their tokens apart in the list.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship()
