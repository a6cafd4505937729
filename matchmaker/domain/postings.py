"""Demands and offerings: who may post them, what they must hold, and how they move from draft to closed.

Demands and offerings share one lifecycle, so each rule is written once and parametrised by model;
only the field checks differ, and those live in `_check_demand` / `_check_offering`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from .. import taxonomy
from ..extensions import db
from ..models import Demand, Offering, Organization, OrgKind, PostingStatus, User, utcnow
from ..signals import postings_coming, postings_saved
from ..vocabulary import DEPLOYMENT_MODES, DETECT_LANGUAGE, POSTING_STATUS_LABELS, TEXT_LANGUAGES, VOUCHER_KINDS
from .checks import contains_nul
from .errors import FieldError, IllegalTransition, PermissionDenied, ValidationFailed

Posting = Demand | Offering

# New engagements a vendor may say it can take on at once, and the length of one region's name.
MAX_CAPACITY = 1000
MAX_REGION_LENGTH = 80
# Long texts (description, data, case studies) have no column bound; this one keeps pages and indexes sane.
MAX_TEXT_LENGTH = 10_000

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
    budget_confidential: bool = False
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


# ---------------------------------------------------------------- field checks
# Each check yields every problem it finds, so one refusal can list them all.


def _check_text(data: DemandInput | OfferingInput) -> Iterator[FieldError]:
    """Find a missing title or description and an unknown language."""
    for name in ("title", "description"):
        if not (getattr(data, name) or "").strip():
            yield FieldError(name, _("This field is required."))
    if data.language != DETECT_LANGUAGE and data.language not in TEXT_LANGUAGES:
        yield FieldError("language", _("Unknown language %(language)s.", language=data.language))


def _values(data) -> dict[str, Any]:
    """Return an input's fields by name, without the deep copy dataclasses.asdict makes of every list."""
    return {item.name: getattr(data, item.name) for item in fields(data)}


def _check_characters(data) -> Iterator[FieldError]:
    """Find text holding the NUL character, which no database we support stores alike."""
    for name, value in _values(data).items():
        if contains_nul(value):
            yield FieldError(name, _("Text cannot contain the NUL character."))


def _check_lengths(model: type, data) -> Iterator[FieldError]:
    """Find text longer than its column holds, so every database refuses it the same way."""
    for name, value in _values(data).items():
        column_type = model.__table__.c[name].type if name in model.__table__.c else None
        limit = MAX_TEXT_LENGTH if isinstance(column_type, sa.Text) else getattr(column_type, "length", None)
        if limit and isinstance(value, str) and len(value.strip()) > limit:
            yield FieldError(name, _("At most %(count)d characters.", count=limit))


# The largest value a plain INTEGER column holds on every database we support.
_INTEGER_LIMIT = 2**31 - 1


def _check_magnitudes(model: type, data) -> Iterator[FieldError]:
    """Find whole numbers too large for their column, which PostgreSQL would refuse with a database error."""
    for name, value in _values(data).items():
        column = model.__table__.c.get(name)
        fits = column is None or type(column.type) is not sa.Integer or not isinstance(value, int)
        if not fits and abs(value) > _INTEGER_LIMIT:
            yield FieldError(name, _("At most %(count)d.", count=_INTEGER_LIMIT))


def _check_keys(name: str, values: list[str], known) -> Iterator[FieldError]:
    """Find values that are not in the known set (a taxonomy or a fixed list)."""
    unknown = [value for value in values if value not in known]
    if unknown:
        yield FieldError(name, _("Not in the list: %(values)s.", values=", ".join(map(str, unknown))))


def _check_range(low_name: str, high_name: str, low: int | None, high: int | None) -> Iterator[FieldError]:
    """Find negative amounts and a minimum above the maximum."""
    for name, value in ((low_name, low), (high_name, high)):
        if value is not None and value < 0:
            yield FieldError(name, _("Amounts cannot be negative."))
    if low is not None and high is not None and low > high:
        yield FieldError(high_name, _("The minimum cannot be more than the maximum."))


