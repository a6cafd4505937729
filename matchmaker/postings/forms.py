"""Posting forms: the shared choice lists and fields, the form → input step, and one form per kind."""

from dataclasses import fields

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Optional

from .. import taxonomy
from ..domain.postings import DemandInput, OfferingInput
from ..forms import language_options, options
from ..vocabulary import (
    DEPLOYMENT_LABELS,
    INDUSTRY_GROUPS,
    REGION_LABELS,
    REGIONS,
    SCENARIO_STAGE_LABELS,
    TEXT_LANGUAGE_LABELS,
    VOUCHER_LABELS,
)


class PostingForm(FlaskForm):
    """Fields every posting has; subclasses add their own and name their input dataclass."""

    input_class: type

    title = StringField(_l("Title"))
    description = TextAreaField(_l("Description"))
    scenarios = SelectMultipleField(_l("AI scenarios"))
    language = SelectField(_l("Language"), default="")
    save = SubmitField(_l("Save as draft"))
    publish = SubmitField(_l("Publish"))
    version = HiddenField()  # the posting's version when the form was opened

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices are read per form so the taxonomy files are only needed once a page is served.
        self.scenarios.choices = scenario_options(str(get_locale()))
        self.language.choices = language_options(TEXT_LANGUAGE_LABELS)

    @classmethod
    def for_posting(cls, posting):
        """Return the form filled from a posting (on GET) or from the submitted data (on POST)."""
        form = cls(obj=posting)
        if not form.is_submitted():
            form.load_extra(posting)
        return form

    def load_extra(self, posting) -> None:
        """Fill fields that do not map one-to-one onto posting attributes."""

    def opened_version(self) -> int | None:
        """Return the version of the posting this form was opened on, if it says."""
        value = (self.version.data or "").strip() if isinstance(self.version.data, str) else self.version.data
        return int(value) if str(value or "").isdigit() else None

    def to_input(self):
        """Return the domain input built from the submitted fields."""
        return self.input_class(**{f.name: self.value_of(f.name) for f in fields(self.input_class)})

    def value_of(self, name: str):
        """Return one field's value as the domain expects it."""
        value = self[name].data
        return value.strip() if isinstance(value, str) else value


def scenario_options(locale: str) -> list[SelectChoice]:
    """Return the scenarios grouped by the stage of manufacturing they serve, labelled in the locale."""
    terms = taxonomy.scenarios()
    stages = list(SCENARIO_STAGE_LABELS)
    # A stable sort: within a stage the scenarios keep the catalogue's order.
    keys = sorted(terms, key=lambda key: stages.index(terms[key].stage) if terms[key].stage in stages else len(stages))
    return [
        SelectChoice(key, terms[key].label(locale), optgroup=SCENARIO_STAGE_LABELS.get(terms[key].stage))
        for key in keys
    ]


def industry_options(locale: str) -> list[SelectChoice]:
    """Return the manufacturing divisions grouped by sector, labelled in the locale."""
    return [
        SelectChoice(code, label, optgroup=industry_sector(code)) for code, label in taxonomy.industry_choices(locale)
    ]


def industry_sector(code: str):
    """Return the heading of the sector a two-digit division code belongs to."""
    return next(heading for first, heading in reversed(INDUSTRY_GROUPS) if code >= first)


class DemandForm(PostingForm):
    """Post or edit a 「需求 Demand」."""

    input_class = DemandInput

    industry = SelectField(_l("Industry"), default="")
    city = StringField(_l("City"))
    budget_min = IntegerField(_l("Budget from (CNY)"), validators=[Optional()])
    budget_max = IntegerField(_l("Budget up to (CNY)"), validators=[Optional()])
    budget_confidential = BooleanField(_l("Keep the budget confidential: only curators see it"))
    timeline = StringField(_l("Timeline"))
    deployment = SelectField(_l("Deployment"), default="")
    vouchers = SelectMultipleField(_l("Vouchers you hold or plan to use"))
    data_available = TextAreaField(_l("Data available"))
    expires_on = DateField(_l("Open until"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.industry.choices = [SelectChoice("", _l("— Not specified —")), *industry_options(str(get_locale()))]
        self.deployment.choices = options({"": _l("No preference"), **DEPLOYMENT_LABELS})
        self.vouchers.choices = options(VOUCHER_LABELS)

    def value_of(self, name: str):
        """Return one field's value; an unchosen industry is None rather than ''."""
        value = super().value_of(name)
        return (value or None) if name == "industry" else value


class OfferingForm(PostingForm):
    """Post or edit an 「方案 Offering」."""

    input_class = OfferingInput

    industries_served = SelectMultipleField(_l("Industries served"))
    deployment_modes = SelectMultipleField(_l("Deployment modes"))
    price_min = IntegerField(_l("Price from (CNY)"), validators=[Optional()])
    price_max = IntegerField(_l("Price up to (CNY)"), validators=[Optional()])
    regions = SelectMultipleField(_l("Regions served"))
    cities = StringField(_l("Other cities (comma-separated)"))
    case_studies = TextAreaField(_l("Case studies"))
    capacity = IntegerField(_l("Projects you can take on at once"), default=3, validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.industries_served.choices = industry_options(str(get_locale()))
        self.deployment_modes.choices = options(DEPLOYMENT_LABELS)
        self.regions.choices = options(REGION_LABELS)

    def load_extra(self, posting) -> None:
        """Split stored regions into the fixed choices and the free-text cities."""
        regions = posting.regions or []
        self.regions.data = [r for r in regions if r in REGIONS]
        self.cities.data = ", ".join(r for r in regions if r not in REGIONS)

    def value_of(self, name: str):
        """Return one field's value; regions join the chosen ones and the typed cities."""
        if name != "regions":
            return super().value_of(name)
        cities = [c.strip() for c in (self.cities.data or "").replace("，", ",").split(",") if c.strip()]
        return list(dict.fromkeys([*(self.regions.data or []), *cities]))
