"""The members page of the viewer's organisation, and the invitation link that lets a person in."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from ..access import member_required, unaffiliated_required
from ..domain import memberships
from ..domain.accounts import choose_organization
from ..domain.errors import DomainError, NotFound, PermissionDenied
from ..extensions import db
from ..forms import show_refusal
from ..models import Invitation, JoinRequest, User
from ..notifications.memberships import invitation_url
from ..vocabulary import ORG_KIND_LABELS, ROLE_LABELS
from .forms import ActionForm, ChooseOrganizationForm, InvitationForm, InvitedRegistrationForm

bp = Blueprint("organizations", __name__, url_prefix="/organization")


# ---------------------------------------------------------------- the members page


@bp.route("/")
@member_required
def index():
    """List the members, join requests and open invitations of the viewer's organisation."""
    return _members_page(InvitationForm())


@bp.post("/invitations")
@member_required
def invite():
    """Invite an email address and show the link to pass on."""
    form = InvitationForm()
    if not form.validate_on_submit():
        return _members_page(form), 400
    try:
        invitation, token = memberships.invite(_viewer(), form.email.data)
    except DomainError as error:
        db.session.rollback()
        show_refusal(form, error)
        return _members_page(form), error.status_code
    flash(_("Invitation created for %(email)s. Pass on the link below; it is shown only now.", email=invitation.email))
    # The token exists only in this response: only its hash was stored.
    return _members_page(InvitationForm(formdata=None), new_link=invitation_url(token))


@bp.post("/invitations/<int:invitation_id>/revoke")
@member_required
def revoke(invitation_id: int):
    """Withdraw an open invitation of the viewer's organisation."""
    invitation = _own(Invitation, invitation_id)
    return _act(lambda: memberships.revoke_invitation(_viewer(), invitation), _("Invitation revoked."))


@bp.post("/requests/<int:request_id>/approve")
@member_required
def approve(request_id: int):
    """Let a person who asked to join in."""
    join_request = _own(JoinRequest, request_id)
    email = join_request.user.email
    return _act(
        lambda: memberships.approve_join_request(_viewer(), join_request),
        _("%(email)s is now a member.", email=email),
    )


@bp.post("/requests/<int:request_id>/decline")
@member_required
def decline(request_id: int):
    """Turn down a request to join."""
    join_request = _own(JoinRequest, request_id)
    email = join_request.user.email
    return _act(
        lambda: memberships.decline_join_request(_viewer(), join_request),
        _("You declined the request from %(email)s.", email=email),
    )


@bp.post("/members/<int:user_id>/remove")
@member_required
def remove(user_id: int):
    """Take a member out of the viewer's organisation."""
    member = _own(User, user_id)
    email = member.email
    leaving = member.id == current_user.id
    response = _act(
        lambda: memberships.remove_member(_viewer(), member),
        _("You left the organisation.") if leaving else _("%(email)s is no longer a member.", email=email),
    )
    if leaving and member.organization_id is None:
        return redirect(url_for("main.dashboard"))
    return response


def _members_page(form: InvitationForm, new_link: str | None = None):
    organization = current_user.organization
    return render_template(
        "organizations/index.html",
        organization=organization,
        members=memberships.active_members(organization.id),
        requests=memberships.pending_join_requests(organization.id),
        invitations=memberships.open_invitations(organization.id),
        form=form,
        action_form=ActionForm(),
        new_link=new_link,
        kind_labels=ORG_KIND_LABELS,
        role_labels=ROLE_LABELS,
    )


def _own(model, id: int):
    """Return a row of the viewer's organisation; another organisation's rows do not exist for them."""
    row = db.session.get(model, id)
    if row is None or row.organization_id != current_user.organization_id:
        abort(404)
    return row


def _act(action, success: str):
    """Run a change posted with a valid form, and go back to the members page."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action()
    except PermissionDenied as error:
        db.session.rollback()
        return render_template("errors/error.html", code=403, message=error.message), 403
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for(".index"))


# ---------------------------------------------------------------- without an organisation


@bp.route("/choose", methods=["GET", "POST"])
@unaffiliated_required
def choose():
    """Let a person without an organisation found one, or ask to join a registered one."""
    pending = memberships.pending_join_request(_viewer())
    form = ChooseOrganizationForm()
    if pending is None and form.validate_on_submit():
        try:
            placed = choose_organization(
                _viewer(), form.organization_name.data, form.organization_kind.data, form.city.data or ""
            )
        except DomainError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            if isinstance(placed, JoinRequest):
                flash(_("We asked the members of %(org)s to let you in.", org=placed.organization.name), "success")
            else:
                flash(_("%(org)s is registered, with you as its first member.", org=placed.name), "success")
            return redirect(url_for("main.dashboard"))
    return render_template("organizations/choose.html", form=form, pending=pending)


@bp.post("/request/withdraw")
@unaffiliated_required
def withdraw():
    """Withdraw the viewer's own pending join request."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        memberships.withdraw_join_request(_viewer())
    except NotFound:
        abort(404)
    flash(_("Your request was withdrawn."), "success")
    return redirect(url_for("main.dashboard"))


# ---------------------------------------------------------------- the invitation link


@bp.route("/join/<token>", methods=["GET", "POST"])
def join(token: str):
    """Register from an invitation, or join with the account already signed in."""
    try:
        invitation = memberships.usable_invitation(token)
    except DomainError as error:
        return render_template("organizations/invalid.html", message=error.message), error.status_code
    if current_user.is_authenticated:
        return _join_signed_in(invitation, token)
    form = InvitedRegistrationForm(data={"email": invitation.email} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            user = memberships.register_invited(
                memberships.InvitedRegistration(token, form.email.data, form.password.data, form.name.data)
            )
        except DomainError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            login_user(user)
            flash(_("Welcome to %(org)s on Matchmaker.", org=invitation.organization.name), "success")
            return redirect(url_for("main.dashboard"))
    return render_template("organizations/join.html", invitation=invitation, form=form, token=token)


def _join_signed_in(invitation: Invitation, token: str):
    """Accept the invitation for the signed-in account, after it confirmed with a POST."""
    form = ActionForm()
    if form.validate_on_submit():
        try:
            memberships.accept_invitation(_viewer(), token)
        except DomainError as error:
            db.session.rollback()
            return render_template("organizations/invalid.html", message=error.message), error.status_code
        flash(_("You are now a member of %(org)s.", org=invitation.organization.name), "success")
        return redirect(url_for(".index"))
    problem, status = None, 200
    if current_user.organization_id is not None:
        problem, status = _("You already belong to an organisation; one account belongs to one organisation."), 409
    elif current_user.email != invitation.email:
        problem = _("This invitation was sent to another email address. Sign in with that address to accept it.")
        status = 403
    page = render_template("organizations/accept.html", invitation=invitation, form=form, problem=problem)
    return page, status


def _viewer() -> User:
    """Return the signed-in user itself, not the proxy, for the domain layer."""
    return current_user._get_current_object()
