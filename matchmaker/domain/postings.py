"""Demands and offerings: who may post them, what they must hold, and how they move from draft to closed.

Demands and offerings share one lifecycle, so each rule is written once and parametrised by model;
only the field checks differ, and those live in `_check_demand` / `_check_offering`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _

from .. import taxonomy
from ..extensions import db
from ..models import (
    DEPLOYMENT_MODES,
    VOUCHER_KINDS,
    Demand,
    Offering,
    Organization,
    OrgKind,
    PostingStatus,
    User,
    utcnow,
)
from ..signals import posting_saved
from .errors import IllegalTransition, PermissionDenied, ValidationFailed

Posting = Demand | Offering

# Posting text languages as BCP 47 tags, as the matching engine detects them ("" = detect).
LANGUAGES = ("", "en", "zh-Hant", "zh-Hans")

# Closing is final; nothing leaves CLOSED.
TRANSITIONS = {
    PostingStatus.DRAFT: {PostingStatus.PUBLISHED, PostingStatus.CLOSED},
    PostingStatus.PUBLISHED: {PostingStatus.CLOSED},
    PostingStatus.CLOSED: set(),
}


@dataclass
class DemandInput:
    """Everything a manufacturer may write on a demand."""

    title: str
    description: str
    scenarios: list[str] = field(default_factory=list)
    industry: str | None = None
    city: str = ""
    budget_min: int | None = None
    budget_max: int | None = None
    timeline: str = ""
    deployment: str = ""
    vouchers: list[str] = field(default_factory=list)
    data_available: str = ""
    expires_on: date | None = None
    language: str = ""


@dataclass
class OfferingInput:
    """Everything a vendor may write on an offering."""

    title: str
    description: str
    scenarios: list[str] = field(default_factory=list)
    industries_served: list[str] = field(default_factory=list)
    deployment_modes: list[str] = field(default_factory=list)
    price_min: int | None = None
    price_max: int | None = None
    regions: list[str] = field(default_factory=list)
    case_studies: str = ""
    capacity: int = 3
    language: str = ""


@dataclass
class PostingFilters:
    """What a list page narrows postings by; empty strings mean no narrowing."""

    industry: str = ""
    scenario: str = ""
    city: str = ""
    status: str = ""


# ---------------------------------------------------------------- field checks


def _check_text(data: DemandInput | OfferingInput) -> None:
    """Refuse a posting without a title or description."""
    for name in ("title", "description"):
        if not (getattr(data, name) or "").strip():
            raise ValidationFailed(_("This field is required."), field=name)
    if data.language not in LANGUAGES:
        raise ValidationFailed(_("Unknown language %(language)s.", language=data.language), field="language")


def _check_lengths(model: type, data) -> None:
    """Refuse text longer than its column holds, so every database refuses it the same way."""
    for name, value in asdict(data).items():
        limit = getattr(model.__table__.c[name].type, "length", None) if name in model.__table__.c else None
        if limit and isinstance(value, str) and len(value.strip()) > limit:
            raise ValidationFailed(_("At most %(count)d characters.", count=limit), field=name)


def _check_keys(name: str, values: list[str], known) -> None:
    """Refuse values that are not in the known set (a taxonomy or a fixed list)."""
    unknown = [value for value in values if value not in known]
    if unknown:
        raise ValidationFailed(_("Not in the list: %(values)s.", values=", ".join(map(str, unknown))), field=name)


def _check_range(low_name: str, high_name: str, low: int | None, high: int | None) -> None:
    """Refuse negative amounts and a minimum above the maximum."""
    for name, value in ((low_name, low), (high_name, high)):
        if value is not None and value < 0:
            raise ValidationFailed(_("Amounts cannot be negative."), field=name)
    if low is not None and high is not None and low > high:
        raise ValidationFailed(_("The minimum cannot be more than the maximum."), field=high_name)


def _check_demand(data: DemandInput, current: Demand | None = None) -> None:
    """Apply the rules a demand's fields must follow."""
    _check_text(data)
    _check_keys("scenarios", data.scenarios, taxonomy.scenarios())
    _check_keys("industry", [data.industry] if data.industry else [], taxonomy.industries())
    _check_range("budget_min", "budget_max", data.budget_min, data.budget_max)
    _check_keys("deployment", [data.deployment] if data.deployment else [], DEPLOYMENT_MODES)
    _check_keys("vouchers", data.vouchers, VOUCHER_KINDS)
    # An unchanged expiry may have passed since it was set; only a new date must lie ahead.
    changed = current is None or data.expires_on != current.expires_on
    if changed and data.expires_on is not None and data.expires_on < date.today():
        raise ValidationFailed(_("The expiry date cannot be in the past."), field="expires_on")


