"""Every demand and offering route against every persona: status codes and where redirects point."""

from urllib.parse import parse_qs, urlsplit

import pytest

from matchmaker.extensions import db
from matchmaker.models import Demand, Offering, Organization, PostingStatus, User, utcnow
from tests.apps import app_with_schema, base_config
from tests.factories import PERSONAS as PERSONA_SPECS
from tests.factories import make_user

ANONYMOUS = "anonymous"
PERSONAS = [ANONYMOUS, "manufacturer", "vendor", "curator", "admin", "intruder", "vendor_intruder"]

# How each persona stands towards the postings of each blueprint.
STANDING = {
    "demands": {
        "manufacturer": "owner",
        "intruder": "rival",
        "vendor": "stranger",
        "vendor_intruder": "stranger",
        "curator": "curator",
        "admin": "curator",
        ANONYMOUS: ANONYMOUS,
    },
    "offerings": {
        "vendor": "owner",
        "vendor_intruder": "rival",
        "manufacturer": "stranger",
        "intruder": "stranger",
        "curator": "curator",
        "admin": "curator",
        ANONYMOUS: ANONYMOUS,
    },
}

LOGIN = "login"  # 302 to the login page with next= the requested path
DETAIL = "detail"  # 302 back to the posting's page

# (method, path template, posting it targets) -> expected outcome by standing.
ROUTES = {
    ("GET", "/", None): {"*": 200},
    ("GET", "/?status=draft", None): {"*": 200},
    ("GET", "/new", None): {ANONYMOUS: LOGIN, "owner": 200, "rival": 200, "stranger": 403, "curator": 403},
    ("GET", "/{id}", "published"): {"*": 200},
    ("GET", "/{id}", "draft"): {ANONYMOUS: 404, "owner": 200, "rival": 404, "stranger": 404, "curator": 200},
    ("GET", "/{id}", "missing"): {"*": 404},
    ("GET", "/{id}/edit", "published"): {ANONYMOUS: LOGIN, "owner": 200, "rival": 403, "stranger": 403, "curator": 403},
    ("GET", "/{id}/edit", "draft"): {ANONYMOUS: LOGIN, "owner": 200, "rival": 404, "stranger": 404, "curator": 403},
    ("GET", "/{id}/edit", "closed"): {ANONYMOUS: LOGIN, "owner": DETAIL, "rival": 403, "stranger": 403, "curator": 403},
    ("POST", "/{id}/publish", "draft"): {
        ANONYMOUS: LOGIN,
        "owner": DETAIL,
        "rival": 404,
        "stranger": 404,
        "curator": 403,
    },
    # The confirmation page: asking to close is the owner's alone, like closing.
    ("GET", "/{id}/close", "published"): {
        ANONYMOUS: LOGIN,
        "owner": 200,
        "rival": 403,
        "stranger": 403,
        "curator": 403,
    },
    ("GET", "/{id}/close", "draft"): {ANONYMOUS: LOGIN, "owner": 200, "rival": 404, "stranger": 404, "curator": 403},
    ("GET", "/{id}/close", "closed"): {
        ANONYMOUS: LOGIN,
        "owner": DETAIL,
        "rival": 403,
        "stranger": 403,
        "curator": 403,
    },
    ("POST", "/{id}/close", "published"): {
        ANONYMOUS: LOGIN,
        "owner": DETAIL,
        "rival": 403,
        "stranger": 403,
        "curator": 403,
    },
    ("GET", "/{id}/publish", "draft"): {"*": 405},
}


# ~170 cases: one schema and one set of personas for the module keeps them quick; each test gets fresh postings.
@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Create one app and schema for every case in this module."""
    with app_with_schema(base_config(tmp_path_factory.mktemp("access"))) as app:
        yield app


@pytest.fixture(scope="module")
def personas(app):
    """Create every persona once, with a cheap hash so that ~170 logins stay fast."""
    with app.app_context():
        users = [make_user(*spec) for spec in PERSONA_SPECS.values()]
        return {name: user.id for name, user in zip(PERSONA_SPECS, users)}


def _clear_all_but_people() -> None:
    """Delete every row except organizations and users, children first."""
    keep = {Organization.__table__, User.__table__}
    for table in reversed(db.metadata.sorted_tables):
        if table not in keep:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def targets(app, personas):
    """Insert one posting in each state per blueprint, owned by the manufacturer or the vendor."""
    owners = {"demands": (Demand, personas["manufacturer"]), "offerings": (Offering, personas["vendor"])}
    ids = {}
    with app.app_context():
        _clear_all_but_people()
        for blueprint, (model, user_id) in owners.items():
            user = db.session.get(User, user_id)
            for state in (PostingStatus.PUBLISHED, PostingStatus.DRAFT, PostingStatus.CLOSED):
                # Inserted directly: these tests are about routes, not about indexing or matching.
                posting = model(
                    title=f"{state.value} {blueprint}",
                    description="For access tests.",
                    organization_id=user.organization_id,
                    author_id=user.id,
                    status=state,
                    published_at=None if state is PostingStatus.DRAFT else utcnow(),
                )
                db.session.add(posting)
                db.session.flush()
                ids[blueprint, state.value] = posting.id
            ids[blueprint, "missing"] = 999_999
        db.session.commit()
    return ids


def expected_for(rules: dict, standing: str):
    return rules.get(standing, rules.get("*"))


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("method", "path", "target"), list(ROUTES), ids=lambda v: str(v))
@pytest.mark.parametrize("blueprint", ["demands", "offerings"])
def test_route_access(client, auth, targets, blueprint, method, path, target, persona):
    expected = expected_for(ROUTES[method, path, target], STANDING[blueprint][persona])
    posting_id = targets[blueprint, target] if target else None
    url = f"/{blueprint}" + path.format(id=posting_id)
    if persona != ANONYMOUS:
        auth.login_as(persona)

    response = client.open(url, method=method)

    if expected == LOGIN:
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/auth/login"
        # After login, a page comes back to itself; a form post to the page it was sent from, never to itself.
        assert parse_qs(location.query).get("next") == ([url] if method == "GET" else None)
    elif expected == DETAIL:
        assert response.status_code == 302
        assert response.headers["Location"] == f"/{blueprint}/{posting_id}"
    else:
        assert response.status_code == expected
        assert "Location" not in response.headers


@pytest.mark.parametrize("blueprint", ["demands", "offerings"])
def test_json_clients_get_403_not_a_redirect(client, targets, blueprint):
    response = client.get(f"/{blueprint}/new", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_anonymous_form_post_returns_to_the_page_it_came_from(client, targets):
    url = f"/demands/{targets['demands', 'draft']}/publish"
    response = client.post(url, headers={"Referer": "http://localhost/demands/?city=Foshan"})
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/demands/?city=Foshan"]
    response = client.post(url, headers={"Referer": "http://evil.example/phish"})
    assert "next" not in parse_qs(urlsplit(response.headers["Location"]).query)
