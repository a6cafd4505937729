"""Forms of the import pages: upload a file, then confirm its column mapping."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from ..domain.spreadsheets import ENCODINGS
from ..postings.forms import options
from ..vocabulary import DEMAND, OFFERING

KIND_CHOICES = [(DEMAND, _l("Demands (a demand list)")), (OFFERING, _l("Offerings (a supply list)"))]
ENCODING_LABELS = {
    "": _l("Detect it"),
    "utf-8": _l("UTF-8"),
    "gb18030": _l("GBK / GB18030 (Simplified Chinese)"),
    "big5": _l("Big5 (Traditional Chinese)"),
}
assert set(ENCODING_LABELS) == {"", *ENCODINGS}


class UploadForm(FlaskForm):
    """A file of demands or offerings, and the CSV encoding if it is known."""

    kind = SelectField(_l("The file lists"), choices=options(KIND_CHOICES), validators=[DataRequired()])
    file = FileField(_l("CSV, XLSX or JSON file"), validators=[FileRequired()])
    encoding = SelectField(_l("Encoding (CSV)"), choices=options(ENCODING_LABELS), validators=[Optional()])
    submit = SubmitField(_l("Upload"))


class MappingForm(FlaskForm):
    """The encoding and, beside the per-column choices, a name to save the mapping under."""

    encoding = SelectField(_l("Encoding (CSV)"), choices=options(ENCODING_LABELS), validators=[Optional()])
    mapping = SelectField(_l("Start from a saved mapping"), choices=[], validators=[Optional()], validate_choice=False)
    save_as = StringField(_l("Save this mapping as"), validators=[Optional(), Length(max=100)])
    shared = BooleanField(_l("Share it with every curator"))
    submit = SubmitField(_l("Check the rows"))


class CommitForm(FlaskForm):
    """Confirm the import of a checked file."""

    submit = SubmitField(_l("Import every row"))
