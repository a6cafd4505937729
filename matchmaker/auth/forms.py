"""Forms for registering and signing in."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..domain.accounts import MIN_PASSWORD_LENGTH
from ..vocabulary import ORG_KIND_LABELS


def strip(value):
    """Drop the spaces people paste around names and addresses."""
    return value.strip() if isinstance(value, str) else value


class AccountFields(FlaskForm):
    """The fields that open an account for a person: who they are and their password."""

    email = EmailField(_l("Email"), filters=[strip], validators=[DataRequired(), Email(), Length(max=200)])
    name = StringField(_l("Your name"), filters=[strip], validators=[DataRequired(), Length(max=120)])
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH, message=_l("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)
            ),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords do not match."))],
    )


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

    email = EmailField(_l("Email"), filters=[strip], validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me signed in"))
