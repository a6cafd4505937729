"""Memberships: the two ways into an organisation that exists — an invitation, or a request a member approves.

A person without an organisation (`User.organization_id` NULL) sees only what is public. Members of an
organisation invite email addresses, decide its join requests and remove members; administrators may decide
any join request. Invitation tokens are random and only their SHA-256 is stored.

Each step is announced on `signals.membership_changed` inside its transaction; telling people about it (in
the app, and the invitation email with its link) is the notifications package's work.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..extensions import db
from ..models import Invitation, JoinRequest, Organization, OrgKind, Role, User, utcnow
from ..signals import membership_changed
from ..vocabulary import INVITATION_STATUS_LABELS, JoinStatus, MembershipStep
from .accounts import find_user_by_email, new_account, normalise_email, save_account
from .errors import IllegalTransition, NotFound, PermissionDenied, ValidationFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvitedRegistration:
    """What a person gives to open an account from an invitation link."""

    token: str
    email: str
    password: str
    name: str


# ---------------------------------------------------------------- who may do what


def is_member(user: User | None, organization_id: int | None) -> bool:
    """Return whether the user is an active member of the organisation."""
    return (
        user is not None and user.is_active and organization_id is not None and user.organization_id == organization_id
    )


def can_manage(user: User | None, organization_id: int) -> bool:
    """Return whether the user may decide who belongs to the organisation: its members and administrators."""
    return is_member(user, organization_id) or (user is not None and user.is_active and user.is_admin)


def _require_manager(actor: User | None, organization_id: int) -> None:
    if not can_manage(actor, organization_id):
        raise PermissionDenied(_("Only members of this organisation or administrators may do this."))


def _own_organization(actor: User | None) -> Organization:
    """Return the actor's organisation, or raise PermissionDenied if they have none."""
    if actor is None or not actor.is_active or actor.organization is None:
        raise PermissionDenied(_("Only members of an organisation may do this."))
    return actor.organization


def active_members(organization_id: int) -> list[User]:
    """Return the organisation's active members, by name."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.organization_id == organization_id, User.active.is_(True))
            .order_by(User.name, User.email)
        )
    )


def _join(user: User, organization: Organization) -> None:
    """Make the user a member; agency members ask for curation as agency registrations do."""
    user.organization = organization
    if user.role is Role.MEMBER:
        user.curator_requested = organization.kind is OrgKind.AGENCY


# ---------------------------------------------------------------- join requests


def pending_join_request(user: User | None) -> JoinRequest | None:
    """Return the user's join request that waits for a decision, if any."""
    if user is None or user.id is None:
        return None
    return db.session.scalar(
        sa.select(JoinRequest).where(JoinRequest.user_id == user.id, JoinRequest.status == JoinStatus.PENDING)
    )


def pending_join_requests(organization_id: int | None = None) -> list[JoinRequest]:
    """Return the join requests waiting for a decision, oldest first; all of them when no organisation is given."""
    query = sa.select(JoinRequest).where(JoinRequest.status == JoinStatus.PENDING)
    if organization_id is not None:
        query = query.where(JoinRequest.organization_id == organization_id)
    return list(db.session.scalars(query.order_by(JoinRequest.created_at, JoinRequest.id)))


def file_join_request(user: User, organization: Organization) -> JoinRequest:
    """Add a pending request for the user to join the organisation and announce it; nothing is committed."""
    if user.organization_id is not None:
        raise ValidationFailed(_("You already belong to an organisation."))
    if pending_join_request(user) is not None:
        raise ValidationFailed(_("You already asked to join an organisation; wait for the answer or withdraw it."))
    if user.id is not None and _was_declined(user, organization):
        raise ValidationFailed(
            _(
                "%(org)s declined your request to join. Ask one of its members for an invitation.",
                org=organization.name,
            ),
            field="organization_name",
        )
    request = JoinRequest(user=user, organization=organization, status=JoinStatus.PENDING)
    db.session.add(request)
    # The caller commits, so follow-ups cannot run here; receivers of a join request add rows only.
    _announce(organization, MembershipStep.JOIN_REQUESTED, user, user)
    return request


def approve_join_request(actor: User, request: JoinRequest) -> JoinRequest:
    """Make the requester a member of the organisation they asked to join."""
    _require_manager(actor, request.organization_id)
    if request.user.organization_id is not None:
        raise ValidationFailed(_("%(email)s already belongs to an organisation.", email=request.user.email))
    _decide(request, actor, JoinStatus.APPROVED)
    _join(request.user, request.organization)
    _announce_and_commit(request.organization, MembershipStep.JOIN_APPROVED, actor, request.user)
    return request


