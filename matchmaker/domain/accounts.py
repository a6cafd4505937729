"""Accounts: registering people, signing in, granting curator and admin roles, and deactivating accounts.

Registering never makes anyone a member of an organisation that already exists: a new name creates the
organisation with the person as its first member, a taken name only files a join request (`memberships`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import JoinRequest, Organization, OrgKind, Role, User
from ..vocabulary import ORG_KIND_LABELS, UI_LOCALES
from .errors import FieldError, PermissionDenied, ValidationFailed
from .passwords import check_password_strength, rehash_if_outdated

NAME_LENGTH = 120  # User.name's column
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
    locale: str = ""  # the interface language the person registered in; their emails follow it


def normalise_email(email: str) -> str:
    """Return the email trimmed and lower-cased, or raise ValidationFailed if it is not an address."""
    email = (email or "").strip().lower()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationFailed(_("Enter a valid email address."), field="email") from None
    return email


def find_user_by_email(email: str) -> User | None:
    """Return the user with this email, ignoring case and surrounding spaces."""
    return db.session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))


def find_organization(name: str) -> Organization | None:
    """Return the organisation with this name, ignoring case and surrounding spaces."""
    return db.session.scalar(sa.select(Organization).where(sa.func.lower(Organization.name) == name.strip().lower()))


def register_user(registration: Registration) -> User:
    """Open an account: in a new organisation as its first member, or with a request to join an existing one."""
    user = new_account(registration.email, registration.password, registration.name)
    kind = _organization_kind(registration.organization_kind)
    user.curator_requested = kind is OrgKind.AGENCY
    if registration.locale in UI_LOCALES:
        user.locale = registration.locale
    place_in_organization(user, registration.organization_name, kind, registration.city)
    return save_account(user)


def new_account(email: str, password: str, name: str) -> User:
    """Return an unsaved member account without an organisation, or raise ValidationFailed on bad input."""
    email = _new_email(email)
    check_password_strength(password, email, name)
    user = User(email=email, name=(name or "").strip(), organization=None, role=Role.MEMBER)
    user.set_password(password)
    return user


def place_in_organization(user: User, name: str, kind: OrgKind | str, city: str = "") -> Organization | JoinRequest:
    """Found a new organisation with the user as first member, or file a request to join the one of this name.

    Returns the new Organization or the pending JoinRequest; nothing is committed.
    """
    from .memberships import file_join_request  # memberships builds on this module

    organization = _organization_for(name, _organization_kind(kind), city)
    if not sa.inspect(organization).persistent:
        user.organization = organization
        return organization
    return file_join_request(user, organization)


def choose_organization(user: User, name: str, kind: OrgKind | str, city: str = "") -> Organization | JoinRequest:
    """Let a signed-in person without an organisation found one or ask to join one, and commit."""
    if user.organization_id is not None:
        raise ValidationFailed(_("You already belong to %(org)s.", org=user.organization.name))
    kind = _organization_kind(kind)
    result = place_in_organization(user, name, kind, city)
    if user.role is Role.MEMBER:
        user.curator_requested = kind is OrgKind.AGENCY
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(
            _("This organisation was registered a moment ago; please submit again."), field="organization_name"
        ) from None
    return result


def authenticate(email: str, password: str) -> User:
    """Return the user these credentials belong to, or raise ValidationFailed without saying which part was wrong."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
    elif user.check_password(password or ""):
        if not user.is_active:  # said only to someone who knows the password
            raise ValidationFailed(_("This account has been deactivated. Ask an administrator to reactivate it."))
        rehash_if_outdated(user, password)
        return user
    raise ValidationFailed(_("The email or password is not correct."))


def choose_locale(user: User, locale: str) -> User:
    """Keep the interface language a person chose in their profile, and commit."""
    if locale not in UI_LOCALES:
        raise ValidationFailed(_("Unknown language %(language)s.", language=locale), field="locale")
    user.locale = locale
    db.session.commit()
    return user


def update_profile(user: User, name: str, locale: str) -> User:
    """Keep a person's name and interface language (empty: follow the browser), and commit."""
    name = (name or "").strip()
    problems = []
    if not name:
        problems.append(FieldError("name", _("Enter your name.")))
    elif len(name) > NAME_LENGTH:
        problems.append(FieldError("name", _("Use at most %(count)d characters.", count=NAME_LENGTH)))
    if locale and locale not in UI_LOCALES:
        problems.append(FieldError("locale", _("Unknown language %(language)s.", language=locale)))
    if problems:
        raise ValidationFailed(errors=problems)
    user.name, user.locale = name, locale
    db.session.commit()
    return user


def deactivate_user(admin: User, user: User) -> User:
    """Stop an account from signing in; its open sessions end at their next request."""
    _require_admin(admin, _("Only administrators may deactivate accounts."))
    if user.id == admin.id:
        raise ValidationFailed(_("You cannot deactivate your own account."))
    if not user.active:
        raise ValidationFailed(_("%(email)s is already deactivated.", email=user.email))
    user.active = False
    db.session.commit()
    return user


def reactivate_user(admin: User, user: User) -> User:
    """Let a deactivated account sign in again."""
    _require_admin(admin, _("Only administrators may reactivate accounts."))
    if user.active:
        raise ValidationFailed(_("%(email)s is already active.", email=user.email))
    user.active = True
    db.session.commit()
    return user


def _require_admin(actor: User | None, message) -> None:
    """Raise PermissionDenied unless the actor is an active administrator."""
    if actor is None or not actor.is_admin or not actor.is_active:
        raise PermissionDenied(message)


def approve_curator(admin: User, user: User) -> User:
    """Make an agency member who asked for it a curator."""
    _require_admin(admin, _("Only administrators may approve curators."))
    if user.kind is not OrgKind.AGENCY or not user.curator_requested or user.role is not Role.MEMBER:
        raise ValidationFailed(_("%(email)s has no pending curator request.", email=user.email))
    user.role = Role.CURATOR
    user.curator_requested = False
    db.session.commit()
    return user


def create_admin(email: str, password: str, organization_name: str = ADMIN_ORGANIZATION) -> User:
    """Create an administrator in an agency organisation, creating the organisation if needed."""
    email = _new_email(email)
    check_password_strength(password, email)
    organization = _organization_for(organization_name, OrgKind.AGENCY)
    user = User(email=email, name=email.split("@")[0], organization=organization, role=Role.ADMIN)
    user.set_password(password)
    return save_account(user)


def pending_curator_requests() -> list[User]:
    """Return the agency members waiting for an administrator to make them curators, oldest first."""
    # Someone still waiting to join an agency is not yet one of its members, so not yet a candidate.
    return list(
        db.session.scalars(
            sa.select(User)
            .join(User.organization)
            .where(User.curator_requested.is_(True), User.role == Role.MEMBER, Organization.kind == OrgKind.AGENCY)
            .order_by(User.id)
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
    """Return the existing organisation of this name and kind, or a new unsaved one."""
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
                "Choose %(existing)s to ask to join it, or register under another name.",
                name=organization.name,
                existing=ORG_KIND_LABELS[organization.kind],
                chosen=ORG_KIND_LABELS[kind],
            ),
            field="organization_name",
        )
    return organization


def save_account(user: User) -> User:
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
