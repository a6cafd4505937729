"""Forms of the curator workspace."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..postings.forms import options
from ..vocabulary import REJECT_REASON_LABELS

BULK_ACTIONS = [
    ("shortlist", _l("Shortlist")),
    ("reject", _l("Reject")),
    ("introduce", _l("Introduce")),
]


class BulkDecisionForm(FlaskForm):
    """Apply one curator action to the ticked matches; match ids come as a `match_ids` list."""

    action = SelectField(_l("Action"), choices=options(BULK_ACTIONS), validators=[DataRequired()])
    reason = SelectField(
        _l("Reason (required to reject)"), choices=options({"": "—", **REJECT_REASON_LABELS}), validators=[Optional()]
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    next = HiddenField(validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Apply to selected"))


class ManualPairForm(FlaskForm):
    """Pair any published demand with any published offering."""

    demand_id = SelectField(_l("Demand"), coerce=int, validators=[DataRequired()])
    offering_id = SelectField(_l("Offering"), coerce=int, validators=[DataRequired()])
    note = TextAreaField(
        _l("Why this pairing (recorded in the audit trail)"), validators=[Optional(), Length(max=2000)]
    )
    submit = SubmitField(_l("Create pairing"))


class NoteForm(FlaskForm):
    """A private note on a match that only curators see."""

    body = TextAreaField(_l("Private note"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("Add note"))


class ApplyAssignmentForm(FlaskForm):
    """Shortlist the reviewed pairs of an assignment; the ticked ones come as a `match_ids` list."""

    per_demand = IntegerField(
        _l("Vendors per demand"), default=2, validators=[DataRequired(), NumberRange(min=1, max=20)]
    )
    submit = SubmitField(_l("Shortlist the selected pairs"))