def decline_join_request(actor: User, request: JoinRequest) -> JoinRequest:
    """Turn down a request to join; the requester keeps an account without an organisation."""
    _require_manager(actor, request.organization_id)
    _decide(request, actor, JoinStatus.DECLINED)
    _announce_and_commit(request.organization, MembershipStep.JOIN_DECLINED, actor, request.user)
    return request


def withdraw_join_request(user: User) -> JoinRequest:
    """Withdraw the user's own pending join request."""
    request = pending_join_request(user)
    if request is None:
        raise NotFound(_("You have no join request waiting."))
    _decide(request, user, JoinStatus.WITHDRAWN)
    _announce_and_commit(request.organization, MembershipStep.JOIN_WITHDRAWN, user, user)
    return request


def _decide(request: JoinRequest, actor: User | None, status: JoinStatus) -> None:
    """Close a pending request, only if nobody decided it meanwhile (two members may click at once)."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(JoinRequest)
        .where(JoinRequest.id == request.id, JoinRequest.status == JoinStatus.PENDING)
        .values(status=status, decided_at=now, decided_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise ValidationFailed(_("This request was already answered."))
    db.session.refresh(request)


def _was_declined(user: User, organization: Organization) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count(JoinRequest.id)).where(
                JoinRequest.user_id == user.id,
                JoinRequest.organization_id == organization.id,
                JoinRequest.status == JoinStatus.DECLINED,
            )
        )
    )


def _withdraw_pending(user: User, actor: User | None) -> None:
    """Close the user's pending request once they joined some other way."""
    request = pending_join_request(user)
    if request is not None:
        _decide(request, actor, JoinStatus.WITHDRAWN)


# ---------------------------------------------------------------- invitations


def hash_token(token: str) -> str:
    """Return the stored form of a secret token (an invitation's, an API token): its SHA-256."""
    return hashlib.sha256((token or "").encode()).hexdigest()


def invitation_status(invitation: Invitation, now: datetime | None = None) -> str:
    """Return one of `INVITATION_STATUSES`: 'accepted', 'revoked', 'expired' or 'open'."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if _aware(invitation.expires_at) <= (now or utcnow()):
        return "expired"
    return "open"


def open_invitations(organization_id: int) -> list[Invitation]:
    """Return the organisation's invitations that can still be used, newest first."""
    query = sa.select(Invitation).where(
        Invitation.organization_id == organization_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    return list(db.session.scalars(query.order_by(Invitation.created_at.desc(), Invitation.id.desc())))


def invite(actor: User, email: str) -> tuple[Invitation, str]:
    """Invite an email address into the actor's organisation; return the invitation and its one-time token."""
    organization = _own_organization(actor)
    email = normalise_email(email)
    existing = find_user_by_email(email)
    if existing is not None and existing.organization_id == organization.id:
        raise ValidationFailed(
            _("%(email)s is already a member of %(org)s.", email=email, org=organization.name), field="email"
        )
    now = utcnow()
    # Only the hash is kept, so an earlier link cannot be shown again; the new one replaces it.
    for earlier in open_invitations(organization.id):
        if earlier.email == email:
            earlier.revoked_at = now
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization=organization,
        email=email,
        token_hash=hash_token(token),
        invited_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=_invitation_days()),
    )
    db.session.add(invitation)
    _announce_and_commit(organization, MembershipStep.INVITED, actor, None, invitation=invitation, token=token)
    return invitation, token


def revoke_invitation(actor: User, invitation: Invitation) -> Invitation:
    """Make an open invitation unusable."""
    _require_manager(actor, invitation.organization_id)
    status = invitation_status(invitation)
    if status != "open":
        raise ValidationFailed(_("This invitation is already %(status)s.", status=INVITATION_STATUS_LABELS[status]))
    invitation.revoked_at = utcnow()
    db.session.commit()
    return invitation


def usable_invitation(token: str) -> Invitation:
    """Return the open invitation behind a token, or raise NotFound / ValidationFailed saying why it is not."""
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None:
        raise NotFound(_("This invitation link is not valid. Check the link, or ask for a new invitation."))
    status = invitation_status(invitation)
    if status == "accepted":
        raise ValidationFailed(_("This invitation has already been used. Log in, or ask for a new invitation."))
    if status == "revoked":
        raise ValidationFailed(_("This invitation was withdrawn. Ask a member of the organisation for a new one."))
    if status == "expired":
        raise ValidationFailed(_("This invitation has expired. Ask a member of the organisation for a new one."))
    return invitation


