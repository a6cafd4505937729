"""Who may do what, on every route of the app, for every persona.

The table below names every (endpoint, method) pair of the URL map; a route that is added without a row
here fails `test_every_route_is_in_the_table`. Each row gives, per persona, what must happen:

- a page (200) or a redirect after success, which for a state-changing route must change the database;
- a refusal (login redirect, 403, 404, 405, or a redirect that only flashes why), which must leave every
  table exactly as it was.

GET requests must never change the database, whoever sends them.

Rows for the JSON API (`/api/v1`) are sent with each persona's API token instead of a signed-in session
(anonymous visitors send none, and get 401), and their successes are JSON answers (200, or 201 for a new row).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import current_app
from werkzeug.security import generate_password_hash

from matchmaker.domain.memberships import hash_token
from matchmaker.domain.passwords import reset_token
from matchmaker.domain.postings import announce
from matchmaker.extensions import db
from matchmaker.models import (
    ApiToken,
    Demand,
    ImportJob,
    Invitation,
    JoinRequest,
    Match,
    MatchStatus,
    Notification,
    Offering,
    Organization,
    PostingStatus,
    User,
    utcnow,
)
from tests.apps import app_with_schema, base_config
from tests.factories import PASSWORD, make_user
from tests.factories import PERSONAS as PERSONA_SPECS

ANON = "anonymous"
MAKER, MAKER_PEER, VENDOR, VENDOR_PEER = "manufacturer", "intruder", "vendor", "vendor_intruder"
CURATOR, ADMIN = "curator", "admin"
# Registered with the manufacturer's name, waiting for its members to let them in: no organisation yet.
PENDING = "pending"
PENDING_EMAIL = "pending@test.example"
PERSONAS = [ANON, MAKER, MAKER_PEER, VENDOR, VENDOR_PEER, CURATOR, ADMIN, PENDING]
MEMBERS = [p for p in PERSONAS if p not in (ANON, PENDING)]
INVITEE = "invitee@new.example"
TOKEN = "an-invitation-token-for-the-matrix"
SIGNED_IN = [p for p in PERSONAS if p != ANON]
STAFF = (CURATOR, ADMIN)

# Outcomes. Pages and refusals never change the database; DONE must change it; MOVED is a success
# redirect that may or may not change anything (e.g. re-running matching that finds nothing new).
OK, DONE, MOVED, KEPT, LOGIN = "200", "done", "moved", "kept", "login"
DONE_PAGE = "done, page"  # a change answered with a page (200) rather than a redirect
CREATED = "created"  # a change answered with 201 Created, as the API answers a new row
FORBIDDEN, MISSING, NOT_ALLOWED, CONFLICT, UNAUTHORIZED = 403, 404, 405, 409, 401
DONE_SIGNED_OUT = "done, sign in again"  # a change that ends the session and sends the person to sign in
CHANGES = {DONE, DONE_PAGE, DONE_SIGNED_OUT, CREATED}
MAY_CHANGE = {MOVED}


@dataclass
class Case:
    """One request and what each persona must get from it."""

    url: Callable[[dict], str]
    expect: dict[str, str | int]
    data: Callable[[dict], dict] = field(default=lambda t: {})
    default: str | int | None = None
    api: bool = False  # sent with the persona's API token, data as a JSON body

    def outcome(self, persona: str) -> str | int:
        """Return what this persona must get."""
        if persona in self.expect:
            return self.expect[persona]
        if self.default is None:
            raise AssertionError(f"no expectation for {persona}")
        return self.default


def staff_only(allowed: str | int) -> dict:
    """Curators and admins get `allowed`; anonymous visitors are sent to log in; everyone else gets 403."""
    return {ANON: LOGIN, **{p: FORBIDDEN for p in SIGNED_IN if p not in STAFF}, CURATOR: allowed, ADMIN: allowed}


def signed_in(allowed: str | int) -> dict:
    """Everyone signed in gets `allowed`; anonymous visitors are sent to log in."""
    return {ANON: LOGIN, **dict.fromkeys(SIGNED_IN, allowed)}


def posting_rules(owner: str, peer: str, other: str, other_peer: str, rules: dict) -> dict:
    """Spell out a posting route's rules by standing (owner, rival of the same kind, other kind, curator)."""
    by_standing = {ANON: ANON, owner: "owner", peer: "rival", other: "stranger", other_peer: "stranger"}
    by_standing[PENDING] = "stranger"
    by_standing |= {CURATOR: "curator", ADMIN: "curator"}
    return {persona: rules.get(standing, rules.get("*")) for persona, standing in by_standing.items()}


def demand_form(t: dict) -> dict:
    return {
        "title": "Kiln fault early warning",
        "description": "Warn before the kiln fails.",
        "language": "",
        "industry": "",
        "deployment": "",
        "save": "y",
    }


def offering_form(t: dict) -> dict:
    return {
        "title": "Vibration analytics",
        "description": "Predict faults.",
        "language": "",
        "capacity": "3",
        "save": "y",
    }


