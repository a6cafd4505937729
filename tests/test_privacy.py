"""Contact details stay private until both sides accept: for every persona, page, JSON response and email."""

import pytest
import sqlalchemy as sa

from matchmaker.domain import workflow
from matchmaker.extensions import db
from matchmaker.models import Match, Notification, OutboundEmail

from .factories import make_match, persona, step

MAKER = {
    "org_email": "sales@weave-textiles.example",
    "org_phone": "+86 757 8123 4567",
    "user_email": "factory@test.example",
    "user_phone": "+86 138 0013 8000",
}
VENDOR = {
    "org_email": "deals@lumen-vision.example",
    "org_phone": "+852 2345 6789",
    "user_email": "vendor@test.example",
    "user_phone": "+852 9123 4567",
}
OUTSIDERS = ("curator", "admin", "intruder")

# The path to a connection, one step at a time: (persona acting or None for the system, action, kwargs).
BEFORE_CONNECTED = [("curator", "shortlist"), ("curator", "introduce"), ("manufacturer", "accept")]
CONNECTING = ("vendor", "accept")
AFTER_CONNECTED = [("vendor", "pilot_started"), ("manufacturer", "contract_signed")]


def counterpart_secrets(name: str) -> list[str]:
    """Return the contact details the persona must not see before the match is connected."""
    if name == "manufacturer":
        return list(VENDOR.values())
    if name == "vendor":
        return list(MAKER.values())
    return [*MAKER.values(), *VENDOR.values()]


def counterpart_org_contacts(name: str) -> list[str]:
    """Return the organization contact details a party sees once connected."""
    other = VENDOR if name == "manufacturer" else MAKER
    return [other["org_email"], other["org_phone"]]


@pytest.fixture
def match_id(app, personas):
    """Create a proposed match between organizations whose contact details are all distinct."""
    with app.app_context():
        for name, details in (("manufacturer", MAKER), ("vendor", VENDOR)):
            user = persona(name)
            user.phone = details["user_phone"]
            user.organization.contact_email = details["org_email"]
            user.organization.contact_phone = details["org_phone"]
        db.session.commit()
        return make_match().id


def pages(app, match_id: int, name: str) -> list[str]:
    """Return the URLs the persona is checked on: match pages, notifications and the postings' pages."""
    with app.app_context():
        match = db.session.get(Match, match_id)
        urls = ["/matches/", f"/matches/{match_id}", "/notifications/"]
        if name != "curator" and name != "admin":  # staff pages may rightly list members' emails
            urls += [f"/demands/{match.demand_id}", f"/offerings/{match.offering_id}", "/dashboard"]
    return urls


def responses(client, urls: list[str]):
    """Yield (url, kind, status, text) for each URL as a page and as JSON."""
    for url in urls:
        for kind, headers in (("html", {}), ("json", {"Accept": "application/json"})):
            response = client.get(url, headers=headers)
            yield url, kind, response.status_code, response.get_data(as_text=True)


def assert_hidden(client, urls: list[str], secrets: list[str], stage: str) -> None:
    for url, kind, status, text in responses(client, urls):
        assert status in (200, 403, 404), (url, kind, status)
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked on {url} ({kind}) at {stage}"


@pytest.mark.parametrize("name", ["manufacturer", "vendor", *OUTSIDERS])
def test_contacts_hidden_until_connected_then_shown_to_the_parties_only(app, client, auth, match_id, name):
    auth.login_as(name)
    urls = pages(app, match_id, name)
    assert_hidden(client, urls, counterpart_secrets(name), "proposed")
    for actor, action in BEFORE_CONNECTED:
        step(app, match_id, actor, action)
        assert_hidden(client, urls, counterpart_secrets(name), action)
    step(app, match_id, *CONNECTING)
    for actor, action in [(None, "connected"), *AFTER_CONNECTED]:
        if actor:
            step(app, match_id, actor, action)
        if name in ("manufacturer", "vendor"):
            assert_shown_to_party(client, match_id, name, action)
        elif name == "intruder":
            assert_hidden(client, urls, counterpart_secrets(name), action)
            assert client.get(f"/matches/{match_id}").status_code == 403


def assert_shown_to_party(client, match_id: int, name: str, stage: str) -> None:
    page = client.get(f"/matches/{match_id}")
    assert page.status_code == 200
    data = client.get(f"/matches/{match_id}", headers={"Accept": "application/json"}).json
    for secret in counterpart_org_contacts(name):
        assert secret in page.get_data(as_text=True), (secret, stage)
        assert secret in str(data["match"]["contacts"]), (secret, stage)


@pytest.mark.parametrize("name", ["manufacturer", "vendor", *OUTSIDERS])
@pytest.mark.parametrize("ending", ["decline", "expire", "reject"])
def test_contacts_stay_hidden_when_a_match_never_connects(app, client, auth, match_id, name, ending):
    if ending == "reject":
        step(app, match_id, "curator", "reject", reason="poor_fit")
    else:
        step(app, match_id, "curator", "introduce")
        step(app, match_id, "vendor", "accept")
        if ending == "decline":
            step(app, match_id, "manufacturer", "decline", reason="budget", note="Over our budget")
        else:
            with app.app_context():
                assert workflow.expire_overdue(now=db.session.get(Match, match_id).expires_at) == 1
    auth.login_as(name)
    assert_hidden(client, pages(app, match_id, name), counterpart_secrets(name), ending)


@pytest.mark.parametrize("name", ["manufacturer", "vendor"])
def test_contacts_stay_visible_to_the_parties_after_no_deal(app, client, auth, match_id, name):
    step(app, match_id, "curator", "introduce")
    step(app, match_id, "vendor", "accept")
    step(app, match_id, "manufacturer", "accept")
    step(app, match_id, "curator", "no_deal", reason="price")
    auth.login_as(name)
    assert_shown_to_party(client, match_id, name, "no_deal")


def test_emails_and_notifications_carry_contacts_only_once_connected(app, match_id):
    for actor, action in BEFORE_CONNECTED:
        step(app, match_id, actor, action)
    with app.app_context():
        bodies = db.session.scalars(sa.select(OutboundEmail.body)).all()
        assert bodies
        assert not any(secret in body for body in bodies for secret in counterpart_secrets("curator"))
        first_batch = len(bodies)
    step(app, match_id, *CONNECTING)
    with app.app_context():
        emails = db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id)).all()[first_batch:]
        to = {email.recipient: email.body for email in emails}
        for secret in counterpart_org_contacts("manufacturer"):
            assert secret in to[MAKER["user_email"]]
        for secret in counterpart_org_contacts("vendor"):  # the vendor completed the connection
            assert secret in to[VENDOR["user_email"]]
            assert secret not in to[MAKER["user_email"]]
        assert "intruder@test.example" not in to
        messages = db.session.scalars(sa.select(Notification.message)).all()
        assert not any(secret in m for m in messages for secret in counterpart_secrets("curator"))
