"""Views for registering, signing in and signing out."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..access import login_required, safe_next
from ..domain import passwords
from ..domain.accounts import Registration, authenticate, choose_locale, register_user, update_profile
from ..domain.errors import ValidationFailed
from ..domain.memberships import pending_join_request
from ..extensions import limiter
from ..forms import show_refusal
from ..i18n import SESSION_KEY as LOCALE_KEY
from ..notifications.passwords import send_password_reset
from ..sessions import user_of_session
from ..vocabulary import UI_LOCALES
from .forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegistrationForm,
    ResetPasswordForm,
)

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _attempts_per_address() -> str:
    return current_app.config["MATCHMAKER_LOGIN_RATE_LIMIT"]


def _lockout() -> str:
    """Return the failed sign-ins one email address may have in the lockout window, as a rate limit."""
    config = current_app.config
    return f"{config['MATCHMAKER_LOCKOUT_FAILURES']} per {config['MATCHMAKER_LOCKOUT_MINUTES']} minutes"


def _attempted_email() -> str:
    """Key failed sign-ins by the email typed, known or not, so a lockout says nothing about who has an account."""
    return (request.form.get("email") or "").strip().lower()


def _sign_in_failed(response) -> bool:
    return response.status_code == 200  # the form shown again; success redirects


# Every POST counts against the client's address; only failures count against the email typed.
throttled = limiter.limit(_attempts_per_address, methods=["POST"], scope="attempts-per-address")


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
    user = user_of_session(user_id)
    if user is not None and not user.is_active:
        flash(_("Your account has been deactivated. Ask an administrator to reactivate it."), "error")
    elif user is not None:
        flash(_("Your password was changed, so you were signed out. Please sign in again."), "warning")


@bp.route("/register", methods=["GET", "POST"])
@throttled
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
                    locale=str(get_locale()),
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
@throttled
@limiter.limit(_lockout, key_func=_attempted_email, methods=["POST"], deduct_when=_sign_in_failed, scope="lockout")
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
            # A language chosen before signing in becomes the profile's, so emails follow it too.
            if not user.locale and session.get(LOCALE_KEY) in UI_LOCALES:
                choose_locale(user, session[LOCALE_KEY])
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, next=request.args.get("next", ""))


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign the current person out."""
    logout_user()
    flash(_("You are logged out."), "success")
    return redirect(url_for("main.index"))


# ---------------------------------------------------------------- forgotten passwords


@bp.route("/forgot", methods=["GET", "POST"])
@throttled
def forgot_password():
    """Send a reset link to the email given, if it has an account; say the same thing either way."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = passwords.request_password_reset(form.email.data)
        if found is not None:
            send_password_reset(*found)
        flash(
            _(
                "If an account uses %(email)s, we sent it a link to choose a new password. "
                "It works once, for %(hours)d hours.",
                email=form.email.data,
                hours=current_app.config["MATCHMAKER_PASSWORD_RESET_HOURS"],
            ),
            "success",
        )
        return redirect(url_for("auth.forgot_password"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@throttled
def reset_password(token: str):
    """Let the owner of a reset link choose a new password, which signs out every session."""
    try:
        passwords.user_for_reset_token(token)
    except ValidationFailed as error:
        flash(error.message, "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            passwords.reset_password(token, form.password.data)
        except ValidationFailed as error:
            show_refusal(form, error)
        else:
            logout_user()
            flash(_("Your password was changed. Sign in with the new one."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, token=token)


# ---------------------------------------------------------------- the profile


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Show and change the signed-in person's name and interface language."""
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            update_profile(current_user, form.name.data, form.locale.data)
        except ValidationFailed as error:
            show_refusal(form, error)
        else:
            session.pop(LOCALE_KEY, None)  # the profile's language now decides
            flash(_("Your profile was saved."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, password_form=ChangePasswordForm(formdata=None))


@bp.post("/password")
@login_required
@throttled
def change_password():
    """Change the signed-in person's password; every other session of theirs ends, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            passwords.change_password(user, form.current_password.data, form.password.data)
        except ValidationFailed as error:
            show_refusal(form, error)
        else:
            login_user(user)  # this session carries the new session version; the others no longer match
            flash(_("Your password was changed. Your other sessions were signed out."), "success")
            return redirect(url_for("auth.profile"))
    profile_form = ProfileForm(obj=current_user, formdata=None)
    return render_template("auth/profile.html", form=profile_form, password_form=form), 400