def _check_offering(data: OfferingInput, current: Offering | None = None) -> None:
    """Apply the rules an offering's fields must follow."""
    _check_text(data)
    _check_keys("scenarios", data.scenarios, taxonomy.scenarios())
    _check_keys("industries_served", data.industries_served, taxonomy.industries())
    _check_keys("deployment_modes", data.deployment_modes, DEPLOYMENT_MODES)
    _check_range("price_min", "price_max", data.price_min, data.price_max)
    if data.capacity is None or data.capacity < 1:
        raise ValidationFailed(_("Capacity must be at least 1."), field="capacity")


@dataclass(frozen=True)
class _Kind:
    """What differs between demands and offerings as far as the lifecycle is concerned."""

    org_kind: OrgKind
    check: Callable
    refusal: str


_KINDS: dict[type, _Kind] = {
    Demand: _Kind(OrgKind.MANUFACTURER, _check_demand, _("Only manufacturers may post demands.")),
    Offering: _Kind(OrgKind.VENDOR, _check_offering, _("Only AI vendors may post offerings.")),
}


# ---------------------------------------------------------------- who may do what


def is_owner(user: User | None, posting: Posting) -> bool:
    """Return whether the user belongs to the organization that owns the posting."""
    return user is not None and user.organization_id is not None and user.organization_id == posting.organization_id


def can_view(user: User | None, posting: Posting) -> bool:
    """Return whether the user may see the posting's page."""
    # Once published, a posting stays readable after closing so links from matches keep working.
    if posting.published_at is not None:
        return True
    return is_owner(user, posting) or (user is not None and user.is_curator)


def can_edit(user: User | None, posting: Posting) -> bool:
    """Return whether the user may change the posting now."""
    return is_owner(user, posting) and posting.status is not PostingStatus.CLOSED


def _require_owner(user: User, posting: Posting) -> None:
    """Refuse anyone outside the owning organization."""
    if not is_owner(user, posting):
        raise PermissionDenied(_("Only members of the posting organization may change it."))


# ---------------------------------------------------------------- lifecycle


def create_posting(model: type, user: User, data, ref: str | None = None) -> Posting:
    """Save a new draft demand or offering for the user's organization."""
    if user.organization is None:
        raise PermissionDenied(_KINDS[model].refusal)
    posting = new_posting(model, user.organization, data, author=user, ref=ref)
    db.session.add(posting)
    _commit(posting)
    return posting


def new_posting(
    model: type, organization: Organization, data, *, author: User | None = None, ref: str | None = None
) -> Posting:
    """Return an unsaved draft for the organization after checking its kind and the fields."""
    kind = _KINDS[model]
    if organization.kind is not kind.org_kind:
        raise PermissionDenied(kind.refusal)
    _check_lengths(model, data)
    kind.check(data)
    posting = model(organization=organization, author=author, ref=ref, status=PostingStatus.DRAFT)
    _assign(posting, data)
    return posting


def update_posting(user: User, posting: Posting, data) -> Posting:
    """Replace the editable fields of a posting the user's organization owns."""
    _require_owner(user, posting)
    if posting.status is PostingStatus.CLOSED:
        raise IllegalTransition(_("A closed posting can no longer be edited."))
    _check_lengths(type(posting), data)
    _KINDS[type(posting)].check(data, posting)
    _assign(posting, data)
    _commit(posting)
    return posting


def publish(user: User, posting: Posting) -> Posting:
    """Make a draft visible to everyone and to the matching engine."""
    _require_owner(user, posting)
    if isinstance(posting, Demand) and posting.expires_on and posting.expires_on < date.today():
        raise ValidationFailed(_("The expiry date has passed; set a new one before publishing."), field="expires_on")
    _move(posting, PostingStatus.PUBLISHED)
    posting.published_at = utcnow()
    _commit(posting)
    return posting


def close(user: User, posting: Posting) -> Posting:
    """Close a posting for good."""
    _require_owner(user, posting)
    _move(posting, PostingStatus.CLOSED)
    _commit(posting)
    return posting


