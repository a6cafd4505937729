"""Nobody joins an organization without an invitation or approval: registering with a taken name gives nothing."""

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from matchmaker.domain import memberships, workflow
from matchmaker.domain.accounts import Registration, register_user
from matchmaker.domain.errors import PermissionDenied, ValidationFailed
from matchmaker.domain.memberships import pending_join_request
from matchmaker.extensions import db
from matchmaker.models import (
    Demand,
    Invitation,
    JoinRequest,
    JoinStatus,
    Match,
    MatchEvent,
    MatchStatus,
    Notification,
    Organization,
    OrgKind,
    OutboundEmail,
    PostingStatus,
    User,
    utcnow,
)

from .factories import PASSWORD, AuthActions, make_match, make_user, persona

VENDOR_EMAIL = "deals@lumen-vision.example"
VENDOR_PHONE = "+852 2345 6789"
STRANGER = "stranger@elsewhere.example"


def register(client, email=STRANGER, **changes):
    """Register through the form, as a stranger would; return the response."""
    data = {
        "email": email,
        "name": "Stranger Danger",
        "password": "a long enough pw",
        "confirm": "a long enough pw",
        "organization_kind": "manufacturer",
        "organization_name": "Foshan Weave Textiles",
        "city": "",
        **changes,
    }
    return client.post("/auth/register", data=data)


@pytest.fixture
def factory(app, personas):
    """Give the factory a draft demand and a connected match whose vendor has contact details; return ids."""
    with app.app_context():
        vendor_org = persona("vendor").organization
        vendor_org.contact_email, vendor_org.contact_phone = VENDOR_EMAIL, VENDOR_PHONE
        match = make_match(MatchStatus.CONNECTED, demand_response="accepted", offering_response="accepted")
        match.demand.published_at = match.offering.published_at = utcnow()
        maker = persona("manufacturer")
        draft = Demand(
            title="Secret kiln retrofit plan",
            description="Not public yet.",
            organization=maker.organization,
            author=maker,
            status=PostingStatus.DRAFT,
        )
        db.session.add(draft)
        db.session.commit()
        return {"match": match.id, "demand": match.demand_id, "draft": draft.id}


def snapshot(app) -> dict:
    """Return what a refused action must leave unchanged."""
    with app.app_context():
        return {
            "statuses": db.session.execute(sa.select(Match.id, Match.status).order_by(Match.id)).all(),
            "events": db.session.scalar(sa.select(sa.func.count(MatchEvent.id))),
            "notifications": db.session.scalar(sa.select(sa.func.count(Notification.id))),
            "emails": db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))),
            "demands": db.session.execute(sa.select(Demand.id, Demand.status).order_by(Demand.id)).all(),
        }


@pytest.mark.parametrize("name", ["Foshan Weave Textiles", "  foshan weave TEXTILES  "])
def test_registering_with_a_factory_name_gives_no_access_to_the_factory(app, client, factory, name):
    response = register(client, organization_name=name)
    assert response.status_code == 302
    with app.app_context():
        stranger = db.session.scalar(sa.select(User).where(User.email == STRANGER))
        assert stranger is not None
        assert stranger.organization_id is None

    # the draft is invisible, in the list and on its own
    assert client.get(f"/demands/{factory['draft']}").status_code == 404
    assert "Secret kiln retrofit plan" not in client.get("/demands/?status=draft").get_data(as_text=True)
    assert "Secret kiln retrofit plan" not in client.get("/dashboard").get_data(as_text=True)
    # the published demand has no edit link, and editing it is refused
    published = client.get(f"/demands/{factory['demand']}")
    assert published.status_code == 200
    assert f"/demands/{factory['demand']}/edit" not in published.get_data(as_text=True)
    assert client.get(f"/demands/{factory['demand']}/edit").status_code == 403

    # the match page and its JSON are refused and carry no contact details
    for headers in ({}, {"Accept": "application/json"}):
        page = client.get(f"/matches/{factory['match']}", headers=headers)
        assert page.status_code == 403
        text = page.get_data(as_text=True)
        assert VENDOR_EMAIL not in text and VENDOR_PHONE not in text
    listing = client.get("/matches/", headers={"Accept": "application/json"})
    assert listing.status_code == 200 and listing.json["matches"] == []

    # acting on the match is refused and changes nothing
    before = snapshot(app)
    outcome = client.post(f"/matches/{factory['match']}/outcome", data={"outcome": "pilot_started"})
    assert outcome.status_code == 403
    json_outcome = client.post(f"/matches/{factory['match']}/outcome", json={"outcome": "pilot_started"})
    assert json_outcome.status_code == 403
    posting = client.post(f"/demands/{factory['draft']}/publish")
    assert posting.status_code in (403, 404)
    assert client.get("/demands/new").status_code == 403
    assert snapshot(app) == before


