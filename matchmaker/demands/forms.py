"""The form a manufacturer fills in to post or edit a demand."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from .. import taxonomy
from ..domain.postings import DemandInput
from ..postings_forms import PostingForm, options
from ..vocabulary import DEPLOYMENT_LABELS, VOUCHER_LABELS


class DemandForm(PostingForm):
    """Post or edit a 「需求 Demand」."""

    input_class = DemandInput

    industry = SelectField(_l("行業 Industry"), default="")
    city = StringField(_l("城市 City"), validators=[Length(max=80)])
    budget_min = IntegerField(_l("預算下限 Budget from (CNY)"), validators=[Optional(), NumberRange(min=0)])
    budget_max = IntegerField(_l("預算上限 Budget up to (CNY)"), validators=[Optional(), NumberRange(min=0)])
    timeline = StringField(_l("時間表 Timeline"), validators=[Length(max=100)])
    deployment = SelectField(_l("部署方式 Deployment"), default="")
    vouchers = SelectMultipleField(_l("補貼券 Vouchers you hold or plan to use"))
    data_available = TextAreaField(_l("可用數據 Data available"))
    expires_on = DateField(_l("截止日期 Open until"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.industry.choices = options([("", _l("— 未指定 Not specified —")), *taxonomy.industry_choices()])
        self.deployment.choices = options({"": _l("不限 No preference"), **DEPLOYMENT_LABELS})
        self.vouchers.choices = options(VOUCHER_LABELS)

    def value_of(self, name: str):
        """Return one field's value; an unchosen industry is None rather than ''."""
        value = super().value_of(name)
        return (value or None) if name == "industry" else value