def _check_demand(data: DemandInput, current: Demand | None = None) -> Iterator[FieldError]:
    """Find every rule a demand's fields break."""
    yield from _check_text(data)
    yield from _check_keys("scenarios", data.scenarios, taxonomy.scenarios())
    yield from _check_keys("industry", [data.industry] if data.industry else [], taxonomy.industries())
    yield from _check_range("budget_min", "budget_max", data.budget_min, data.budget_max)
    yield from _check_keys("deployment", [data.deployment] if data.deployment else [], DEPLOYMENT_MODES)
    yield from _check_keys("vouchers", data.vouchers, VOUCHER_KINDS)
    # An unchanged expiry may have passed since it was set; only a new date must lie ahead.
    changed = current is None or data.expires_on != current.expires_on
    if changed and data.expires_on is not None and data.expires_on < date.today():
        yield FieldError("expires_on", _("The expiry date cannot be in the past."))


def _check_offering(data: OfferingInput, current: Offering | None = None) -> Iterator[FieldError]:
    """Find every rule an offering's fields break."""
    yield from _check_text(data)
    yield from _check_keys("scenarios", data.scenarios, taxonomy.scenarios())
    yield from _check_keys("industries_served", data.industries_served, taxonomy.industries())
    yield from _check_keys("deployment_modes", data.deployment_modes, DEPLOYMENT_MODES)
    yield from _check_range("price_min", "price_max", data.price_min, data.price_max)
    if data.capacity is None or data.capacity < 1:
        yield FieldError("capacity", _("Capacity must be at least 1."))
    elif data.capacity > MAX_CAPACITY:
        yield FieldError("capacity", _("Capacity can be at most %(count)d.", count=MAX_CAPACITY))
    long_regions = [region for region in data.regions if len(region) > MAX_REGION_LENGTH]
    if long_regions:
        yield FieldError("regions", _("Name each region in at most %(count)d characters.", count=MAX_REGION_LENGTH))


def _problems(model: type, data, current: Posting | None = None) -> list[FieldError]:
    """Return every rule the input breaks for a new posting of model, or for the current one."""
    return [
        *_check_characters(data),
        *_check_lengths(model, data),
        *_check_magnitudes(model, data),
        *_KINDS[model].check(data, current),
    ]


def _check_ref(model: type, ref: str | None) -> Iterator[FieldError]:
    """Find an external key longer than its column holds."""
    limit = model.__table__.c["ref"].type.length
    if ref is not None and len(ref) > limit:
        yield FieldError("ref", _("At most %(count)d characters.", count=limit))
    if contains_nul(ref):
        yield FieldError("ref", _("Text cannot contain the NUL character."))


def _refuse(problems: list[FieldError]) -> None:
    """Raise one ValidationFailed carrying every problem, if there are any."""
    if problems:
        raise ValidationFailed(errors=problems)


def check_input(model: type, data, current: Posting | None = None) -> None:
    """Raise one ValidationFailed listing every rule the input breaks for a new or the current posting."""
    _refuse(_problems(model, data, current))


@dataclass(frozen=True)
class _Kind:
    """What differs between demands and offerings as far as the lifecycle is concerned."""

    org_kind: OrgKind
    check: Callable[[Any, Any], Iterator[FieldError]]
    refusal: str


_KINDS: dict[type, _Kind] = {
    Demand: _Kind(OrgKind.MANUFACTURER, _check_demand, _("Only manufacturers may post demands.")),
    Offering: _Kind(OrgKind.VENDOR, _check_offering, _("Only AI vendors may post offerings.")),
}


# ---------------------------------------------------------------- who may do what


@dataclass(frozen=True)
class OnBehalfOf:
    """A trusted system write (an import, the seed) acting for one organization.

    Web requests act as the signed-in `User` and are checked as members of the owning organization. Only
    code that has established trust itself builds one of these: the command line, whose user holds the
    database anyway, or a page that has first checked its user is a curator, who is then named as `by`.
    """

    organization: Organization
    by: User | None = None


Actor = User | OnBehalfOf


