"""Forms for registering and signing in."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..domain.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ..forms import language_options
from ..vocabulary import ORG_KIND_LABELS, UI_LOCALE_NAMES


def strip(value):
    """Drop the spaces people paste around names and addresses."""
    return value.strip() if isinstance(value, str) else value


def new_password_field(label) -> PasswordField:
    """Return a field for a new password, of the length the password rules allow (the domain checks the rest)."""
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH, message=_l("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
            ),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("Use at most %(count)d characters.", count=MAX_PASSWORD_LENGTH)),
        ],
    )


def repeat_password_field(label) -> PasswordField:
    """Return the field that repeats the new password."""
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(max=MAX_PASSWORD_LENGTH),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
    )


class AccountFields(FlaskForm):
    """The fields that open an account for a person: who they are and their password."""

    email = EmailField(_l("Email"), filters=[strip], validators=[DataRequired(), Email(), Length(max=200)])
    name = StringField(_l("Your name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    password = new_password_field(_l("Password"))
    confirm = repeat_password_field(_l("Repeat the password"))


class OrganizationFields(FlaskForm):
    """The fields that name an organisation to found or to ask to join."""

    organization_kind = RadioField(
        _l("Your organisation is a"),
        validators=[DataRequired()],
        choices=[SelectChoice(kind.value, label) for kind, label in ORG_KIND_LABELS.items()],
    )
    organization_name = StringField(
        _l("Organisation name"), filters=[strip], validators=[DataRequired(), Length(max=200)]
    )
    city = StringField(_l("City"), filters=[strip], validators=[Length(max=80)])


class RegistrationForm(AccountFields, OrganizationFields):
    """Open an account for a person and their organisation."""


class LoginForm(FlaskForm):
    """Sign in with email and password."""

    email = EmailField(_l("Email"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    remember = BooleanField(_l("Keep me signed in"))


class ForgotPasswordForm(FlaskForm):
    """Ask for a link to choose a new password."""

    email = EmailField(_l("Email"), filters=[strip], validators=[DataRequired(), Email(), Length(max=200)])


class NewPasswordFields(FlaskForm):
    """A new password, typed twice."""

    password = new_password_field(_l("New password"))
    confirm = repeat_password_field(_l("Repeat the new password"))


class ResetPasswordForm(NewPasswordFields):
    """Choose a new password from a reset link."""


class ChangePasswordForm(NewPasswordFields):
    """Change the password, proving who you are with the current one."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )


class ProfileForm(FlaskForm):
    """A person's name and interface language."""

    name = StringField(_l("Your name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    locale = SelectField(_l("Interface language"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = language_options({"": _l("As my browser asks"), **UI_LOCALE_NAMES})
