"""Form pieces demands and offerings share: the common fields, choice options and the form → input step."""

from dataclasses import fields

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from . import taxonomy
from .vocabulary import TEXT_LANGUAGE_LABELS


class PostingForm(FlaskForm):
    """Fields every posting has; subclasses add their own and name their input dataclass."""

    input_class: type

    title = StringField(_l("標題 Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("描述 Description"), validators=[DataRequired()])
    scenarios = SelectMultipleField(_l("AI 場景 AI scenarios"))
    language = SelectField(_l("語言 Language"), default="")
    save = SubmitField(_l("Save as draft"))
    publish = SubmitField(_l("Publish"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices are read per form so the taxonomy files are only needed once a page is served.
        self.scenarios.choices = options(taxonomy.scenario_choices())
        self.language.choices = options(TEXT_LANGUAGE_LABELS)

    @classmethod
    def for_posting(cls, posting):
        """Return the form filled from a posting (on GET) or from the submitted data (on POST)."""
        form = cls(obj=posting)
        if not form.is_submitted():
            form.load_extra(posting)
        return form

    def load_extra(self, posting) -> None:
        """Fill fields that do not map one-to-one onto posting attributes."""

    def to_input(self):
        """Return the domain input built from the submitted fields."""
        return self.input_class(**{f.name: self.value_of(f.name) for f in fields(self.input_class)})

    def value_of(self, name: str):
        """Return one field's value as the domain expects it."""
        value = self[name].data
        return value.strip() if isinstance(value, str) else value

    def add_error(self, name: str | None, message: str) -> None:
        """Show a domain error next to its field, or above the form when no field fits."""
        if name and name in self:
            self[name].errors = [*self[name].errors, message]
        else:
            self.form_errors.append(message)


def options(pairs) -> list[SelectChoice]:
    """Return select options from (value, label) pairs, or from a label mapping."""
    pairs = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label) for value, label in pairs]