# Per posting kind: its poster, a rival poster of the same kind, and the two members of the other kind.
POSTERS = {"demands": (MAKER, MAKER_PEER, VENDOR, VENDOR_PEER), "offerings": (VENDOR, VENDOR_PEER, MAKER, MAKER_PEER)}


def posting_cases(kind: str) -> dict:
    """Return the rows of the six posting routes for demands or offerings."""
    people, form = POSTERS[kind], demand_form if kind == "demands" else offering_form

    def rules(**by_standing):
        return posting_rules(*people, by_standing)

    base = f"/{kind}"
    return {
        (f"{kind}.index", "GET"): Case(lambda t: f"{base}/", {}, default=OK),
        (f"{kind}.new", "GET"): Case(
            lambda t: f"{base}/new", rules(anonymous=LOGIN, owner=OK, rival=OK, stranger=FORBIDDEN, curator=FORBIDDEN)
        ),
        (f"{kind}.new", "POST"): Case(
            lambda t: f"{base}/new",
            rules(anonymous=LOGIN, owner=DONE, rival=DONE, stranger=FORBIDDEN, curator=FORBIDDEN),
            data=form,
        ),
        (f"{kind}.detail", "GET"): Case(
            lambda t: f"{base}/{t[kind, 'draft']}",
            rules(anonymous=MISSING, owner=OK, rival=MISSING, stranger=MISSING, curator=OK),
        ),
        (f"{kind}.edit", "GET"): Case(
            lambda t: f"{base}/{t[kind, 'published']}/edit",
            rules(anonymous=LOGIN, owner=OK, rival=FORBIDDEN, stranger=FORBIDDEN, curator=FORBIDDEN),
        ),
        (f"{kind}.edit", "POST"): Case(
            lambda t: f"{base}/{t[kind, 'published']}/edit",
            rules(anonymous=LOGIN, owner=DONE, rival=FORBIDDEN, stranger=FORBIDDEN, curator=FORBIDDEN),
            data=form,
        ),
        (f"{kind}.publish", "POST"): Case(
            lambda t: f"{base}/{t[kind, 'draft']}/publish",
            rules(anonymous=LOGIN, owner=DONE, rival=MISSING, stranger=MISSING, curator=FORBIDDEN),
        ),
        (f"{kind}.close", "GET"): Case(  # the confirmation page
            lambda t: f"{base}/{t[kind, 'published']}/close",
            rules(anonymous=LOGIN, owner=OK, rival=FORBIDDEN, stranger=FORBIDDEN, curator=FORBIDDEN),
        ),
        (f"{kind}.close", "POST"): Case(
            lambda t: f"{base}/{t[kind, 'published']}/close",
            rules(anonymous=LOGIN, owner=DONE, rival=FORBIDDEN, stranger=FORBIDDEN, curator=FORBIDDEN),
        ),
    }


PARTIES_DONE = {ANON: LOGIN, MAKER: DONE, VENDOR: DONE, MAKER_PEER: FORBIDDEN, VENDOR_PEER: FORBIDDEN}
PARTIES_DONE[PENDING] = FORBIDDEN


def members_only(allowed: str | int) -> dict:
    """Members of any organisation get `allowed`; people without one get 403; anonymous visitors log in."""
    return {ANON: LOGIN, PENDING: FORBIDDEN, **dict.fromkeys(MEMBERS, allowed)}


def makers_own(allowed: str | int) -> dict:
    """The manufacturer's members get `allowed` on their organisation's rows; other members find nothing."""
    return {**members_only(MISSING), MAKER: allowed}


def unaffiliated_only(allowed: str | int) -> dict:
    """Only people without an organisation get `allowed`; members get 403; anonymous visitors log in."""
    return {ANON: LOGIN, PENDING: allowed, **dict.fromkeys(MEMBERS, FORBIDDEN)}


def invited_registration(t: dict) -> dict:
    return {
        "email": INVITEE,
        "name": "Invitee",
        "password": "a long enough password",
        "confirm": "a long enough password",
    }


