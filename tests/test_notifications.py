"""Notifications in the app at every step, and email through a real local SMTP server, failures included."""

import logging

import pytest
import sqlalchemy as sa

from matchmaker import mailer
from matchmaker.extensions import db
from matchmaker.models import Match, MatchEvent, MatchStatus, Notification, OutboundEmail
from matchmaker.notifications.messages import on_match_changed
from matchmaker.signals import match_changed

from .factories import PERSONAS, free_port, make_match, persona, start_smtp, step

EVERYONE = ["manufacturer", "vendor", "curator", "admin", "intruder", "vendor_intruder"]


@pytest.fixture
def smtp_port(app):
    """Point the app's mail settings at a free local port."""
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5)
    return port


@pytest.fixture
def inbox(smtp_port):
    """Run a real SMTP server on the configured port for the test."""
    controller, inbox = start_smtp(smtp_port)
    yield inbox
    controller.stop()


@pytest.fixture
def match_id(app, personas):
    with app.app_context():
        return make_match().id


def unread(app) -> dict[str, int]:
    """Return each persona's unread notification count."""
    with app.app_context():
        return {
            name: db.session.scalar(
                sa.select(sa.func.count(Notification.id)).where(
                    Notification.user_id == persona(name).id, Notification.read_at.is_(None)
                )
            )
            for name in EVERYONE
        }


def test_every_step_notifies_the_people_it_concerns(app, match_id):
    step(app, match_id, "curator", "introduce")
    assert unread(app) == {
        "manufacturer": 1,
        "vendor": 1,
        "curator": 0,
        "admin": 0,
        "intruder": 0,
        "vendor_intruder": 0,
    }
    step(app, match_id, "manufacturer", "accept")
    assert unread(app) == {
        "manufacturer": 1,
        "vendor": 2,
        "curator": 1,
        "admin": 1,
        "intruder": 0,
        "vendor_intruder": 0,
    }
    step(app, match_id, "vendor", "accept")  # connecting tells everyone, the one who connected included
    assert unread(app) == {
        "manufacturer": 2,
        "vendor": 3,
        "curator": 2,
        "admin": 2,
        "intruder": 0,
        "vendor_intruder": 0,
    }
    step(app, match_id, "curator", "contract_signed")  # curators hear of parties' steps, not of each other's
    assert unread(app) == {
        "manufacturer": 3,
        "vendor": 4,
        "curator": 2,
        "admin": 2,
        "intruder": 0,
        "vendor_intruder": 0,
    }
    with app.app_context():
        messages = db.session.scalars(
            sa.select(Notification.message)
            .where(Notification.user_id == persona("manufacturer").id)
            .order_by(Notification.id)
        ).all()
        assert "introduced" in messages[0] and "accept or decline by" in messages[0]
        assert "connected" in messages[1] and "contract was signed" in messages[2]
        assert db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 2 + 3 + 4 + 2
        # no server configured: emails wait in the queue
        assert (
            db.session.scalar(sa.select(sa.func.count(OutboundEmail.id)).where(OutboundEmail.sent_at.is_not(None))) == 0
        )