def advance(posting: Posting, target: PostingStatus) -> Posting:
    """Walk an unsaved draft to target without committing; for imports and seeding."""
    # A closed posting goes through publication so it keeps the date it was public from.
    steps = {
        PostingStatus.DRAFT: [],
        PostingStatus.PUBLISHED: [PostingStatus.PUBLISHED],
        PostingStatus.CLOSED: [PostingStatus.PUBLISHED, PostingStatus.CLOSED],
    }[target]
    for step in steps:
        _move(posting, step)
        if step is PostingStatus.PUBLISHED:
            posting.published_at = utcnow()
    return posting


def create_demand(user: User, data: DemandInput, ref: str | None = None) -> Demand:
    """Save a new draft demand for the user's manufacturer organization."""
    return create_posting(Demand, user, data, ref)


def update_demand(user: User, demand: Demand, data: DemandInput) -> Demand:
    """Replace the editable fields of a demand."""
    return update_posting(user, demand, data)


def create_offering(user: User, data: OfferingInput, ref: str | None = None) -> Offering:
    """Save a new draft offering for the user's vendor organization."""
    return create_posting(Offering, user, data, ref)


def update_offering(user: User, offering: Offering, data: OfferingInput) -> Offering:
    """Replace the editable fields of an offering."""
    return update_posting(user, offering, data)


def _move(posting: Posting, target: PostingStatus) -> None:
    """Change status if the lifecycle allows it."""
    if target not in TRANSITIONS[posting.status]:
        raise IllegalTransition(
            _("A %(current)s posting cannot become %(target)s.", current=posting.status.value, target=target.value)
        )
    posting.status = target


def _assign(posting: Posting, data) -> None:
    """Copy input fields onto the posting, trimming text."""
    for name, value in asdict(data).items():
        setattr(posting, name, value.strip() if isinstance(value, str) else value)


def _commit(posting: Posting) -> None:
    """Commit, then tell the matching engine the posting changed."""
    db.session.commit()
    posting_saved.send(posting.__class__, posting=posting)


# ---------------------------------------------------------------- lists


def matches_of(posting: Posting) -> list:
    """Return a posting's matches, best score first: what the engine proposed and curators paired."""
    from ..models import Match

    column = Match.demand_id if isinstance(posting, Demand) else Match.offering_id
    return db.session.scalars(sa.select(Match).where(column == posting.id).order_by(Match.score.desc(), Match.id)).all()


def visible_postings_query(model: type, filters: PostingFilters | Mapping, viewer: User | None = None) -> sa.Select:
    """Return a select of the postings a viewer may list, narrowed by the filters, newest first."""
    if isinstance(filters, Mapping):
        filters = PostingFilters(**{f.name: str(filters.get(f.name) or "").strip() for f in fields(PostingFilters)})
    query = sa.select(model).where(_status_clause(model, filters.status, viewer))
    if filters.scenario:  # the poster's choice or a tag the engine found in the text, as the page shows
        query = query.where(
            sa.or_(
                json_list_contains(model.scenarios, filters.scenario),
                json_list_contains(model.auto_scenarios, filters.scenario),
            )
        )
    if filters.industry:
        industry = (
            model.industry == filters.industry
            if model is Demand
            else json_list_contains(model.industries_served, filters.industry)
        )
        query = query.where(industry)
    if filters.city.strip():
        query = query.where(_city_clause(model, filters.city.strip()))
    newest = sa.func.coalesce(model.published_at, model.created_at)
    return query.order_by(newest.desc(), model.id.desc())


def _status_clause(model: type, status: str, viewer: User | None):
    """Published postings for all; drafts and closed ones only for their own organization."""
    if status in (PostingStatus.DRAFT.value, PostingStatus.CLOSED.value):
        if viewer is None or viewer.organization_id is None:
            return sa.false()
        return sa.and_(model.status == PostingStatus(status), model.organization_id == viewer.organization_id)
    return model.status == PostingStatus.PUBLISHED


def json_list_contains(column, value: str):
    """Match rows whose JSON list holds value, on SQLite and PostgreSQL alike."""
    # JSON columns are serialised with json.dumps, so the quoted, escaped element appears verbatim in the text.
    return sa.cast(column, sa.Text).contains(json.dumps(value), autoescape=True)


def _city_clause(model: type, city: str):
    """Match a demand's city, or an offering's regions, by case-insensitive substring."""
    if model is Demand:
        return sa.func.lower(model.city).contains(city.lower(), autoescape=True)
    needle = json.dumps(city.lower())[1:-1]
    return sa.func.lower(sa.cast(model.regions, sa.Text)).contains(needle, autoescape=True)