MEMBERSHIP_CASES: dict[tuple[str, str], Case] = {
    ("admin.approve_join", "POST"): Case(
        lambda t: f"/admin/join-requests/{t['join_request']}/approve", {**staff_only(FORBIDDEN), ADMIN: DONE}
    ),
    ("admin.decline_join", "POST"): Case(
        lambda t: f"/admin/join-requests/{t['join_request']}/decline", {**staff_only(FORBIDDEN), ADMIN: DONE}
    ),
    ("admin.deactivate", "POST"): Case(
        lambda t: f"/admin/users/{t['requester']}/deactivate", {**staff_only(FORBIDDEN), ADMIN: DONE}
    ),
    ("admin.reactivate", "POST"): Case(
        lambda t: f"/admin/users/{t['inactive']}/reactivate", {**staff_only(FORBIDDEN), ADMIN: DONE}
    ),
    ("organizations.index", "GET"): Case(lambda t: "/organization/", members_only(OK)),
    # Each member invites into their own organisation; the link is shown on the page (200).
    ("organizations.invite", "POST"): Case(
        lambda t: "/organization/invitations", members_only(DONE_PAGE), data=lambda t: {"email": "friend@new.example"}
    ),
    ("organizations.revoke", "POST"): Case(
        lambda t: f"/organization/invitations/{t['invitation']}/revoke", makers_own(DONE)
    ),
    ("organizations.approve", "POST"): Case(
        lambda t: f"/organization/requests/{t['join_request']}/approve", makers_own(DONE)
    ),
    ("organizations.decline", "POST"): Case(
        lambda t: f"/organization/requests/{t['join_request']}/decline", makers_own(DONE)
    ),
    ("organizations.remove", "POST"): Case(
        lambda t: f"/organization/members/{t['colleague']}/remove", makers_own(DONE)
    ),
    ("organizations.choose", "GET"): Case(lambda t: "/organization/choose", unaffiliated_only(OK)),
    # A person whose request is pending is shown it rather than a second form to fill in.
    ("organizations.choose", "POST"): Case(
        lambda t: "/organization/choose",
        unaffiliated_only(OK),
        data=lambda t: {"organization_name": "Brand New Ceramics", "organization_kind": "manufacturer"},
    ),
    ("organizations.withdraw", "POST"): Case(lambda t: "/organization/request/withdraw", unaffiliated_only(DONE)),
    # The link is for the invited address: members already belong somewhere (409), the pending person is
    # signed in with another address (403); only the invitee, registering, gets in.
    ("organizations.join", "GET"): Case(
        lambda t: f"/organization/join/{TOKEN}", {ANON: OK, PENDING: FORBIDDEN, **dict.fromkeys(MEMBERS, CONFLICT)}
    ),
    ("organizations.join", "POST"): Case(
        lambda t: f"/organization/join/{TOKEN}",
        {ANON: DONE, PENDING: FORBIDDEN, **dict.fromkeys(MEMBERS, CONFLICT)},
        data=invited_registration,
    ),
}


def api_posting_cases(kind: str) -> dict:
    """Return the rows of the six API operations on demands or offerings: the pages' rules, over a token."""
    people = POSTERS[kind]

    def rules(**by_standing):
        return posting_rules(*people, {ANON: UNAUTHORIZED, **by_standing})

    base = f"/api/v1/{kind}"
    new = {"title": "Kiln fault early warning", "description": "Warn before the kiln fails."}
    return {
        (f"api_{kind}.index", "GET"): Case(lambda t: f"{base}/", rules(**{"*": OK}), api=True),
        (f"api_{kind}.create", "POST"): Case(
            lambda t: f"{base}/",
            rules(owner=CREATED, rival=CREATED, stranger=FORBIDDEN, curator=FORBIDDEN),
            data=lambda t: new,
            api=True,
        ),
        (f"api_{kind}.detail", "GET"): Case(
            lambda t: f"{base}/{t[kind, 'draft']}",
            rules(owner=OK, rival=MISSING, stranger=MISSING, curator=OK),
            api=True,
        ),
        (f"api_{kind}.update", "PATCH"): Case(
            lambda t: f"{base}/{t[kind, 'published']}",
            rules(owner=DONE_PAGE, rival=FORBIDDEN, stranger=FORBIDDEN, curator=FORBIDDEN),
            data=lambda t: {"title": "A better title"},
            api=True,
        ),
        (f"api_{kind}.publish", "POST"): Case(
            lambda t: f"{base}/{t[kind, 'draft']}/publish",
            rules(owner=DONE_PAGE, rival=MISSING, stranger=MISSING, curator=FORBIDDEN),
            api=True,
        ),
        (f"api_{kind}.close", "POST"): Case(
            lambda t: f"{base}/{t[kind, 'published']}/close",
            rules(owner=DONE_PAGE, rival=FORBIDDEN, stranger=FORBIDDEN, curator=FORBIDDEN),
            api=True,
        ),
    }


def with_token(allowed: str | int) -> dict:
    """Everyone with a token gets `allowed`; without one, 401."""
    return {ANON: UNAUTHORIZED, **dict.fromkeys(SIGNED_IN, allowed)}