# ---------------------------------------------------------------- helpers for the flows below

FACTORY = "Foshan Weave Textiles"
STRANGER_PASSWORD = "a long enough pw"


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def membership(app, email: str) -> int | None:
    """Return the organization id of the user with this email."""
    with app.app_context():
        return user_by_email(email).organization_id


def factory_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Organization.id).where(Organization.name == FACTORY))


@pytest.fixture
def join_request_id(app, personas):
    """Register a stranger under the factory's name through the domain; return their pending request's id."""
    with app.app_context():
        user = register_user(Registration(STRANGER, STRANGER_PASSWORD, "Stranger Danger", FACTORY, "manufacturer"))
        return pending_join_request(user).id


def request_status(app, request_id: int) -> JoinStatus:
    with app.app_context():
        return db.session.get(JoinRequest, request_id).status


def everything(app) -> dict:
    """Return every row of the tables a membership change touches, to show a refusal changed nothing."""
    with app.app_context():
        return {
            table.name: sorted(map(tuple, db.session.execute(sa.select(table)).all()), key=repr)
            for table in db.metadata.sorted_tables
            if table.name in {"user_account", "join_request", "invitation", "notification", "outbound_email"}
        }


def invite_through_page(client, email: str) -> str:
    """Invite an email from the members page as the signed-in member; return the token of the shown link."""
    response = client.post("/organization/invitations", data={"email": email})
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert 'id="invitation-link"' in page
    return re.search(r"/organization/join/([A-Za-z0-9_-]+)", page).group(1)


def make_invitation(app, email: str, inviter: str = "manufacturer") -> tuple[int, str]:
    """Create an invitation through the domain; return its id and token."""
    with app.app_context():
        invitation, token = memberships.invite(persona(inviter), email)
        return invitation.id, token


def registration_form(email: str, **changes) -> dict:
    return {
        "email": email,
        "name": "Invited Person",
        "password": STRANGER_PASSWORD,
        "confirm": STRANGER_PASSWORD,
        **changes,
    }


# ---------------------------------------------------------------- join requests


def test_join_request_notifies_the_members_only(app, join_request_id):
    with app.app_context():
        notes = db.session.execute(sa.select(Notification.user_id, Notification.message, Notification.link)).all()
        maker = persona("manufacturer")
    assert [(user_id, link) for user_id, _, link in notes] == [(maker.id, "/organization/")]
    assert STRANGER in notes[0][1] and FACTORY in notes[0][1]


def test_refused_registration_writes_nothing(app, client, personas):
    before = everything(app)
    response = register(client, organization_kind="vendor")  # the factory is a manufacturer
    assert response.status_code == 200
    assert "is already registered as Manufacturer, not AI vendor" in response.get_data(as_text=True)
    assert everything(app) == before


def test_pending_person_sees_the_request_waits_and_nothing_private(app, client, factory):
    response = register(client, organization_name="foshan weave textiles", city="Secretville")
    assert response.status_code == 302
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="join-pending"' in page and FACTORY in page
    for private in ("factory@test.example", "Secret kiln retrofit plan", "contact@manufacturer.example"):
        assert private not in page
    assert client.get("/organization/").status_code == 403
    assert client.get("/organization/choose").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(Organization).where(Organization.name == FACTORY)).city == "Foshan"


