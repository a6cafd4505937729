"""Views for registering, signing in and signing out."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..access import safe_next
from ..domain.accounts import Registration, authenticate, register_user
from ..domain.errors import ValidationFailed
from ..domain.memberships import pending_join_request
from ..extensions import db
from ..forms import show_refusal
from ..models import User
from .forms import LoginForm, RegistrationForm

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.before_app_request
def end_deactivated_session() -> None:
    """Sign out a session whose account was deactivated (or deleted) since it signed in, and say why."""
    if request.endpoint == "static" or current_user.is_authenticated:
        return
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    user_id = session.get("_user_id")
    if user_id is None and remember not in request.cookies:
        return
    logout_user()  # also drops the remember-me cookie, so the session cannot come back by itself
    user = db.session.get(User, int(user_id)) if str(user_id or "").isdigit() else None
    if user is not None and not user.is_active:
        flash(_("Your account has been deactivated. Ask an administrator to reactivate it."), "error")


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Open an account and sign the new person in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = register_user(
                Registration(
                    email=form.email.data,
                    password=form.password.data,
                    name=form.name.data,
                    organization_name=form.organization_name.data,
                    organization_kind=form.organization_kind.data,
                    city=form.city.data or "",
                )
            )
        except ValidationFailed as error:
            show_refusal(form, error)
        else:
            login_user(user)
            flash(_("Welcome to Matchmaker, %(name)s.", name=user.name or user.email), "success")
            join_request = pending_join_request(user)
            if join_request is not None:
                flash(
                    _(
                        "%(org)s is already registered. We asked its members to let you in; "
                        "until one of them approves, you see only what is public.",
                        org=join_request.organization.name,
                    ),
                    "warning",
                )
            elif user.curator_requested:
                flash(
                    _(
                        "Your request to curate for %(org)s awaits an administrator's approval.",
                        org=user.organization.name,
                    ),
                    "warning",
                )
            return redirect(url_for("main.dashboard"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign a person in and send them where they were going."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except ValidationFailed as error:
            show_refusal(form, error)
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, next=request.args.get("next", ""))


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign the current person out."""
    logout_user()
    flash(_("You are logged out."), "success")
    return redirect(url_for("main.index"))
