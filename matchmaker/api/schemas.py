"""What the API reads and writes, as marshmallow schemas; the OpenAPI document is generated from them.

Request schemas check only the JSON types. Every rule about the values (required text, lengths, known
scenarios, ranges, dates) is the domain's, so the API and the web forms refuse the same input alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields
from marshmallow.validate import Length, OneOf, Range

from ..domain.postings import can_see_budget
from ..domain.search import KINDS, MAX_QUERY
from ..models import PostingStatus
from ..vocabulary import POSTING_KINDS, MatchStatus
from .auth import current_api_user

MAX_LIMIT = 100
MAX_PAGE = 100_000
MAX_ID = 2**31 - 1


def _range(low: int, high: int) -> Range:
    return Range(min=low, max=high, error=_l("Must be from {min} to {max}."))


def _one_of(choices) -> OneOf:
    return OneOf(list(choices), error=_l("Must be one of: {choices}."))


class UtcDateTime(fields.DateTime):
    """A moment in ISO 8601 with its offset; SQLite hands timestamps back without one, in UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def _text(description: str = "", **kwargs) -> fields.String:
    return fields.String(metadata={"description": description} if description else {}, **kwargs)


def _whole(description: str = "") -> fields.Integer:
    return fields.Integer(strict=True, allow_none=True, metadata={"description": description})


def _keys(description: str) -> fields.List:
    return fields.List(fields.String(), metadata={"description": description})


# ---------------------------------------------------------------- requests


class DemandFields(ma.Schema):
    """A demand's editable fields; on update, the fields sent replace the current ones."""

    title = _text("required on creation; at most 200 characters")
    description = _text("required on creation")
    scenarios = _keys("scenario keys from /taxonomy")
    industry = _text("GB/T 4754-2017 division code from /taxonomy", allow_none=True)
    city = _text()
    budget_min = _whole("whole CNY")
    budget_max = _whole("whole CNY")
    budget_confidential = fields.Boolean(
        metadata={"description": "show the budget only to your organisation and curators (matching still uses it)"}
    )
    timeline = _text()
    deployment = _text("`on_premises`, `edge` or `cloud`; empty for no preference")
    vouchers = _keys("compute, model, training")
    data_available = _text()
    expires_on = fields.Date(allow_none=True, metadata={"description": "YYYY-MM-DD, not in the past"})
    language = _text("zh-Hant, zh-Hans or en; empty to detect")


class NewDemand(DemandFields):
    """A new demand: its fields, and your own key for it."""

    ref = _text("your own unique key for the posting", allow_none=True)


class OfferingFields(ma.Schema):
    """An offering's editable fields; on update, the fields sent replace the current ones."""

    title = _text("required on creation; at most 200 characters")
    description = _text("required on creation")
    scenarios = _keys("scenario keys from /taxonomy")
    industries_served = _keys("GB/T 4754-2017 division codes from /taxonomy")
    deployment_modes = _keys("`on_premises`, `edge`, `cloud`")
    price_min = _whole("whole CNY")
    price_max = _whole("whole CNY")
    regions = _keys("regions from /taxonomy, or city names")
    case_studies = _text()
    capacity = fields.Integer(strict=True, metadata={"description": "engagements at once, 1 to 1000"})
    language = _text("zh-Hant, zh-Hans or en; empty to detect")


class NewOffering(OfferingFields):
    """A new offering: its fields, and your own key for it."""

    ref = _text("your own unique key for the posting", allow_none=True)


class PageArgs(ma.Schema):
    """Which page of a list, and how many rows on it."""

    page = fields.Integer(load_default=1, validate=_range(1, MAX_PAGE))
    limit = fields.Integer(load_default=20, validate=_range(1, MAX_LIMIT))


class PostingListArgs(PageArgs):
    """Filters of a posting list, as on the list pages; unknown values are ignored."""

    status = fields.String(
        load_default="",
        validate=_one_of(["", PostingStatus.DRAFT.value, PostingStatus.CLOSED.value]),
        metadata={"description": "empty for published postings; draft or closed for your organisation's"},
    )
    industry = fields.String(load_default="")
    scenario = fields.String(load_default="")
    city = fields.String(load_default="")
    voucher = fields.String(load_default="", metadata={"description": "demands only: compute, model, training, any"})


class MatchListArgs(PageArgs):
    """Filters of the match list."""

    status = fields.String(load_default="", validate=_one_of(["", *(s.value for s in MatchStatus)]))
    demand_id = fields.Integer(validate=_range(1, MAX_ID))
    offering_id = fields.Integer(validate=_range(1, MAX_ID))


class TransitionRequest(ma.Schema):
    """A workflow step to apply to a match."""

    action = fields.String(required=True, metadata={"description": "one of the match's `actions`"})
    reason = fields.String(
        load_default="", metadata={"description": "a reason key, for `decline`, `reject`, `no_deal`"}
    )
    note = fields.String(load_default="")


class SearchArgs(ma.Schema):
    """A free-text search."""

    q = fields.String(required=True, validate=Length(max=MAX_QUERY, error=_l("At most {max} characters.")))
    kind = fields.String(load_default="all", validate=_one_of(KINDS))