def test_member_sees_and_approves_a_request(app, client, auth, factory, join_request_id):
    auth.login_as("manufacturer")
    page = client.get("/organization/").get_data(as_text=True)
    assert f'id="join-request-{join_request_id}"' in page and STRANGER in page
    response = client.post(f"/organization/requests/{join_request_id}/approve")
    assert response.status_code == 302 and response.headers["Location"] == "/organization/"
    assert membership(app, STRANGER) == factory_id(app)
    assert request_status(app, join_request_id) is JoinStatus.APPROVED
    with app.app_context():
        stranger = user_by_email(STRANGER)
        decided = db.session.get(JoinRequest, join_request_id)
        assert decided.decided_by_id == persona("manufacturer").id and decided.decided_at is not None
        assert db.session.scalar(sa.select(Notification.message).where(Notification.user_id == stranger.id))
    auth.logout()
    auth.login(STRANGER, STRANGER_PASSWORD)
    assert client.get(f"/demands/{factory['draft']}").status_code == 200
    assert client.get(f"/matches/{factory['match']}").status_code == 200


def test_member_declines_a_request_and_the_person_cannot_ask_again(app, client, auth, join_request_id):
    auth.login_as("manufacturer")
    assert client.post(f"/organization/requests/{join_request_id}/decline").status_code == 302
    assert request_status(app, join_request_id) is JoinStatus.DECLINED
    assert membership(app, STRANGER) is None
    again = client.post(f"/organization/requests/{join_request_id}/approve", follow_redirects=True)
    assert "This request was already answered." in again.get_data(as_text=True)
    assert membership(app, STRANGER) is None
    auth.logout()
    auth.login(STRANGER, STRANGER_PASSWORD)
    before = everything(app)
    response = client.post(
        "/organization/choose", data={"organization_kind": "manufacturer", "organization_name": FACTORY}
    )
    assert response.status_code == 200
    assert "declined your request to join" in response.get_data(as_text=True)
    assert everything(app) == before


def test_admin_decides_any_request_from_the_admin_page(app, client, auth, personas, join_request_id):
    with app.app_context():
        second = register_user(Registration("other@x.example", STRANGER_PASSWORD, "Other", "lumen vision ai", "vendor"))
        second_request = pending_join_request(second).id
    auth.login_as("admin")
    page = client.get("/admin/").get_data(as_text=True)
    assert f'action="/admin/join-requests/{join_request_id}/approve"' in page
    assert f'action="/admin/join-requests/{second_request}/decline"' in page
    assert client.post(f"/admin/join-requests/{join_request_id}/approve").status_code == 302
    assert client.post(f"/admin/join-requests/{second_request}/decline").status_code == 302
    assert membership(app, STRANGER) == factory_id(app)
    assert membership(app, "other@x.example") is None
    assert request_status(app, second_request) is JoinStatus.DECLINED
    assert "No one is waiting to join an organisation." in client.get("/admin/").get_data(as_text=True)


def test_withdrawing_a_request_then_founding_a_new_organization(app, client, auth, join_request_id):
    auth.login(STRANGER, STRANGER_PASSWORD)
    assert client.post("/organization/request/withdraw").status_code == 302
    assert request_status(app, join_request_id) is JoinStatus.WITHDRAWN
    assert client.post("/organization/request/withdraw").status_code == 404
    response = client.post(
        "/organization/choose",
        data={"organization_kind": "manufacturer", "organization_name": "Stranger Ceramics", "city": "Chaozhou"},
    )
    assert response.status_code == 302
    with app.app_context():
        stranger = user_by_email(STRANGER)
        assert (stranger.organization.name, stranger.organization.city) == ("Stranger Ceramics", "Chaozhou")
    assert client.get("/organization/choose").status_code == 403  # members have an organization already
    assert client.get("/organization/").status_code == 200


def test_a_request_is_decided_once(app, join_request_id):
    with app.app_context():
        request = db.session.get(JoinRequest, join_request_id)
        memberships.decline_join_request(persona("manufacturer"), request)
        with pytest.raises(ValidationFailed):
            memberships.approve_join_request(persona("admin"), db.session.get(JoinRequest, join_request_id))
        assert user_by_email(STRANGER).organization_id is None
        with pytest.raises(PermissionDenied):
            memberships.decline_join_request(persona("intruder"), db.session.get(JoinRequest, join_request_id))


