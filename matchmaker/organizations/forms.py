"""Forms of the members page, the invitation link and the join-or-found page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from ..auth.forms import AccountFields, OrganizationFields, strip


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""


class InvitationForm(FlaskForm):
    """Invite an email address into the organisation."""

    email = EmailField(_l("Email to invite"), filters=[strip], validators=[DataRequired(), Email(), Length(max=200)])
    submit = SubmitField(_l("Create invitation"))


class InvitedRegistrationForm(AccountFields):
    """Open an account from an invitation: the organisation comes with the link."""


class ChooseOrganizationForm(OrganizationFields):
    """Found a new organisation, or ask to join one that is registered."""