def test_notification_centre_lists_unread_first_and_marks_read(app, client, auth, match_id):
    step(app, match_id, "curator", "introduce")
    step(app, match_id, "manufacturer", "accept")
    auth.login_as("vendor")
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'id="unread-count">2<' in page and "2 unread" in page
    listing = client.get("/notifications/", headers={"Accept": "application/json"}).json
    assert listing["unread"] == 2 and [n["read"] for n in listing["notifications"]] == [False, False]
    oldest = listing["notifications"][-1]
    response = client.post(f"/notifications/{oldest['id']}/read", data={"follow": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/matches/{match_id}")
    listing = client.get("/notifications/", headers={"Accept": "application/json"}).json
    assert listing["unread"] == 1
    assert [n["read"] for n in listing["notifications"]] == [False, True]  # unread first
    client.post("/notifications/read-all")
    assert client.get("/notifications/", headers={"Accept": "application/json"}).json["unread"] == 0


def test_a_user_sees_and_marks_only_their_own(app, client, auth, match_id):
    step(app, match_id, "curator", "introduce")
    with app.app_context():
        vendors = db.session.scalars(
            sa.select(Notification.id).where(Notification.user_id == persona("vendor").id)
        ).all()
    auth.login_as("intruder")
    assert client.get("/notifications/", headers={"Accept": "application/json"}).json["notifications"] == []
    assert client.post(f"/notifications/{vendors[0]}/read").status_code == 404
    client.post("/notifications/read-all")
    assert unread(app)["vendor"] == 1
    auth.logout()
    assert client.get("/notifications/").status_code == 302


def test_emails_go_out_through_smtp_after_commit(app, match_id, inbox):
    step(app, match_id, "curator", "introduce")
    assert inbox.recipients() == sorted([PERSONAS["manufacturer"][0], PERSONAS["vendor"][0]])
    message = inbox.messages[0]
    assert "Fabric defect detection" in message["subject"]
    assert "accept or decline" in message["body"] and f"/matches/{match_id}" in message["body"]
    with app.app_context():
        emails = db.session.scalars(sa.select(OutboundEmail)).all()
        assert [(e.attempts, e.last_error, e.sent_at is not None) for e in emails] == [(1, "", True)] * 2


def test_a_failed_send_is_logged_kept_and_retried_later(app, client, auth, runner, match_id, smtp_port, caplog):
    step(app, match_id, "curator", "introduce")  # nothing listens on smtp_port yet
    caplog.set_level(logging.WARNING, logger="matchmaker.mailer")
    auth.login_as("manufacturer")
    response = client.post(f"/matches/{match_id}/accept", follow_redirects=True)
    assert response.status_code == 200 and "You accepted this introduction" in response.get_data(as_text=True)
    assert any("failed" in record.getMessage() for record in caplog.records)
    with app.app_context():
        emails = db.session.scalars(sa.select(OutboundEmail)).all()
        assert len(emails) == 5 and all(e.sent_at is None and e.attempts == 1 and e.last_error for e in emails)
    controller, inbox = start_smtp(smtp_port)
    try:
        result = runner.invoke(args=["mail", "retry"])
    finally:
        controller.stop()
    assert result.exit_code == 0 and "Sent 5 email(s)" in result.output
    assert len(inbox.messages) == 5
    with app.app_context():
        assert all(e.sent_at and e.attempts == 2 for e in db.session.scalars(sa.select(OutboundEmail)))
    assert runner.invoke(args=["mail", "retry"]).output.startswith("Sent 0")


def test_retry_gives_up_after_max_attempts(app, match_id, inbox):
    with app.app_context():
        db.session.add_all(
            [
                OutboundEmail(recipient="a@test.example", subject="s", body="b", attempts=5),
                OutboundEmail(recipient="b@test.example", subject="s", body="b", attempts=4),
            ]
        )
        db.session.commit()
        assert mailer.deliver_pending(max_attempts=5) == 1
    assert inbox.recipients() == ["b@test.example"]


def test_retry_command_says_when_mail_is_not_configured(app, runner):
    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code != 0 and "MAIL_SERVER is not configured" in result.output


# ---------------------------------------------------------------- the workflow's announcement and its receivers


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def test_the_workflow_steps_alone_when_nobody_listens(app, match_id):
    match_changed.disconnect(on_match_changed)
    try:
        step(app, match_id, "curator", "introduce")
    finally:
        match_changed.connect(on_match_changed, weak=False)
    with app.app_context():
        assert db.session.get(Match, match_id).status is MatchStatus.INTRODUCED
        assert count(MatchEvent) == 1 and count(Notification) == 0 and count(OutboundEmail) == 0


def test_the_announcement_carries_the_step_and_follow_ups_run_after_commit(app, match_id):
    seen = []

    def receiver(match, *, event, actor, side):
        seen.append((match.id, event.action, event.to_status, actor.email, side, db.session().in_transaction()))
        return lambda: seen.append(("after", _committed_events(app, match.id)))

    with match_changed.connected_to(receiver):
        step(app, match_id, "curator", "introduce")
        step(app, match_id, "vendor", "accept")
    assert seen == [
        (match_id, "introduce", "introduced", PERSONAS["curator"][0], None, True),
        ("after", 1),
        (match_id, "accept", "introduced", PERSONAS["vendor"][0], "offering", True),
        ("after", 2),
    ]


def _committed_events(app, match_id: int) -> int:
    """Count the match's audit rows through a connection of its own, which sees only what is committed."""
    with db.engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count(MatchEvent.id)).where(MatchEvent.match_id == match_id))


def test_a_receiver_that_fails_undoes_the_whole_step_and_runs_no_follow_up(app, match_id):
    follow_ups = []

    def failing(match, **_):
        raise RuntimeError("receiver broke")

    def later(match, **_):
        return lambda: follow_ups.append(match.id)

    with (
        match_changed.connected_to(later),
        match_changed.connected_to(failing),
        pytest.raises(RuntimeError, match="receiver broke"),
    ):
        step(app, match_id, "curator", "introduce")
    assert follow_ups == []
    with app.app_context():
        assert db.session.get(Match, match_id).status is MatchStatus.PROPOSED
        assert count(MatchEvent) == 0 and count(Notification) == 0 and count(OutboundEmail) == 0


