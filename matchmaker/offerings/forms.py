"""The form a vendor fills in to post or edit an offering."""

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from .. import taxonomy
from ..domain.postings import OfferingInput
from ..postings_forms import PostingForm, options
from ..vocabulary import DEPLOYMENT_LABELS, REGION_LABELS, REGIONS


class OfferingForm(PostingForm):
    """Post or edit an 「方案 Offering」."""

    input_class = OfferingInput

    industries_served = SelectMultipleField(_l("服務行業 Industries served"))
    deployment_modes = SelectMultipleField(_l("部署方式 Deployment modes"))
    price_min = IntegerField(_l("價格下限 Price from (CNY)"), validators=[Optional(), NumberRange(min=0)])
    price_max = IntegerField(_l("價格上限 Price up to (CNY)"), validators=[Optional(), NumberRange(min=0)])
    regions = SelectMultipleField(_l("服務地區 Regions served"))
    cities = StringField(_l("其他城市 Other cities (comma-separated)"), validators=[Length(max=300)])
    case_studies = TextAreaField(_l("案例 Case studies"))
    capacity = IntegerField(
        _l("可同時承接項目數 Projects you can take on at once"), default=3, validators=[NumberRange(min=1, max=1000)]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.industries_served.choices = options(taxonomy.industry_choices())
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
