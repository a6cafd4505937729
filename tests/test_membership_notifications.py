"""What membership steps tell people: the notifications module writes the texts, the link and the email."""

import re

import pytest
import sqlalchemy as sa

from matchmaker import mailer
from matchmaker.domain import memberships
from matchmaker.extensions import db
from matchmaker.models import Invitation, Notification, OutboundEmail, User
from matchmaker.notifications.memberships import invitation_url
from matchmaker.signals import membership_changed

BASE = "https://matchmaker.example.org"


def test_the_shown_link_and_the_email_use_the_base_url(app, client, auth, personas):
    app.config["MATCHMAKER_BASE_URL"] = BASE + "/"
    auth.login_as("manufacturer")
    page = client.post("/organization/invitations", data={"email": "hire@example.org"}).get_data(as_text=True)
    token = re.search(r"/organization/join/([A-Za-z0-9_-]+)", page).group(1)
    link = f"{BASE}/organization/join/{token}"
    assert f'value="{link}"' in page
    with app.app_context():
        assert link in db.session.scalar(sa.select(OutboundEmail.body))
        assert invitation_url(token) == link


def test_without_a_base_url_the_link_is_this_sites(app, personas):
    with app.test_request_context():
        assert invitation_url("abc") == "http://localhost/organization/join/abc"
    with app.app_context():  # a command has no request: the path still names the page
        assert invitation_url("abc").endswith("/organization/join/abc")


def test_a_mail_failure_keeps_the_invitation_and_queues_its_email(app, personas, monkeypatch, caplog):
    def broken(email_ids):
        raise OSError("mail server down")

    monkeypatch.setattr(mailer, "deliver", broken)
    with app.app_context():
        invitation, token = memberships.invite(db.session.get(User, personas["manufacturer"]), "hire@example.org")
        assert db.session.get(Invitation, invitation.id).token_hash == memberships.hash_token(token)
        queued = db.session.scalars(sa.select(OutboundEmail)).all()
        assert [(email.recipient, email.sent_at) for email in queued] == [("hire@example.org", None)]
    assert "Sending an invitation email failed; it stays queued" in caplog.text


def test_a_step_that_does_not_commit_sends_no_email(app, personas, monkeypatch):
    sent = []
    monkeypatch.setattr(mailer, "deliver", sent.append)
    with app.app_context():
        maker = db.session.get(User, personas["manufacturer"])

        def refuse():
            raise RuntimeError("the database went away")

        monkeypatch.setattr(db.session, "commit", refuse)
        with pytest.raises(RuntimeError):
            memberships.invite(maker, "hire@example.org")
        monkeypatch.undo()
        assert sent == []
        assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 0


def test_joining_by_invitation_tells_the_other_members_once(app, personas):
    with app.app_context():
        maker = db.session.get(User, personas["manufacturer"])
        _, token = memberships.invite(maker, "hire@example.org")
        hire = memberships.register_invited(
            memberships.InvitedRegistration(token, "hire@example.org", "a long enough pw", "New Hire")
        )
        notes = db.session.execute(sa.select(Notification.user_id, Notification.message, Notification.link)).all()
        assert notes == [(maker.id, "New Hire joined Foshan Weave Textiles by invitation.", "/organization/")]
        assert hire.organization_id == maker.organization_id


def test_a_receiver_that_fails_leaves_the_step_undone(app, personas):
    def broken(organization, **details):
        raise RuntimeError("a receiver failed")

    with app.app_context():
        maker = db.session.get(User, personas["manufacturer"])
        _, token = memberships.invite(maker, "colleague@example.org")
        colleague = memberships.register_invited(
            memberships.InvitedRegistration(token, "colleague@example.org", "a long enough pw", "")
        )
        before = db.session.scalar(sa.select(sa.func.count(Notification.id)))
        membership_changed.connect(broken)
        try:
            with pytest.raises(RuntimeError):
                memberships.remove_member(maker, colleague)
        finally:
            membership_changed.disconnect(broken)
        assert colleague.organization_id == maker.organization_id
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == before
