"""Forms of the API tokens page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import Length

from ..auth.forms import strip
from ..domain.tokens import NAME_MAX


class TokenForm(FlaskForm):
    """Name a new API token; the domain checks the name."""

    name = StringField(_l("Token name"), filters=[strip], validators=[Length(max=NAME_MAX)])
    submit = SubmitField(_l("Create token"))


class RevokeForm(FlaskForm):
    """A revoke button: only the CSRF token travels with it."""
