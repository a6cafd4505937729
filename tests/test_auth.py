"""Registration, sign-in, sign-out and where sign-in sends people."""

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from matchmaker.domain.accounts import Registration, authenticate, register_user
from matchmaker.domain.errors import ValidationFailed
from matchmaker.extensions import db
from matchmaker.models import JoinRequest, JoinStatus, Organization, OrgKind, Role, User
from tests.factories import PASSWORD, PERSONAS

BAD_LOGIN = "The email or password is not correct."


def registration(**changes) -> dict:
    """Return a valid registration form submission with some fields changed."""
    data = {
        "email": "new.person@newco.example",
        "name": "New Person",
        "password": "a long enough pw",
        "confirm": "a long enough pw",
        "organization_kind": "manufacturer",
        "organization_name": "Zhongshan Lamp Works",
        "city": "Zhongshan",
    }
    return {**data, **changes}


def find_user(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        return user and (user.id, user.organization.name, user.organization.kind, user.role, user.curator_requested)


def organization_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Organization.id)))


def test_register_page_offers_the_three_kinds(client):
    page = client.get("/auth/register").get_data(as_text=True)
    assert "Manufacturer" in page
    assert "AI vendor" in page
    assert "Agency" in page
    assert 'name="organization_name"' in page and 'name="confirm"' in page


def test_register_creates_organisation_and_signs_in(app, client):
    response = client.post("/auth/register", data=registration())
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    _, org_name, kind, role, requested = find_user(app, "new.person@newco.example")
    assert (org_name, kind, role, requested) == ("Zhongshan Lamp Works", OrgKind.MANUFACTURER, Role.MEMBER, False)
    with app.app_context():
        org = db.session.scalar(sa.select(Organization).where(Organization.name == "Zhongshan Lamp Works"))
        assert org.city == "Zhongshan"
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    assert "New Person" in dashboard.get_data(as_text=True)


def test_register_with_existing_organisation_name_only_asks_to_join(app, client, personas):
    before = organization_count(app)
    response = client.post(
        "/auth/register",
        data=registration(
            email="second@lumen.example", organization_kind="vendor", organization_name="  lumen vision ai "
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "second@lumen.example"))
        assert user.organization_id is None
        request = db.session.scalar(sa.select(JoinRequest).where(JoinRequest.user_id == user.id))
        assert (request.organization.name, request.status) == ("Lumen Vision AI", JoinStatus.PENDING)
    assert organization_count(app) == before
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="join-pending"' in page and "Lumen Vision AI" in page


def test_register_refuses_joining_organisation_of_another_kind(app, client, personas):
    before = organization_count(app)
    response = client.post(
        "/auth/register",
        data=registration(
            email="sneaky@lumen.example", organization_kind="manufacturer", organization_name="Lumen Vision AI"
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Lumen Vision AI is already registered as AI vendor, not Manufacturer" in page
    assert "has-error" in page
    assert find_user(app, "sneaky@lumen.example") is None
    assert organization_count(app) == before


@pytest.mark.parametrize("email", ["vendor@test.example", " Vendor@Test.Example "])
def test_register_refuses_duplicate_email(app, client, personas, email):
    response = client.post("/auth/register", data=registration(email=email))
    assert response.status_code == 200
    assert "An account with this email already exists." in response.get_data(as_text=True)
    assert organization_count(app) == len({spec[2] for spec in PERSONAS.values()})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short", "confirm": "short"}, "Use at least 10 characters."),
        ({"confirm": "something else entirely"}, "The two passwords do not match."),
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"organization_kind": "robot"}, "Not a valid choice"),
        ({"organization_name": ""}, "This field is required."),
    ],
)
def test_register_shows_field_errors(app, client, changes, message):
    response = client.post("/auth/register", data=registration(**changes))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert find_user(app, registration(**changes)["email"]) is None


def test_domain_refuses_short_password_and_bad_email(app):
    with app.app_context():
        with pytest.raises(ValidationFailed) as short:
            register_user(Registration("ok@newco.example", "123456789", "A", "Org", "vendor"))
        with pytest.raises(ValidationFailed) as bad:
            register_user(Registration("nobody", "1234567890", "A", "Org", "vendor"))
    assert short.value.field == "password"
    assert bad.value.field == "email"


def test_agency_registrant_requests_curation(app, client):
    response = client.post(
        "/auth/register",
        data=registration(
            email="officer@hkpc.example", organization_kind="agency", organization_name="HK Productivity Desk"
        ),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "awaits an administrator" in page
    assert 'id="curator-pending"' in page
    _, _, kind, role, requested = find_user(app, "officer@hkpc.example")
    assert (kind, role, requested) == (OrgKind.AGENCY, Role.MEMBER, True)


def test_signed_in_person_visiting_register_goes_to_dashboard(client, auth, personas):
    auth.login_as("vendor")
    response = client.get("/auth/register")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def test_login_succeeds_and_logout_ends_the_session(client, auth, personas):
    response = auth.login("FACTORY@test.example")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200

    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/dashboard").status_code == 302


def test_login_page_renders(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'name="email"' in page and 'name="password"' in page and 'name="remember"' in page


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("factory@test.example", "wrong password entirely"),
        ("nobody@test.example", PASSWORD),
    ],
)
def test_login_failure_does_not_reveal_whether_email_exists(client, auth, personas, email, password):
    response = auth.login(email, password)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert BAD_LOGIN in page
    assert "no account" not in page.lower() and "unknown" not in page.lower()
    assert client.get("/dashboard").status_code == 302


def test_authenticate_raises_the_same_error_for_both_failures(app, personas):
    with app.app_context():
        assert authenticate("factory@test.example", PASSWORD).id == personas["manufacturer"]
        messages = set()
        for email, password in (("factory@test.example", "nope nope nope"), ("ghost@test.example", PASSWORD)):
            with pytest.raises(ValidationFailed) as error:
                authenticate(email, password)
            messages.add((str(error.value.message), error.value.field))
    assert messages == {(BAD_LOGIN, None)}


def test_logout_only_accepts_post(client, auth, personas):
    auth.login_as("manufacturer")
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/demands/", "/demands/"),
        ("/dashboard?tab=drafts", "/dashboard?tab=drafts"),
        ("http://evil.example/", "/dashboard"),
        ("//evil.example", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
        ("https:/evil.example", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
        ("dashboard", "/dashboard"),
    ],
)
def test_login_follows_only_safe_next(client, personas, next_url, expected):
    response = client.post(
        "/auth/login", query_string={"next": next_url}, data={"email": "factory@test.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_form_keeps_next_in_its_action(client):
    page = client.get("/auth/login", query_string={"next": "/demands/"}).get_data(as_text=True)
    assert 'action="/auth/login?next=/demands/"' in page or 'action="/auth/login?next=%2Fdemands%2F"' in page


def test_anonymous_dashboard_redirects_to_login_with_next(client):
    response = client.get("/dashboard")
    location = urlsplit(response.headers["Location"])
    assert response.status_code == 302
    assert location.path == "/auth/login"
    assert parse_qs(location.query) == {"next": ["/dashboard"]}


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_logout_needs_csrf_token_in_production(csrf_app_config, app, client, personas):
    with client.session_transaction() as session:
        session["_user_id"] = f"{personas['manufacturer']}-0"  # the account id and its session version
        session["_fresh"] = True
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200

    page = client.get("/dashboard").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_domain_refuses_unknown_organisation_kind(app):
    with app.app_context(), pytest.raises(ValidationFailed) as error:
        register_user(Registration("ok@newco.example", "kiln glaze 4 ever", "A", "Org", "robot"))
    assert error.value.field == "organization_kind"