def is_owner(user: User | None, posting: Posting) -> bool:
    """Return whether the user belongs to the organization that owns the posting."""
    return user is not None and user.organization_id is not None and user.organization_id == posting.organization_id


def can_view(user: User | None, posting: Posting) -> bool:
    """Return whether the user may see the posting's page."""
    # Once published, a posting stays readable after closing so links from matches keep working.
    if posting.published_at is not None:
        return True
    return is_owner(user, posting) or (user is not None and user.is_curator)


def can_see_budget(user: User | None, posting: Posting) -> bool:
    """Return whether the user may see the posting's money: a budget marked confidential is for the demand's
    organisation and curators only (matching still uses it, and says nothing of it to the other side)."""
    if not getattr(posting, "budget_confidential", False):
        return True
    return is_owner(user, posting) or (user is not None and user.is_curator)


def can_edit(user: User | None, posting: Posting) -> bool:
    """Return whether the user may change the posting now."""
    return is_owner(user, posting) and posting.status is not PostingStatus.CLOSED


def _acts_for(actor: Actor, posting: Posting) -> bool:
    """Return whether the actor writes for the organization that owns the posting."""
    if isinstance(actor, OnBehalfOf):
        org = actor.organization
        # A posting staged in this transaction may not have its organization's id yet.
        return posting.organization is org or (org.id is not None and org.id == posting.organization_id)
    return is_owner(actor, posting)


def _require_owner(actor: Actor, posting: Posting) -> None:
    """Refuse anyone who does not write for the owning organization."""
    if _acts_for(actor, posting):
        return
    if isinstance(actor, OnBehalfOf):
        raise PermissionDenied(_("This posting belongs to another organization."), field="organization")
    raise PermissionDenied(_("Only members of the posting organization may change it."))


# ---------------------------------------------------------------- lifecycle
# The web commits each step at once (update_posting, publish, close). Bulk writers (imports) stage many
# steps with stage_update / stage_publish, commit once, then announce what changed.


def create_posting(model: type, user: User, data, ref: str | None = None) -> Posting:
    """Save a new draft demand or offering for the user's organization."""
    if user.organization is None:
        raise PermissionDenied(_KINDS[model].refusal)
    posting = new_posting(model, user.organization, data, author=user, ref=ref)
    if ref is not None and db.session.scalar(sa.select(model.id).where(model.ref == ref)) is not None:
        raise ValidationFailed(_("Another posting has this ref already."), field="ref")
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
    _refuse([*_check_ref(model, ref), *_problems(model, data)])
    posting = model(organization=organization, author=author, ref=ref, status=PostingStatus.DRAFT)
    _assign(posting, data)
    return posting


def stage_update(actor: Actor, posting: Posting, data, opened_version: int | None = None) -> Posting:
    """Check and apply new field values to a posting the actor writes for, without committing.

    opened_version is the posting's version the editor started from; an edit based on an older one is
    refused, and so is one that loses the race to another edit being saved at the same moment.
    """
    _require_owner(actor, posting)
    if posting.status is PostingStatus.CLOSED:
        raise IllegalTransition(_("A closed posting can no longer be edited."))
    if opened_version is not None and opened_version != posting.version:
        raise _edited_meanwhile()
    check_input(type(posting), data, posting)
    _assign(posting, data)
    _claim_version(posting)
    return posting