API_CASES: dict[tuple[str, str], Case] = {
    ("api-docs.openapi_json", "GET"): Case(lambda t: "/api/v1/openapi.json", {}, default=OK),
    ("api_documentation.docs", "GET"): Case(lambda t: "/api/v1/docs", {}, default=OK),
    ("api_matches.index", "GET"): Case(lambda t: "/api/v1/matches/", with_token(OK), api=True),
    ("api_matches.detail", "GET"): Case(
        lambda t: f"/api/v1/matches/{t['connected']}",
        {**with_token(FORBIDDEN), MAKER: OK, VENDOR: OK, CURATOR: OK, ADMIN: OK},
        api=True,
    ),
    # The workflow's table decides: curators shortlist, the parties may not.
    ("api_matches.transition", "POST"): Case(
        lambda t: f"/api/v1/matches/{t['proposed']}/transitions",
        {**with_token(FORBIDDEN), CURATOR: DONE_PAGE, ADMIN: DONE_PAGE},
        data=lambda t: {"action": "shortlist"},
        api=True,
    ),
    ("api_reference.search", "GET"): Case(lambda t: "/api/v1/search?q=kiln", with_token(OK), api=True),
    ("api_reference.taxonomy_terms", "GET"): Case(lambda t: "/api/v1/taxonomy", with_token(OK), api=True),
    **api_posting_cases("demands"),
    **api_posting_cases("offerings"),
}

TOKEN_CASES: dict[tuple[str, str], Case] = {
    ("tokens.index", "GET"): Case(lambda t: "/account/tokens/", signed_in(OK)),
    # The new token is shown on the page, once.
    ("tokens.create", "POST"): Case(lambda t: "/account/tokens/", signed_in(DONE_PAGE), data=lambda t: {"name": "CRM"}),
    # Someone else's token does not exist as far as the others know.
    ("tokens.revoke", "POST"): Case(
        lambda t: f"/account/tokens/{t['token_id', MAKER]}/revoke", {ANON: LOGIN, MAKER: DONE}, default=MISSING
    ),
}