def test_a_follow_up_that_fails_is_logged_and_the_step_stands(app, match_id, caplog):
    def receiver(match, **_):
        return lambda: 1 / 0

    caplog.set_level(logging.ERROR, logger="matchmaker.domain.workflow")
    with match_changed.connected_to(receiver):
        step(app, match_id, "curator", "introduce")
    assert any("Follow-up of a match step" in record.getMessage() for record in caplog.records)
    with app.app_context():
        assert db.session.get(Match, match_id).status is MatchStatus.INTRODUCED
        assert count(Notification) == 2


# ---------------------------------------------------------------- in the recipient's language


def messages_to(app, email: str) -> list[tuple[str, str]]:
    """Return the (subject, body) of each email queued for this address, oldest first."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OutboundEmail).where(OutboundEmail.recipient == email).order_by(OutboundEmail.id)
        )
        return [(row.subject, row.body) for row in rows]


def notifications_of(app, name: str) -> list[str]:
    with app.app_context():
        user = persona(name)
        return list(db.session.scalars(sa.select(Notification.message).where(Notification.user_id == user.id)))


def test_a_traditional_vendor_reads_a_simplified_factorys_step_in_traditional(app, client, auth, match_id):
    with app.app_context():
        persona("vendor").locale = "zh_Hant"
        persona("admin").locale = "zh_Hans"
        db.session.commit()  # the curator chose nothing: the default language, English
    step(app, match_id, "curator", "introduce")
    before = {name: len(messages_to(app, PERSONAS[name][0])) for name in ("vendor", "curator", "admin")}

    auth.login_as("manufacturer")
    client.post("/language", data={"locale": "zh_Hans", "next": "/dashboard"})
    answered = client.post(f"/matches/{match_id}/accept", follow_redirects=True)
    assert '<html lang="zh-Hans">' in answered.get_data(as_text=True)  # the actor's own page stays in theirs

    vendor_mail = messages_to(app, PERSONAS["vendor"][0])[before["vendor"] :]
    assert len(vendor_mail) == 1
    subject, body = vendor_mail[0]
    assert "已引薦" in subject  # the status, in Traditional
    assert "接受了「Fabric defect detection on dyeing line」與「Lumen inline inspection camera」的引薦" in body
    assert "查看配對" in body
    for simplified in ("引荐", "配对", "与“", "已引荐"):
        assert simplified not in subject + body
    assert notifications_of(app, "vendor")[-1] == body.splitlines()[0]

    curator_subject, curator_body = messages_to(app, PERSONAS["curator"][0])[before["curator"] :][0]
    assert curator_subject.endswith("Introduced") and "accepted the introduction of" in curator_body
    admin_subject, admin_body = messages_to(app, PERSONAS["admin"][0])[before["admin"] :][0]
    assert "已引荐" in admin_subject and "的引荐" in admin_body and "查看配对" in admin_body


def test_the_language_someone_registers_or_signs_in_with_becomes_the_one_they_are_written_to_in(app, client, auth):
    from matchmaker.models import User

    client.post("/language", data={"locale": "zh_Hant", "next": "/"})
    client.post(
        "/auth/register",
        data={
            "email": "ops@kowloon-vision.example",
            "name": "陳志明",
            "password": "a long enough pw",
            "confirm": "a long enough pw",
            "organization_kind": "vendor",
            "organization_name": "九龍視覺科技",
            "city": "香港",
        },
    )
    with app.app_context():
        assert db.session.scalar(sa.select(User.locale).where(User.email == "ops@kowloon-vision.example")) == "zh_Hant"

    other = app.test_client()
    other.post("/language", data={"locale": "zh_Hans", "next": "/"})
    with app.app_context():
        from .factories import make_user

        make_user(*PERSONAS["manufacturer"])
        make_user("unset@test.example", *PERSONAS["vendor"][1:])
        persona("manufacturer").locale = "en"
        db.session.commit()
    other.post("/auth/login", data={"email": "unset@test.example", "password": "correct horse battery"})
    with app.app_context():
        assert db.session.scalar(sa.select(User.locale).where(User.email == "unset@test.example")) == "zh_Hans"
    third = app.test_client()
    third.post("/language", data={"locale": "zh_Hans", "next": "/"})
    third.post("/auth/login", data={"email": PERSONAS["manufacturer"][0], "password": "correct horse battery"})
    with app.app_context():
        assert persona("manufacturer").locale == "en"  # a language already in the profile is kept