def _claim_version(posting: Posting) -> None:
    """Raise the version in the database only if it is still the one this edit read: compare-and-set."""
    if posting.id is None:  # not in the database yet (an import row repeating a new ref): nobody else has it
        return
    model, read = type(posting), posting.version
    claimed = db.session.execute(
        sa.update(model)
        .where(model.id == posting.id, model.version == read)
        .values(version=read + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise _edited_meanwhile()
    set_committed_value(posting, "version", read + 1)


def _edited_meanwhile() -> IllegalTransition:
    return IllegalTransition(
        _("Someone else saved this posting after you opened it. Reload it to see their changes, then make yours again.")
    )


def update_posting(actor: Actor, posting: Posting, data, opened_version: int | None = None) -> Posting:
    """Replace the editable fields of a posting the actor's organization owns."""
    stage_update(actor, posting, data, opened_version)
    _commit(posting)
    return posting


def stage_publish(actor: Actor, posting: Posting) -> Posting:
    """Make a draft the actor writes for public, without committing."""
    _require_owner(actor, posting)
    if isinstance(posting, Demand) and posting.expires_on and posting.expires_on < date.today():
        raise ValidationFailed(_("The expiry date has passed; set a new one before publishing."), field="expires_on")
    _move(posting, PostingStatus.PUBLISHED)
    posting.published_at = utcnow()
    return posting


def publish(actor: Actor, posting: Posting) -> Posting:
    """Make a draft visible to everyone and to the matching engine."""
    stage_publish(actor, posting)
    _commit(posting)
    return posting


def close(actor: Actor, posting: Posting) -> Posting:
    """Close a posting for good."""
    _require_owner(actor, posting)
    _move(posting, PostingStatus.CLOSED)
    _commit(posting)
    return posting


def advance(posting: Posting, target: PostingStatus) -> Posting:
    """Walk an unsaved draft to target without committing; for seeding."""
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


def announce(changed: list[Posting], *, propose: bool = True, progress: Callable[[str], None] | None = None) -> int:
    """Tell the matching engine these committed postings changed; return how many proposals it made."""
    if not changed:
        return 0
    replies = postings_saved.send(postings=list(changed), propose=propose, progress=progress)
    return sum(reply for _, reply in replies if isinstance(reply, int))


def expect(texts: list[str]) -> ExitStack:
    """Tell the matching engine postings with these texts are about to be saved; close the result when done.

    What the engine prepares for them (such as embedding them ahead) lasts until the stack is closed.
    """
    held = ExitStack()
    with ExitStack() as opening:
        opening.push(held)  # a receiver that fails to open closes those opened before it
        for _, reply in postings_coming.send(texts=list(texts)):
            if reply is not None:
                held.enter_context(reply)
        opening.pop_all()
    return held


def create_demand(user: User, data: DemandInput, ref: str | None = None) -> Demand:
    """Save a new draft demand for the user's manufacturer organization."""
    return create_posting(Demand, user, data, ref)


def update_demand(actor: Actor, demand: Demand, data: DemandInput, opened_version: int | None = None) -> Demand:
    """Replace the editable fields of a demand."""
    return update_posting(actor, demand, data, opened_version)


def create_offering(user: User, data: OfferingInput, ref: str | None = None) -> Offering:
    """Save a new draft offering for the user's vendor organization."""
    return create_posting(Offering, user, data, ref)


def update_offering(
    actor: Actor, offering: Offering, data: OfferingInput, opened_version: int | None = None
) -> Offering:
    """Replace the editable fields of an offering."""
    return update_posting(actor, offering, data, opened_version)


def _move(posting: Posting, target: PostingStatus) -> None:
    """Change status if the lifecycle allows it."""
    if target not in TRANSITIONS[posting.status]:
        raise IllegalTransition(
            _(
                "A %(current)s posting cannot become %(target)s.",
                current=str(POSTING_STATUS_LABELS[posting.status]).lower(),
                target=str(POSTING_STATUS_LABELS[target]).lower(),
            )
        )
    posting.status = target


def _assign(posting: Posting, data) -> None:
    """Copy input fields onto the posting, trimming text."""
    for name, value in _values(data).items():
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, list):
            value = list(value)  # the posting's own list, not the input's
        setattr(posting, name, value)


def _commit(posting: Posting) -> None:
    """Commit, then tell the matching engine the posting changed."""
    db.session.commit()
    announce([posting])


# ---------------------------------------------------------------- lists


def matches_of(posting: Posting) -> list:
    """Return a posting's matches, best score first: what the engine proposed and curators paired."""
    from ..models import Match

    column = Match.demand_id if isinstance(posting, Demand) else Match.offering_id
    return db.session.scalars(sa.select(Match).where(column == posting.id).order_by(Match.score.desc(), Match.id)).all()