CASES: dict[tuple[str, str], Case] = {
    ("static", "GET"): Case(lambda t: "/static/style.css", {}, default=OK),
    ("main.index", "GET"): Case(lambda t: "/", {}, default=OK),
    ("main.dashboard", "GET"): Case(lambda t: "/dashboard", signed_in(OK)),
    # Signed-in people are sent on from the sign-in and registration pages; nothing changes.
    ("auth.login", "GET"): Case(lambda t: "/auth/login", {ANON: OK}, default=KEPT),
    ("auth.login", "POST"): Case(
        lambda t: "/auth/login", {ANON: OK}, data=lambda t: {"email": "nobody@x.example", "password": "x"}, default=KEPT
    ),
    ("auth.logout", "POST"): Case(lambda t: "/auth/logout", {}, default=KEPT),
    # Anyone may choose the interface language; a signed-in person's choice is kept in their profile.
    ("i18n.switch", "POST"): Case(
        lambda t: "/language", {**signed_in(DONE), ANON: KEPT}, data=lambda t: {"locale": "zh_Hans", "next": "/"}
    ),
    ("auth.register", "GET"): Case(lambda t: "/auth/register", {ANON: OK}, default=KEPT),
    ("auth.register", "POST"): Case(
        lambda t: "/auth/register",
        {ANON: DONE},
        data=lambda t: {
            "email": "newcomer@new.example",
            "name": "Newcomer",
            "password": "a long enough password",
            "confirm": "a long enough password",
            "organization_kind": "manufacturer",
            "organization_name": "Brand New Ceramics",
        },
        default=KEPT,
    ),
    # Anyone may ask for a reset link, for any address: the answer is the same, and only the owner gets the email.
    ("auth.forgot_password", "GET"): Case(lambda t: "/auth/forgot", {}, default=OK),
    ("auth.forgot_password", "POST"): Case(
        lambda t: "/auth/forgot", {}, data=lambda t: {"email": "colleague@test.example"}, default=DONE
    ),
    # Whoever holds a valid link may use it (it went to the owner's inbox); using it changes the password.
    ("auth.reset_password", "GET"): Case(lambda t: f"/auth/reset/{t['reset_token']}", {}, default=OK),
    ("auth.reset_password", "POST"): Case(
        lambda t: f"/auth/reset/{t['reset_token']}",
        {},
        data=lambda t: {"password": "a fresh kiln password", "confirm": "a fresh kiln password"},
        default=DONE_SIGNED_OUT,
    ),
    ("auth.profile", "GET"): Case(lambda t: "/auth/profile", signed_in(OK)),
    ("auth.profile", "POST"): Case(
        lambda t: "/auth/profile", signed_in(DONE), data=lambda t: {"name": "Renamed Person", "locale": "zh_Hant"}
    ),
    # Set to the same password again: a new hash and session version, and later cases still sign in.
    ("auth.change_password", "POST"): Case(
        lambda t: "/auth/password",
        signed_in(DONE),
        data=lambda t: {"current_password": PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
    ),
    ("admin.index", "GET"): Case(lambda t: "/admin/", {**staff_only(FORBIDDEN), ADMIN: OK}),
    ("admin.approve", "POST"): Case(
        lambda t: f"/admin/curators/{t['requester']}/approve", {**staff_only(FORBIDDEN), ADMIN: DONE}
    ),
    ("curation.queue", "GET"): Case(lambda t: "/curation/", staff_only(OK)),
    ("curation.stats", "GET"): Case(lambda t: "/curation/stats", staff_only(OK)),
    ("curation.analytics", "GET"): Case(lambda t: "/curation/analytics", staff_only(OK)),
    ("curation.analytics_download", "GET"): Case(lambda t: "/curation/analytics/gaps.xlsx", staff_only(OK)),
    ("curation.assign", "GET"): Case(lambda t: "/curation/assign", staff_only(OK)),
    ("curation.apply_assign", "POST"): Case(
        lambda t: "/curation/assign/apply",
        staff_only(DONE),
        data=lambda t: {"per_demand": "2", "match_ids": str(t["proposed"])},
    ),
    ("curation.bulk", "POST"): Case(
        lambda t: "/curation/bulk",
        staff_only(DONE),
        data=lambda t: {"action": "shortlist", "match_ids": str(t["proposed"])},
    ),
    ("curation.match_detail", "GET"): Case(lambda t: f"/curation/matches/{t['proposed']}", staff_only(OK)),
    ("curation.add_note", "POST"): Case(
        lambda t: f"/curation/matches/{t['proposed']}/notes", staff_only(DONE), data=lambda t: {"body": "Call them."}
    ),
    ("curation.pair", "GET"): Case(lambda t: "/curation/pair", staff_only(OK)),
    ("curation.pair", "POST"): Case(
        lambda t: "/curation/pair",
        staff_only(DONE),
        data=lambda t: {"demand_id": str(t["demands", "published"]), "offering_id": str(t["offerings", "published"])},
    ),
    ("curation.rematch", "POST"): Case(
        lambda t: f"/curation/demands/{t['demands', 'published']}/rematch", staff_only(MOVED)
    ),
    ("curation.demand_history", "GET"): Case(
        lambda t: f"/curation/demands/{t['demands', 'published']}/history", staff_only(OK)
    ),
    ("curation.offering_history", "GET"): Case(
        lambda t: f"/curation/offerings/{t['offerings', 'published']}/history", staff_only(OK)
    ),
    # Exports list what the list pages show the same person: published postings to all, matches to members.
    ("exports.postings", "GET"): Case(lambda t: "/exports/demands.csv", {}, default=OK),
    ("exports.matches", "GET"): Case(lambda t: "/exports/matches.xlsx", signed_in(OK)),
    ("imports.index", "GET"): Case(lambda t: "/imports/", staff_only(OK)),
    ("imports.index", "POST"): Case(
        lambda t: "/imports/",
        staff_only(DONE),
        data=lambda t: {"kind": "demand", "file": (io.BytesIO(IMPORT_CSV.encode()), "list.csv")},
    ),
    ("imports.show", "GET"): Case(lambda t: f"/imports/{t['import', 'uploaded']}", staff_only(OK)),
    ("imports.check", "POST"): Case(
        lambda t: f"/imports/{t['import', 'uploaded']}/check",
        staff_only(DONE),
        data=lambda t: {"column-0": "ref", "column-1": "title", "column-2": "description"},
    ),
    ("imports.commit", "POST"): Case(lambda t: f"/imports/{t['import', 'checked']}/commit", staff_only(DONE)),
    ("matches.index", "GET"): Case(lambda t: "/matches/", signed_in(OK)),
    ("matches.detail", "GET"): Case(
        lambda t: f"/matches/{t['connected']}",
        {ANON: LOGIN, MAKER: OK, VENDOR: OK, MAKER_PEER: FORBIDDEN, VENDOR_PEER: FORBIDDEN, CURATOR: OK, ADMIN: OK}
        | {PENDING: FORBIDDEN},
    ),
    # Only the two parties answer an introduction; curators introduce but do not accept for anyone.
    ("matches.accept", "POST"): Case(
        lambda t: f"/matches/{t['introduced']}/accept", {**PARTIES_DONE, CURATOR: FORBIDDEN, ADMIN: FORBIDDEN}
    ),
    ("matches.decline", "POST"): Case(
        lambda t: f"/matches/{t['introduced']}/decline",
        {**PARTIES_DONE, CURATOR: FORBIDDEN, ADMIN: FORBIDDEN},
        data=lambda t: {"reason": "budget", "note": "Too dear."},
    ),
    # Direct interest is off by default: a curator makes introductions, so everyone is refused.
    ("matches.express_interest", "POST"): Case(
        lambda t: f"/matches/{t['proposed']}/interest", {ANON: LOGIN}, default=FORBIDDEN
    ),
    ("matches.outcome", "POST"): Case(
        lambda t: f"/matches/{t['connected']}/outcome",
        {**PARTIES_DONE, CURATOR: DONE, ADMIN: DONE},
        data=lambda t: {"outcome": "pilot_started"},
    ),
    ("matches.review", "POST"): Case(
        lambda t: f"/matches/{t['proposed']}/review",
        {ANON: LOGIN, MAKER: FORBIDDEN, VENDOR: FORBIDDEN, MAKER_PEER: FORBIDDEN, VENDOR_PEER: FORBIDDEN}
        | {CURATOR: DONE, ADMIN: DONE, PENDING: FORBIDDEN},
        data=lambda t: {"action": "shortlist"},
    ),
    ("notifications.index", "GET"): Case(lambda t: "/notifications/", signed_in(OK)),
    ("notifications.mark_all_read", "POST"): Case(lambda t: "/notifications/read-all", signed_in(DONE)),
    # Someone else's notification does not exist as far as the others know.
    ("notifications.mark_read", "POST"): Case(
        lambda t: f"/notifications/{t['notification', MAKER]}/read", {ANON: LOGIN, MAKER: DONE}, default=MISSING
    ),
    ("search.search", "GET"): Case(lambda t: "/search/?q=kiln", signed_in(OK)),
    **MEMBERSHIP_CASES,
    **API_CASES,
    **TOKEN_CASES,
    **posting_cases("demands"),
    **posting_cases("offerings"),
}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Create one app and schema for every case in this module."""
    with app_with_schema(base_config(tmp_path_factory.mktemp("authorization"))) as app:
        yield app


@pytest.fixture(scope="module")
def personas(app):
    """Create every persona once; return their user ids by name."""
    with app.app_context():
        ids = {name: make_user(*spec).id for name, spec in PERSONA_SPECS.items()}
        pending = User(email=PENDING_EMAIL, name="Pending", organization=None)
        pending.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
        db.session.add(pending)
        db.session.commit()
        return {**ids, PENDING: pending.id}


def _reset(keep_users: set[int]) -> None:
    """Delete every row but the personas and their organizations, children first."""
    for table in reversed(db.metadata.sorted_tables):
        if table is User.__table__:
            db.session.execute(table.delete().where(User.id.not_in(keep_users)))
        elif table is not Organization.__table__:
            db.session.execute(table.delete())
    keep_orgs = sa.select(User.organization_id).where(User.id.in_(keep_users), User.organization_id.is_not(None))
    db.session.execute(sa.delete(Organization).where(Organization.id.not_in(keep_orgs)))
    db.session.commit()


def _posting(model, user: User, status: PostingStatus, title: str):
    """Insert a posting directly: these tests are about routes, not indexing."""
    posting = model(
        title=title,
        description=f"{title} for the authorization matrix.",
        organization_id=user.organization_id,
        author_id=user.id,
        status=status,
        published_at=None if status is PostingStatus.DRAFT else utcnow(),
    )
    db.session.add(posting)
    db.session.flush()
    return posting


def _match(maker: User, vendor: User, status: MatchStatus, label: str) -> int:
    """Insert a match between fresh published postings of the manufacturer and the vendor."""
    demand = _posting(Demand, maker, PostingStatus.PUBLISHED, f"{label} demand")
    offering = _posting(Offering, vendor, PostingStatus.PUBLISHED, f"{label} offering")
    fields = {}
    if status is MatchStatus.INTRODUCED:
        fields = {"introduced_at": utcnow(), "expires_at": utcnow() + timedelta(days=14)}
    match = Match(demand_id=demand.id, offering_id=offering.id, status=status, score=0.8, **fields)
    db.session.add(match)
    db.session.flush()
    return match.id


@pytest.fixture
def targets(app, personas) -> dict:
    """Insert fresh postings in each state, matches in each state, notifications and a curator request."""
    ids: dict = {}
    with app.app_context():
        _reset(set(personas.values()))
        users = {name: db.session.get(User, user_id) for name, user_id in personas.items()}
        users[PENDING].organization_id = None  # an earlier case may have let them in
        maker_org = users[MAKER].organization
        for kind, model, owner in (("demands", Demand, MAKER), ("offerings", Offering, VENDOR)):
            for status in PostingStatus:
                ids[kind, status.value] = _posting(model, users[owner], status, f"{status.value} {kind}").id
        for status in (MatchStatus.PROPOSED, MatchStatus.INTRODUCED, MatchStatus.CONNECTED):
            ids[status.value] = _match(users[MAKER], users[VENDOR], status, status.value)
        for name, user in users.items():
            notification = Notification(user_id=user.id, message=f"Hello {name}", link="/dashboard")
            db.session.add(notification)
            db.session.flush()
            ids["notification", name] = notification.id
        agency = users[CURATOR].organization
        requester = User(email="wants-to-curate@test.example", organization=agency, curator_requested=True)
        requester.password_hash = "x"
        db.session.add(requester)
        db.session.flush()
        ids["requester"] = requester.id
        ids.update(_membership_targets(users, maker_org))
        ids.update(_import_targets(users[CURATOR]))
        ids.update(_api_tokens(users))
        db.session.commit()
        # Embedded and indexed as publishing them through the domain would: a search must find nothing to catch
        # up on, or the engine's own bookkeeping would count as a GET changing the database.
        published = [
            posting
            for model in (Demand, Offering)
            for posting in db.session.scalars(sa.select(model).where(model.status == PostingStatus.PUBLISHED))
        ]
        announce(published, propose=False)
    return ids


IMPORT_CSV = "ref,title,description\nIMP-1,Kiln watch,Warn before the kiln fails.\n"


def _import_targets(curator: User) -> dict:
    """Insert an uploaded import waiting for its mapping and a checked one ready to commit."""
    jobs = {}
    for status in ("uploaded", "checked"):
        job = ImportJob(user_id=curator.id, kind="demand", filename="list.csv", stored_name=f"{status}.csv")
        job.status, job.columns = status, {"ref": "ref", "title": "title", "description": "description"}
        path = Path(current_app.config["DATA_DIR"]) / "imports" / job.stored_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(IMPORT_CSV.replace("IMP-1", f"IMP-{status}"), encoding="utf-8")
        db.session.add(job)
        db.session.flush()
        jobs["import", status] = job.id
    return jobs


def _membership_targets(users: dict, maker_org: Organization) -> dict:
    """Insert the pending person's join request, an open invitation, a colleague and a deactivated account."""
    join_request = JoinRequest(user=users[PENDING], organization=maker_org)
    invitation = Invitation(
        organization=maker_org,
        email=INVITEE,
        token_hash=hash_token(TOKEN),
        invited_by=users[MAKER],
        expires_at=utcnow() + timedelta(days=14),
    )
    colleague = User(email="colleague@test.example", organization=maker_org)
    inactive = User(email="inactive@test.example", organization=maker_org, active=False)
    for user in (colleague, inactive):
        user.password_hash = "x"
    db.session.add_all([join_request, invitation, colleague, inactive])
    db.session.flush()
    return {
        "join_request": join_request.id,
        "invitation": invitation.id,
        "colleague": colleague.id,
        "inactive": inactive.id,
        "reset_token": reset_token(colleague),
    }


def _api_tokens(users: dict) -> dict:
    """Give every persona an API token, marked as just used so that a read does not write its last use."""
    found = {}
    for name, user in users.items():
        secret = f"mm_matrix-token-of-{name}"
        token = ApiToken(user=user, name="matrix", token_hash=hash_token(secret), prefix=secret[:10])
        token.last_used_at = utcnow()
        db.session.add(token)
        db.session.flush()
        found["token", name], found["token_id", name] = secret, token.id
    return found


def snapshot() -> dict[str, list[tuple]]:
    """Return every row of every table, in key order."""
    rows = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(sa.select(table).order_by(*order))]
    return rows