def accept_invitation(user: User, token: str) -> Invitation:
    """Let a signed-in person without an organisation join the one that invited their email address."""
    invitation = usable_invitation(token)
    # Belonging somewhere already is a conflict of state (409), as the invitation page says before the POST.
    if user.organization_id == invitation.organization_id:
        raise IllegalTransition(_("You are already a member of %(org)s.", org=invitation.organization.name))
    if user.organization_id is not None:
        raise IllegalTransition(
            _("You already belong to %(org)s; one account belongs to one organisation.", org=user.organization.name)
        )
    if user.email != invitation.email:
        raise PermissionDenied(
            _("This invitation was sent to another email address. Sign in with that address to accept it.")
        )
    _use(invitation, user)
    _withdraw_pending(user, user)
    _join(user, invitation.organization)
    _announce_and_commit(
        invitation.organization, MembershipStep.JOINED_BY_INVITATION, user, user, invitation=invitation
    )
    return invitation


def register_invited(registration: InvitedRegistration) -> User:
    """Open an account as a member of the organisation whose invitation it comes with."""
    invitation = usable_invitation(registration.token)
    if normalise_email(registration.email) != invitation.email:
        raise ValidationFailed(
            _("This invitation is for %(email)s; register with that address.", email=invitation.email), field="email"
        )
    user = new_account(registration.email, registration.password, registration.name)
    _join(user, invitation.organization)
    with db.session.no_autoflush:  # the account is written once, by save_account, which handles a lost race
        _use(invitation, user)
        replies = _announce(
            invitation.organization, MembershipStep.JOINED_BY_INVITATION, user, user, invitation=invitation
        )
    save_account(user)
    _after_commit(replies)
    return user


def _use(invitation: Invitation, user: User) -> None:
    """Mark the invitation used, only if it is still open (a link opened twice at once joins once)."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise ValidationFailed(_("This invitation has already been used. Log in, or ask for a new invitation."))
    invitation.accepted_at = now
    invitation.accepted_by = user


def _invitation_days() -> int:
    return current_app.config["MATCHMAKER_INVITATION_EXPIRY_DAYS"]


# ---------------------------------------------------------------- removing members


def remove_member(actor: User, member: User) -> User:
    """Take a member out of their organisation; the organisation always keeps an active member."""
    organization = member.organization
    if organization is None:
        raise NotFound(_("%(email)s belongs to no organisation.", email=member.email))
    _require_manager(actor, organization.id)
    if member.is_curator and not actor.is_admin:
        raise PermissionDenied(_("Only administrators may remove a curator or administrator from an organisation."))
    # Lock the organisation so two members removing each other at once cannot both succeed.
    db.session.execute(sa.select(Organization.id).where(Organization.id == organization.id).with_for_update())
    if not [other for other in active_members(organization.id) if other.id != member.id]:
        raise ValidationFailed(
            _(
                "%(who)s is the last active member of %(org)s; invite someone else first.",
                who=member.name or member.email,
                org=organization.name,
            )
        )
    member.organization = None
    member.curator_requested = False
    _announce_and_commit(organization, MembershipStep.REMOVED, actor, member)
    return member


# ---------------------------------------------------------------- helpers


def _announce(
    organization: Organization, step: MembershipStep, actor: User | None, user: User | None, **details
) -> list[tuple]:
    """Announce a step on `membership_changed`, inside its transaction; return the receivers' replies."""
    return membership_changed.send(organization, step=step, actor=actor, user=user, **details)


def _announce_and_commit(
    organization: Organization, step: MembershipStep, actor: User | None, user: User | None, **details
) -> None:
    """Announce the step and commit it with what receivers added, then run their follow-ups; a failure runs none."""
    try:
        replies = _announce(organization, step, actor, user, **details)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _after_commit(replies)


def _after_commit(replies: list[tuple]) -> None:
    """Run the follow-up work membership_changed receivers returned, now that the step has committed."""
    for receiver, follow_up in replies:
        if not callable(follow_up):
            continue
        try:
            follow_up()
        except Exception:  # the step is committed; its follow-ups must never undo or break it
            log.exception("Follow-up of a membership step by %r failed", receiver)


def _aware(moment: datetime) -> datetime:
    """Return the moment as UTC-aware; SQLite hands timestamps back naive."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
