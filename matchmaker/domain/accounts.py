"""Accounts: registering people into organisations, signing in, and granting curator and admin roles."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Organization, OrgKind, Role, User
from ..vocabulary import ORG_KIND_LABELS
from .errors import PermissionDenied, ValidationFailed

MIN_PASSWORD_LENGTH = 10
ADMIN_ORGANIZATION = "Matchmaker Administration"
# Checked against when the email is unknown, so a failed sign-in takes as long either way.
_DUMMY_HASH = generate_password_hash("not a real password")


@dataclass(frozen=True)
class Registration:
    """What a person gives to open an account."""

    email: str
    password: str
    name: str
    organization_name: str
    organization_kind: OrgKind | str
    city: str = ""


def normalise_email(email: str) -> str:
    """Return the email trimmed and lower-cased, or raise ValidationFailed if it is not an address."""
    email = (email or "").strip().lower()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationFailed(_("Enter a valid email address."), field="email") from None
    return email


def check_password_strength(password: str) -> None:
    """Raise ValidationFailed if the password is too short."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(_("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH), field="password")


def find_user_by_email(email: str) -> User | None:
    """Return the user with this email, ignoring case and surrounding spaces."""
    return db.session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))


def find_organization(name: str) -> Organization | None:
    """Return the organisation with this name, ignoring case and surrounding spaces."""
    return db.session.scalar(sa.select(Organization).where(sa.func.lower(Organization.name) == name.strip().lower()))


def register_user(registration: Registration) -> User:
    """Open an account, creating the organisation or joining the existing one of the same kind."""
    email = _new_email(registration.email)
    check_password_strength(registration.password)
    kind = _organization_kind(registration.organization_kind)
    organization = _organization_for(registration.organization_name, kind, registration.city)
    user = User(
        email=email,
        name=registration.name.strip(),
        organization=organization,
        role=Role.MEMBER,
        curator_requested=kind is OrgKind.AGENCY,
    )
    user.set_password(registration.password)
    return _save(user)


def authenticate(email: str, password: str) -> User:
    """Return the user these credentials belong to, or raise ValidationFailed without saying which part was wrong."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
    elif user.check_password(password or ""):
        return user
    raise ValidationFailed(_("The email or password is not correct."))


def approve_curator(admin: User, user: User) -> User:
    """Make an agency member who asked for it a curator."""
    if not admin.is_admin:
        raise PermissionDenied(_("Only administrators may approve curators."))
    if user.kind is not OrgKind.AGENCY or not user.curator_requested or user.role is not Role.MEMBER:
        raise ValidationFailed(_("%(email)s has no pending curator request.", email=user.email))
    user.role = Role.CURATOR
    user.curator_requested = False
    db.session.commit()
    return user


def create_admin(email: str, password: str, organization_name: str = ADMIN_ORGANIZATION) -> User:
    """Create an administrator in an agency organisation, creating the organisation if needed."""
    email = _new_email(email)
    check_password_strength(password)
    organization = _organization_for(organization_name, OrgKind.AGENCY)
    user = User(email=email, name=email.split("@")[0], organization=organization, role=Role.ADMIN)
    user.set_password(password)
    return _save(user)


def pending_curator_requests() -> list[User]:
    """Return the agency members waiting for an administrator to make them curators, oldest first."""
    return list(
        db.session.scalars(
            sa.select(User).where(User.curator_requested.is_(True), User.role == Role.MEMBER).order_by(User.id)
        )
    )


def _new_email(email: str) -> str:
    """Return the normalised email, or raise ValidationFailed if it is invalid or taken."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise ValidationFailed(_("An account with this email already exists."), field="email")
    return email


def _organization_kind(value: OrgKind | str) -> OrgKind:
    """Return the organisation kind, or raise ValidationFailed if it is not one."""
    try:
        return OrgKind(value)
    except ValueError:
        raise ValidationFailed(_("Choose manufacturer, vendor or agency."), field="organization_kind") from None


def _organization_for(name: str, kind: OrgKind, city: str = "") -> Organization:
    """Return the existing organisation of this name and kind, or a new one."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Enter your organisation's name."), field="organization_name")
    organization = find_organization(name)
    if organization is None:
        return Organization(name=name, kind=kind, city=(city or "").strip())
    if organization.kind is not kind:
        raise ValidationFailed(
            _(
                "%(name)s is already registered as %(existing)s, not %(chosen)s. "
                "Choose %(existing)s to join it, or register under another name.",
                name=organization.name,
                existing=ORG_KIND_LABELS[organization.kind],
                chosen=ORG_KIND_LABELS[kind],
            ),
            field="organization_name",
        )
    return organization


def _save(user: User) -> User:
    """Commit a new user; losing a race for the same email or organisation becomes a ValidationFailed."""
    email = user.email
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if find_user_by_email(email) is not None:
            raise ValidationFailed(_("An account with this email already exists."), field="email") from None
        raise ValidationFailed(
            _("This organisation was registered a moment ago; please submit again."), field="organization_name"
        ) from None
    return user