# ---------------------------------------------------------------- the tests


def _route_keys(app) -> set[tuple[str, str]]:
    """Return every (endpoint, method) the app serves, leaving out the methods Flask adds itself."""
    return {
        (rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_is_in_the_table(app):
    served = _route_keys(app)
    assert sorted(served - set(CASES)) == [], "routes with no row in the authorization table"
    assert sorted(set(CASES) - served) == [], "rows in the table for routes the app does not serve"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("key", sorted(CASES), ids=lambda key: f"{key[1]} {key[0]}")
def test_route_for_persona(app, client, auth, targets, key, persona):
    _endpoint, method = key
    case = CASES[key]
    expected = case.outcome(persona)
    if case.api:
        headers = {"Authorization": f"Bearer {targets['token', persona]}"} if persona != ANON else {}
    elif persona == PENDING:
        auth.login(PENDING_EMAIL)
    elif persona != ANON:
        auth.login_as(persona)
    with app.app_context():
        url, data = case.url(targets), case.data(targets)
        before = snapshot()

    if case.api:
        response = client.open(
            url, method=method, json=data if method in ("POST", "PATCH") and data else None, headers=headers
        )
    else:
        response = client.open(url, method=method, data=data if method == "POST" else None)
    response.close()  # static files are streamed from an open file

    with app.app_context():
        db.session.remove()
        after = snapshot()
    _check_status(response, expected, url)
    if expected in CHANGES:
        assert after != before, f"{persona} {method} {url} should have changed the database"
    elif expected not in MAY_CHANGE:
        changed = [name for name in before if before[name] != after[name]]
        assert changed == [], f"{persona} {method} {url} ({expected}) changed {changed}"


def _check_status(response, expected, url: str) -> None:
    """Assert the response is the outcome the table expects."""
    status = response.status_code
    if expected in (LOGIN, DONE_SIGNED_OUT):
        assert status == 302, (url, status)
        assert urlsplit(response.headers["Location"]).path == "/auth/login"
    elif expected in (DONE, MOVED, KEPT):
        assert status in (302, 303), (url, status, response.get_data(as_text=True)[:300])
        assert urlsplit(response.headers["Location"]).path != "/auth/login"
    elif expected in (OK, DONE_PAGE):
        assert status == 200, (url, status, response.get_data(as_text=True)[:300])
    elif expected == CREATED:
        assert status == 201, (url, status, response.get_data(as_text=True)[:300])
    else:
        assert status == expected, (url, status)


def _changer(case: Case) -> str:
    """Return a persona for whom the request would succeed, so that a refusal can only be the CSRF check."""
    allowed = [p for p in PERSONAS if case.outcome(p) in CHANGES | MAY_CHANGE | {OK, KEPT}]
    return allowed[0] if allowed else ADMIN


POST_KEYS = sorted(key for key in CASES if key[1] == "POST")


def test_no_get_route_may_change_anything():
    changing = [key for key in CASES if key[1] == "GET" for p in PERSONAS if CASES[key].outcome(p) in CHANGES]
    assert changing == [], "GET requests must never change the database"


@pytest.mark.parametrize("key", POST_KEYS, ids=lambda key: key[0])
def test_every_post_route_refuses_a_form_without_csrf_token(app, client, auth, targets, monkeypatch, key):
    case = CASES[key]
    persona = _changer(case)
    if persona == PENDING:
        auth.login(PENDING_EMAIL)
    elif persona != ANON:
        auth.login_as(persona)
    client.post("/language", data={"locale": "zh_Hant", "next": "/"})
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # after signing in: that form has no token either
    with app.app_context():
        url, data = case.url(targets), case.data(targets)
        before = snapshot()

    response = client.post(url, data=data)

    with app.app_context():
        db.session.remove()
        assert snapshot() == before, f"{persona} POST {url} without a CSRF token changed the database"
    if key[0].startswith("api_"):  # the API takes bearer tokens only: a signed-in browser's cookie opens nothing
        assert response.status_code == 401, (url, response.status_code)
        return
    assert response.status_code == 400, (url, response.status_code)
    assert "請重新載入" in response.get_data(as_text=True), "the refusal says what to do, in the reader's language"


# ---------------------------------------------------------------- the methods a route does not serve

OTHER_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _paths(app) -> dict[str, tuple[tuple[str, str], set[str]]]:
    """Return, per URL rule, one (endpoint, method) row of the table and every method any endpoint serves
    there (HEAD and OPTIONS left out: Flask answers them itself)."""
    paths: dict[str, tuple[tuple[str, str], set[str]]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        methods = rule.methods - {"HEAD", "OPTIONS"}
        key, served = paths.get(rule.rule, ((rule.endpoint, min(methods)), set()))
        paths[rule.rule] = (key, served | methods)
    return paths


@pytest.mark.parametrize("persona", [ANON, ADMIN, MAKER])
def test_every_other_method_is_refused_and_changes_nothing(app, client, auth, targets, persona):
    """PUT, DELETE and the rest on each URL that does not serve them: 405 (under /api/v1 in the API's error
    format), and nothing changed. HEAD and OPTIONS, which Flask answers for every URL, change nothing either."""
    if persona != ANON:
        auth.login_as(persona)
    tried = 0
    for rule, (key, served) in sorted(_paths(app).items()):
        case = CASES[key]
        api = rule.startswith("/api/v1/")
        headers = {"Authorization": f"Bearer {targets['token', persona]}"} if api and persona != ANON else {}
        with app.app_context():
            url = case.url(targets)
            before = snapshot()
        for method in [m for m in OTHER_METHODS if m not in served] + ["HEAD", "OPTIONS"]:
            response = client.open(url, method=method, headers=headers, data=b"" if method == "HEAD" else b"{}")
            response.close()
            tried += 1
            if method in ("HEAD", "OPTIONS"):
                assert response.status_code < 500, (persona, method, url, response.status_code)
                continue
            assert response.status_code == 405, (persona, method, url, response.status_code)
            if api:
                assert response.json["error"]["code"] == "method_not_allowed", (url, response.get_data()[:200])
        with app.app_context():
            db.session.remove()
            changed = [name for name, rows in snapshot().items() if before[name] != rows]
        assert changed == [], f"{persona}: other methods on {url} changed {changed}"
    assert tried > 2 * len(_paths(app)), "every URL was tried with several methods"


# ---------------------------------------------------------------- direct interest, when it is switched on


@pytest.mark.parametrize("persona", PERSONAS)
def test_express_interest_when_direct_interest_is_on(app, client, auth, targets, monkeypatch, persona):
    """With MATCHMAKER_DIRECT_INTEREST the two parties may express interest, nobody else; refusals change nothing."""
    monkeypatch.setitem(app.config, "MATCHMAKER_DIRECT_INTEREST", True)
    expected = {ANON: LOGIN, MAKER: DONE, VENDOR: DONE}.get(persona, FORBIDDEN)
    if persona == PENDING:
        auth.login(PENDING_EMAIL)
    elif persona != ANON:
        auth.login_as(persona)
    with app.app_context():
        before = snapshot()
    response = client.post(f"/matches/{targets['proposed']}/interest")
    with app.app_context():
        db.session.remove()
        after = snapshot()
        status = db.session.get(Match, targets["proposed"]).status
    _check_status(response, expected, "interest")
    if expected == DONE:
        assert after != before and status is not MatchStatus.PROPOSED
    else:
        assert after == before, f"{persona}'s refused interest changed the database"