# ---------------------------------------------------------------- invitations


def test_invitation_lets_a_new_person_register_into_the_organization(app, client, auth, personas):
    auth.login_as("manufacturer")
    token = invite_through_page(client, " New.Hire@Weave.example ")
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert invitation.email == "new.hire@weave.example"
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        assert token not in str(everything(app)["invitation"])
        email = db.session.scalar(sa.select(OutboundEmail))
        assert email.recipient == "new.hire@weave.example" and f"/organization/join/{token}" in email.body
        assert (invitation.expires_at.replace(tzinfo=None) - invitation.created_at.replace(tzinfo=None)).days == 14
    assert 'id="invitation-' in client.get("/organization/").get_data(as_text=True)
    auth.logout()

    form = client.get(f"/organization/join/{token}")
    assert form.status_code == 200
    assert 'value="new.hire@weave.example"' in form.get_data(as_text=True)
    response = client.post(f"/organization/join/{token}", data=registration_form("new.hire@weave.example"))
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert membership(app, "new.hire@weave.example") == factory_id(app)
    assert client.get("/organization/").status_code == 200  # signed in, as a member
    with app.app_context():
        used = db.session.scalar(sa.select(Invitation))
        assert used.accepted_at is not None and used.accepted_by.email == "new.hire@weave.example"

    auth.logout()
    before = everything(app)
    reused = client.post(f"/organization/join/{token}", data=registration_form("second@weave.example"))
    assert reused.status_code == 400
    assert "already been used" in reused.get_data(as_text=True)
    assert everything(app) == before


