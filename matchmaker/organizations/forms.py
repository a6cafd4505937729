"""Forms of the members page, the invitation link and the join-or-found page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..auth.forms import strip
from ..domain.accounts import MIN_PASSWORD_LENGTH
from ..vocabulary import ORG_KIND_LABELS


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""


class InvitationForm(FlaskForm):
    """Invite an email address into the organisation."""

    email = EmailField(_l("Email to invite"), filters=[strip], validators=[DataRequired(), Email(), Length(max=200)])
    submit = SubmitField(_l("Create invitation"))


class InvitedRegistrationForm(FlaskForm):
    """Open an account from an invitation: the organisation comes with the link."""

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


class ChooseOrganizationForm(FlaskForm):
    """Found a new organisation, or ask to join one that is registered."""

    organization_kind = RadioField(
        _l("Your organisation is a"),
        validators=[DataRequired()],
        choices=[SelectChoice(kind.value, label) for kind, label in ORG_KIND_LABELS.items()],
    )
    organization_name = StringField(
        _l("Organisation name"), filters=[strip], validators=[DataRequired(), Length(max=200)]
    )
    city = StringField(_l("City"), filters=[strip], validators=[Length(max=80)])