# ---------------------------------------------------------------- responses


class OrganizationRef(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class PostingFields(ma.Schema):
    """What every posting shows."""

    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=OneOf(POSTING_KINDS))
    ref = fields.String(allow_none=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    language = fields.String(required=True)
    scenarios = fields.List(fields.String(), required=True)
    auto_scenarios = fields.List(fields.String(), required=True, metadata={"description": "tagged from the text"})
    status = fields.Enum(PostingStatus, by_value=True, required=True)
    organization = fields.Nested(OrganizationRef, required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)
    published_at = UtcDateTime(allow_none=True)


class ConfidentialMoney(fields.Integer):
    """An amount shown only to those who may see the posting's budget; null for everyone else."""

    def serialize(self, attr, obj, accessor=None, **kwargs):
        if not can_see_budget(current_api_user(), obj):
            return None
        return super().serialize(attr, obj, accessor, **kwargs)


class Demand(PostingFields):
    industry = fields.String(allow_none=True)
    city = fields.String(required=True)
    budget_min = ConfidentialMoney(allow_none=True, metadata={"description": "null when confidential to you"})
    budget_max = ConfidentialMoney(allow_none=True, metadata={"description": "null when confidential to you"})
    budget_confidential = fields.Boolean(required=True)
    timeline = fields.String(required=True)
    deployment = fields.String(required=True)
    vouchers = fields.List(fields.String(), required=True)
    data_available = fields.String(required=True)
    expires_on = fields.Date(allow_none=True)


class Offering(PostingFields):
    industries_served = fields.List(fields.String(), required=True)
    deployment_modes = fields.List(fields.String(), required=True)
    price_min = fields.Integer(allow_none=True)
    price_max = fields.Integer(allow_none=True)
    regions = fields.List(fields.String(), required=True)
    case_studies = fields.String(required=True)
    capacity = fields.Integer(required=True)


class MatchSide(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    organization = fields.String(required=True)
    scenarios = fields.List(fields.String(), required=True)


class Contact(ma.Schema):
    organization = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(required=True)
    website = fields.String(required=True)


class MatchEvent(ma.Schema):
    action = fields.String(required=True)
    from_status = fields.String(data_key="from", attribute="from", allow_none=True, required=True)
    to = fields.String(required=True)
    reason = fields.String(required=True)
    actor = fields.String(required=True)
    at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


class CuratorNote(ma.Schema):
    author = fields.String(required=True)
    body = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class Match(ma.Schema):
    """A match as the caller may see it: contacts only once connected, notes only for curators."""

    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=OneOf([s.value for s in MatchStatus]))
    source = fields.String(required=True)
    score = fields.Float(required=True)
    rank = fields.Integer(allow_none=True, required=True)
    breakdown = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    reasons = fields.List(fields.Dict(), required=True)
    demand = fields.Nested(MatchSide, required=True)
    offering = fields.Nested(MatchSide, required=True)
    demand_response = fields.String(required=True)
    offering_response = fields.String(required=True)
    introduced_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    expires_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    your_side = fields.String(allow_none=True, required=True, metadata={"description": "demand, offering or null"})
    actions = fields.List(fields.String(), required=True, metadata={"description": "steps you may take now"})
    contacts = fields.List(fields.Nested(Contact), required=True)
    events = fields.List(fields.Nested(MatchEvent), required=True)
    notes = fields.List(fields.Nested(CuratorNote), required=True)


def page_of(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """Return the schema of one page of items, with the address of the next page."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "limit": fields.Integer(required=True),
            "total": fields.Integer(required=True),
            "next": fields.String(allow_none=True, required=True, metadata={"description": "the next page, or null"}),
        },
        name=name,
    )


DemandPage = page_of(Demand, "DemandPage")
OfferingPage = page_of(Offering, "OfferingPage")
MatchPage = page_of(Match, "MatchPage")


class SearchHit(ma.Schema):
    kind = fields.String(required=True)
    id = fields.Integer(required=True)
    ref = fields.String(allow_none=True, required=True)
    title = fields.String(required=True)
    score = fields.Float(required=True)


class SearchResults(ma.Schema):
    query = fields.String(required=True)
    results = fields.List(fields.Nested(SearchHit), required=True)


class Term(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)


class Taxonomy(ma.Schema):
    """Every key the API accepts, labelled in the reader's language."""

    scenarios = fields.List(fields.Nested(Term), required=True)
    industries = fields.List(fields.Nested(Term), required=True)
    deployment_modes = fields.List(fields.Nested(Term), required=True)
    vouchers = fields.List(fields.Nested(Term), required=True)
    regions = fields.List(fields.Nested(Term), required=True)
    languages = fields.List(fields.Nested(Term), required=True)
    posting_statuses = fields.List(fields.Nested(Term), required=True)
    match_statuses = fields.List(fields.Nested(Term), required=True)


class FieldProblem(ma.Schema):
    field = fields.String(allow_none=True, required=True)
    message = fields.String(required=True)


class ErrorDetail(ma.Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.List(fields.Nested(FieldProblem), required=True)


class Error(ma.Schema):
    """The one error format of the API."""

    error = fields.Nested(ErrorDetail, required=True)