def test_invitation_lets_a_registered_person_without_organization_join(app, client, auth, join_request_id):
    _, token = make_invitation(app, STRANGER)
    auth.login(STRANGER, STRANGER_PASSWORD)
    page = client.get(f"/organization/join/{token}")
    assert page.status_code == 200 and "Join Foshan Weave Textiles" in page.get_data(as_text=True)
    assert membership(app, STRANGER) is None  # opening the link alone changes nothing
    response = client.post(f"/organization/join/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/organization/"
    assert membership(app, STRANGER) == factory_id(app)
    assert request_status(app, join_request_id) is JoinStatus.WITHDRAWN


def test_invitation_for_another_email_is_refused(app, client, auth, join_request_id):
    _, token = make_invitation(app, "someone.else@weave.example")
    auth.login(STRANGER, STRANGER_PASSWORD)
    before = everything(app)
    for method in ("get", "post"):
        response = getattr(client, method)(f"/organization/join/{token}")
        assert response.status_code == 403
        assert "sent to another email address" in response.get_data(as_text=True)
    auth.logout()
    response = client.post(f"/organization/join/{token}", data=registration_form("not.invited@weave.example"))
    assert response.status_code == 200
    assert "This invitation is for someone.else@weave.example" in response.get_data(as_text=True)
    assert everything(app) == before


def test_member_of_another_organization_cannot_use_an_invitation(app, client, auth, personas):
    _, token = make_invitation(app, "rival-vendor@test.example")
    auth.login_as("vendor_intruder")
    before = everything(app)
    assert client.get(f"/organization/join/{token}").status_code == 409
    assert client.post(f"/organization/join/{token}").status_code == 409  # the same conflict as the page shows
    assert everything(app) == before


def test_expired_invitation_is_refused(app, client, auth, personas):
    invitation_id, token = make_invitation(app, "late@weave.example")
    with app.app_context():
        db.session.get(Invitation, invitation_id).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    before = everything(app)
    for method, data in (("get", None), ("post", registration_form("late@weave.example"))):
        response = getattr(client, method)(f"/organization/join/{token}", data=data)
        assert response.status_code == 400
        assert "This invitation has expired." in response.get_data(as_text=True)
    assert everything(app) == before
    auth.login_as("manufacturer")
    assert f'id="invitation-{invitation_id}"' not in client.get("/organization/").get_data(as_text=True)


def test_revoked_and_unknown_invitations_are_refused(app, client, auth, personas):
    invitation_id, token = make_invitation(app, "maybe@weave.example")
    auth.login_as("manufacturer")
    assert client.post(f"/organization/invitations/{invitation_id}/revoke").status_code == 302
    again = client.post(f"/organization/invitations/{invitation_id}/revoke", follow_redirects=True)
    assert "This invitation is already revoked." in again.get_data(as_text=True)
    auth.logout()
    revoked = client.get(f"/organization/join/{token}")
    assert revoked.status_code == 400 and "withdrawn" in revoked.get_data(as_text=True)
    unknown = client.get("/organization/join/not-a-real-token")
    assert unknown.status_code == 404 and "not valid" in unknown.get_data(as_text=True)


def test_a_new_invitation_replaces_the_open_one_and_members_are_not_invited(app, client, auth, personas):
    first_id, first_token = make_invitation(app, "twice@weave.example")
    auth.login_as("manufacturer")
    invite_through_page(client, "twice@weave.example")
    with app.app_context():
        assert db.session.get(Invitation, first_id).revoked_at is not None
    assert client.get(f"/organization/join/{first_token}").status_code == 400
    before = everything(app)
    response = client.post("/organization/invitations", data={"email": "factory@test.example"})
    assert response.status_code == 400
    assert "factory@test.example is already a member of Foshan Weave Textiles." in response.get_data(as_text=True)
    bad = client.post("/organization/invitations", data={"email": "not an email"})
    assert bad.status_code == 400
    assert everything(app) == before


# ---------------------------------------------------------------- removing members


@pytest.fixture
def colleague(app, personas):
    """Add a second member to the factory; return their id."""
    with app.app_context():
        return make_user("colleague@weave.example", OrgKind.MANUFACTURER, FACTORY).id


def test_member_removes_a_colleague_who_then_sees_nothing_private(app, client, auth, factory, colleague):
    auth.login_as("manufacturer")
    assert f'id="member-{colleague}"' in client.get("/organization/").get_data(as_text=True)
    assert client.post(f"/organization/members/{colleague}/remove").status_code == 302
    assert membership(app, "colleague@weave.example") is None
    with app.app_context():
        assert db.session.scalar(sa.select(Notification.message).where(Notification.user_id == colleague))
    auth.logout()
    auth.login("colleague@weave.example", PASSWORD)
    assert client.get(f"/demands/{factory['draft']}").status_code == 404
    assert client.get(f"/matches/{factory['match']}").status_code == 403


def test_the_last_member_cannot_be_removed(app, client, auth, personas):
    auth.login_as("manufacturer")
    maker = personas["manufacturer"]
    before = everything(app)
    response = client.post(f"/organization/members/{maker}/remove", follow_redirects=True)
    assert "is the last active member of Foshan Weave Textiles" in response.get_data(as_text=True)
    assert everything(app) == before


def test_a_member_may_leave_when_others_remain(app, client, auth, colleague):
    auth.login("colleague@weave.example", PASSWORD)
    response = client.post(f"/organization/members/{colleague}/remove")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert membership(app, "colleague@weave.example") is None


def test_only_admins_remove_curators(app, client, auth, personas):
    with app.app_context():
        officer = make_user("officer@gba.example", OrgKind.AGENCY, "GBA Promotion Centre").id
    auth.login("officer@gba.example", PASSWORD)
    before = everything(app)
    assert client.post(f"/organization/members/{personas['curator']}/remove").status_code == 403
    assert everything(app) == before
    auth.logout()
    auth.login_as("admin")
    assert client.post(f"/organization/members/{personas['curator']}/remove").status_code == 302
    assert membership(app, "curator@test.example") is None
    assert membership(app, "officer@gba.example") is not None and officer


def test_match_history_names_a_party_who_left(app, client, auth, personas):
    with app.app_context():
        make_user("second@lumen.example", OrgKind.VENDOR, "Lumen Vision AI")
        match = make_match(MatchStatus.INTRODUCED)
        workflow.apply(match, "accept", persona("vendor"))
        match_id = match.id
        memberships.remove_member(user_by_email("second@lumen.example"), persona("vendor"))
    for name in ("curator", "manufacturer"):
        auth.login_as(name)
        response = client.get(f"/matches/{match_id}")
        assert response.status_code == 200
        assert "former member" in response.get_data(as_text=True)
        assert client.get(f"/matches/{match_id}", headers={"Accept": "application/json"}).status_code == 200
        auth.logout()


# ---------------------------------------------------------------- deactivation


def test_admin_deactivates_an_account_which_can_no_longer_sign_in(app, client, auth, personas):
    other = app.test_client()
    AuthActions(other).login_as("vendor")
    assert other.get("/dashboard").status_code == 200

    auth.login_as("admin")
    assert client.post(f"/admin/users/{personas['vendor']}/deactivate").status_code == 302
    assert 'action="/admin/users/{}/reactivate"'.format(personas["vendor"]) in client.get("/admin/").get_data(
        as_text=True
    )

    # the open session ends at its next request, and says why
    ended = other.get("/dashboard")
    assert ended.status_code == 302 and ended.headers["Location"].startswith("/auth/login")
    assert "Your account has been deactivated." in other.get("/auth/login").get_data(as_text=True)
    refused = AuthActions(other).login_as("vendor")
    assert refused.status_code == 200
    assert "This account has been deactivated." in refused.get_data(as_text=True)
    assert other.get("/dashboard").status_code == 302

    # a wrong password does not learn that the account exists and is deactivated
    wrong = AuthActions(other).login("vendor@test.example", "wrong password here")
    assert "The email or password is not correct." in wrong.get_data(as_text=True)

    assert client.post(f"/admin/users/{personas['vendor']}/reactivate").status_code == 302
    assert other.get("/dashboard").status_code == 302  # the ended session stays ended
    assert AuthActions(other).login_as("vendor").status_code == 302
    assert other.get("/dashboard").status_code == 200


def test_deactivated_accounts_get_no_match_notifications(app, personas):
    with app.app_context():
        match = make_match(MatchStatus.PROPOSED)
        persona("vendor").active = False
        db.session.commit()
        workflow.apply(match, "introduce", persona("curator"))
        recipients = set(db.session.scalars(sa.select(Notification.user_id)))
    assert personas["manufacturer"] in recipients and personas["vendor"] not in recipients


def test_admin_cannot_deactivate_themselves_and_others_cannot_deactivate(app, client, auth, personas):
    auth.login_as("admin")
    before = everything(app)
    response = client.post(f"/admin/users/{personas['admin']}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert everything(app) == before
    auth.logout()
    for name in ("curator", "manufacturer", "intruder"):
        auth.login_as(name)
        assert client.post(f"/admin/users/{personas['vendor']}/deactivate").status_code == 403
        assert client.post(f"/admin/users/{personas['vendor']}/reactivate").status_code == 403
        auth.logout()
    assert everything(app) == before


# ---------------------------------------------------------------- who may use the new routes


@pytest.fixture
def targets(app, personas, join_request_id, colleague):
    """Create one row of each kind the factory's members manage; return the routes that act on them."""
    invitation_id, _ = make_invitation(app, "pending@weave.example")
    return [
        f"/organization/requests/{join_request_id}/approve",
        f"/organization/requests/{join_request_id}/decline",
        f"/organization/invitations/{invitation_id}/revoke",
        f"/organization/members/{colleague}/remove",
    ]


@pytest.mark.parametrize(
    ("who", "expected"),
    [(None, 302), ("stranger", 403), ("intruder", 404), ("vendor", 404), ("curator", 404), ("admin", 404)],
)
def test_outsiders_cannot_act_on_an_organizations_rows(app, client, auth, targets, who, expected):
    if who == "stranger":
        auth.login(STRANGER, STRANGER_PASSWORD)
    elif who:
        auth.login_as(who)
    before = everything(app)
    for url in targets:
        response = client.post(url)
        assert response.status_code == expected, url
        if expected == 302:
            assert response.headers["Location"].startswith("/auth/login")
    assert everything(app) == before
    # inviting always concerns the inviter's own organization; without one there is nothing to invite into
    invite = client.post("/organization/invitations", data={"email": "x@y.example"})
    assert invite.status_code == {None: 302, "stranger": 403}.get(who, 200)
    if who in (None, "stranger"):
        assert everything(app) == before
    else:
        with app.app_context():
            invitation = db.session.scalar(sa.select(Invitation).where(Invitation.email == "x@y.example"))
            assert invitation.organization_id == persona(who).organization_id != factory_id(app)


@pytest.mark.parametrize("who", [None, "stranger", "manufacturer", "curator", "intruder"])
def test_only_admins_use_the_new_admin_routes(app, client, auth, personas, join_request_id, who):
    if who == "stranger":
        auth.login(STRANGER, STRANGER_PASSWORD)
    elif who:
        auth.login_as(who)
    before = everything(app)
    for url in (
        f"/admin/join-requests/{join_request_id}/approve",
        f"/admin/join-requests/{join_request_id}/decline",
        f"/admin/users/{personas['vendor']}/deactivate",
        f"/admin/users/{personas['vendor']}/reactivate",
    ):
        response = client.post(url)
        assert response.status_code == (302 if who is None else 403), url
    assert everything(app) == before


def test_new_routes_refuse_get_and_unknown_rows(app, client, auth, targets):
    auth.login_as("manufacturer")
    for url in targets:
        assert client.get(url).status_code == 405
    for url in ("/organization/requests/999/approve", "/organization/invitations/999/revoke"):
        assert client.post(url).status_code == 404
    auth.logout()
    auth.login_as("admin")
    for url in ("/admin/join-requests/999/approve", "/admin/users/999/deactivate"):
        assert client.post(url).status_code == 404


def test_pages_do_not_break_for_a_person_without_organization(app, client, factory, join_request_id):
    AuthActions(client).login(STRANGER, STRANGER_PASSWORD)
    urls = [
        "/",
        "/dashboard",
        "/demands/",
        "/demands/?status=draft",
        "/offerings/?status=closed",
        f"/demands/{factory['demand']}",
        "/matches/",
        "/matches/?status=connected",
        "/notifications/",
        "/organization/choose",
    ]
    for url in urls:
        for headers in ({}, {"Accept": "application/json"}):
            assert client.get(url, headers=headers).status_code == 200, url
    for url in ("/demands/new", "/offerings/new", "/organization/", "/curation/", "/admin/"):
        assert client.get(url).status_code == 403, url
    assert 'id="filter-status"' not in client.get("/demands/").get_data(as_text=True)  # no drafts of their own


def test_a_request_to_an_organization_without_members_goes_to_the_admins(app, personas):
    with app.app_context():
        db.session.add(Organization(name="Imported Foundry", kind=OrgKind.MANUFACTURER))
        db.session.commit()
        register_user(Registration(STRANGER, STRANGER_PASSWORD, "Stranger", "imported foundry", "manufacturer"))
        notified = db.session.execute(sa.select(Notification.user_id, Notification.link)).all()
    assert notified == [(personas["admin"], "/admin/")]


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_membership_changes_need_a_csrf_token(csrf_app_config, app, client, personas, join_request_id):
    token = csrf_token(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"email": "factory@test.example", "password": PASSWORD, "csrf_token": token})
    members_page = client.get("/organization/").get_data(as_text=True)
    assert f"/organization/requests/{join_request_id}/approve" in members_page
    before = everything(app)
    for url in (
        f"/organization/requests/{join_request_id}/approve",
        f"/organization/requests/{join_request_id}/decline",
        "/organization/invitations",
        f"/organization/members/{personas['manufacturer']}/remove",
    ):
        assert client.post(url, data={"email": "x@y.example"}).status_code == 400, url
    assert everything(app) == before
    token = csrf_token(members_page)
    approved = client.post(f"/organization/requests/{join_request_id}/approve", data={"csrf_token": token})
    assert approved.status_code == 302
    assert membership(app, STRANGER) == factory_id(app)
