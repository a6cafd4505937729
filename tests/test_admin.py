"""Administration: who may see it, approving curators, and the create-admin command."""

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from matchmaker.domain.accounts import Registration, approve_curator, register_user
from matchmaker.domain.errors import PermissionDenied, ValidationFailed
from matchmaker.domain.memberships import approve_join_request, pending_join_request
from matchmaker.extensions import db
from matchmaker.models import Organization, OrgKind, Role, User

NON_ADMINS = ["manufacturer", "vendor", "curator", "intruder", "vendor_intruder"]


@pytest.fixture
def applicant(app, personas):
    """Register an agency member who asks to become a curator, let into the agency by a member; return their id."""
    with app.app_context():
        user = register_user(
            Registration(
                "officer@gba.example", "a long enough pw", "Officer Chan", "GBA Promotion Centre", OrgKind.AGENCY
            )
        )
        approve_join_request(db.session.get(User, personas["curator"]), pending_join_request(user))
        return user.id


def get_user(app, user_id) -> tuple:
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.role, user.curator_requested


def admin_routes(applicant_id):
    return [("get", "/admin/"), ("post", f"/admin/curators/{applicant_id}/approve")]


@pytest.mark.parametrize("route", [0, 1])
@pytest.mark.parametrize("persona", NON_ADMINS)
def test_non_admins_get_403(client, auth, applicant, persona, route):
    method, url = admin_routes(applicant)[route]
    auth.login_as(persona)
    response = getattr(client, method)(url)
    assert response.status_code == 403
    assert "You are not allowed to do this." in response.get_data(as_text=True)
    assert get_user(client.application, applicant) == (Role.MEMBER, True)


@pytest.mark.parametrize("route", [0, 1])
def test_anonymous_is_sent_to_login(client, applicant, route):
    method, url = admin_routes(applicant)[route]
    response = getattr(client, method)(url)
    location = urlsplit(response.headers["Location"])
    assert response.status_code == 302
    assert location.path == "/auth/login"
    assert parse_qs(location.query) == ({"next": [url]} if method == "get" else {})  # never back to a POST-only URL


@pytest.mark.parametrize("route", [0, 1])
@pytest.mark.parametrize("persona", [None, "vendor", "curator"])
def test_json_clients_get_403_json(client, auth, applicant, persona, route):
    method, url = admin_routes(applicant)[route]
    if persona:
        auth.login_as(persona)
    response = getattr(client, method)(url, headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.is_json
    assert response.get_json()["error"] == "forbidden"


def test_admin_sees_people_and_pending_requests(client, auth, applicant):
    auth.login_as("admin")
    response = client.get("/admin/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    requests_section, people_section = page.split('id="users"', 1)
    assert "officer@gba.example" in requests_section
    assert f'action="/admin/curators/{applicant}/approve"' in requests_section
    assert "factory@test.example" not in requests_section
    for text in (
        "factory@test.example",
        "Foshan Weave Textiles",
        "Manufacturer",
        "Lumen Vision AI",
        "AI vendor",
        "Agency",
        "Curator",
        "Administrator",
        "curator requested",
    ):
        assert text in people_section


def test_admin_without_requests_sees_none_waiting(client, auth, personas):
    auth.login_as("admin")
    assert "No one is waiting for approval." in client.get("/admin/").get_data(as_text=True)


def test_admin_approves_curator(client, auth, applicant):
    auth.login_as("admin")
    response = client.post(f"/admin/curators/{applicant}/approve")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert get_user(client.application, applicant) == (Role.CURATOR, False)
    page = client.get("/admin/").get_data(as_text=True)
    assert "officer@gba.example is now a curator." in page
    assert "No one is waiting for approval." in page


def test_admin_cannot_approve_someone_who_did_not_ask(client, auth, personas):
    auth.login_as("admin")
    response = client.post(f"/admin/curators/{personas['manufacturer']}/approve", follow_redirects=True)
    assert "factory@test.example has no pending curator request." in response.get_data(as_text=True)
    assert get_user(client.application, personas["manufacturer"]) == (Role.MEMBER, False)


def test_approving_unknown_user_is_404(client, auth, personas):
    auth.login_as("admin")
    assert client.post("/admin/curators/9999/approve").status_code == 404


def test_approve_curator_needs_an_admin(app, personas, applicant):
    with app.app_context():
        curator = db.session.get(User, personas["curator"])
        with pytest.raises(PermissionDenied):
            approve_curator(curator, db.session.get(User, applicant))
        admin = db.session.get(User, personas["admin"])
        with pytest.raises(ValidationFailed):
            approve_curator(admin, curator)
        assert approve_curator(admin, db.session.get(User, applicant)).role is Role.CURATOR


def test_create_admin_command(app, runner, auth):
    result = runner.invoke(args=["create-admin", "--email", "Boss@Platform.example", "--password", "a long enough pw"])
    assert result.exit_code == 0, result.output
    assert "Created administrator boss@platform.example in Matchmaker Administration." in result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "boss@platform.example"))
        assert (user.role, user.organization.name, user.organization.kind) == (
            Role.ADMIN,
            "Matchmaker Administration",
            OrgKind.AGENCY,
        )
    assert auth.login("boss@platform.example", "a long enough pw").headers["Location"] == "/dashboard"


def test_create_admin_prompts_for_hidden_confirmed_password(app, runner):
    result = runner.invoke(
        args=["create-admin", "--email", "ops@platform.example", "--organization", "Ops Desk"],
        input="a long enough pw\na long enough pw\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long enough pw" not in result.output
    with app.app_context():
        org = db.session.scalar(sa.select(Organization).where(Organization.name == "Ops Desk"))
        assert [m.email for m in org.members] == ["ops@platform.example"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--email", "admin@test.example", "--password", "a long enough pw"],
            "An account with this email already exists.",
        ),
        (["--email", "new@platform.example", "--password", "short"], "Use at least 10 characters."),
        (
            ["--email", "new@platform.example", "--password", "a long enough pw", "--organization", "Lumen Vision AI"],
            "Lumen Vision AI is already registered as AI vendor",
        ),
    ],
)
def test_create_admin_refuses_clearly(app, runner, personas, args, message):
    result = runner.invoke(args=["create-admin", *args])
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    with app.app_context():
        admins = db.session.scalars(sa.select(User.email).where(User.role == Role.ADMIN)).all()
    assert admins == ["admin@test.example"]
