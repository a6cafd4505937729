"""Outbound email: queued rows in `outbound_email`, sent through SMTP after the database commit.

A failed send is logged, counted and kept for `matchmaker mail retry`; it never raises into a request.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .models import OutboundEmail, utcnow

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5


def is_configured() -> bool:
    """Return whether an SMTP server is configured."""
    return bool(current_app.config["MAIL_SERVER"])


def deliver(email_ids: list[int]) -> int:
    """Send these queued emails now; return how many went out."""
    if not email_ids or not is_configured():
        return 0
    emails = db.session.scalars(
        sa.select(OutboundEmail)
        .where(OutboundEmail.id.in_(email_ids), OutboundEmail.sent_at.is_(None))
        .order_by(OutboundEmail.id)
    ).all()
    return _send_all(emails)


def deliver_pending(max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> int:
    """Retry every unsent email that has failed fewer than max_attempts times; return how many went out."""
    if not is_configured():
        return 0
    emails = db.session.scalars(
        sa.select(OutboundEmail)
        .where(OutboundEmail.sent_at.is_(None), OutboundEmail.attempts < max_attempts)
        .order_by(OutboundEmail.id)
    ).all()
    return _send_all(emails)


def _send_all(emails: list[OutboundEmail]) -> int:
    """Send the emails over one SMTP connection, recording each success or failure."""
    claimed = _claim(emails)
    if not claimed:
        return 0
    sent = 0
    try:
        with _connect() as smtp:
            for email in claimed:
                sent += _send_one(smtp, email)
    except (OSError, smtplib.SMTPException) as error:
        for email in claimed:
            if email.sent_at is None and not email.last_error:
                _record_failure(email, error)
    finally:
        db.session.commit()
    return sent


def _claim(emails: list[OutboundEmail]) -> list[OutboundEmail]:
    """Count an attempt on each email nobody else is sending; return those this process may send.

    The guarded update makes two concurrent retries send each email once, not twice.
    """
    claimed = []
    for email in emails:
        result = db.session.execute(
            sa.update(OutboundEmail)
            .where(
                OutboundEmail.id == email.id, OutboundEmail.attempts == email.attempts, OutboundEmail.sent_at.is_(None)
            )
            .values(attempts=OutboundEmail.attempts + 1, last_error="")
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(email)
    db.session.commit()
    return claimed


def _connect() -> smtplib.SMTP:
    """Open an SMTP connection as configured, with STARTTLS and login when asked for."""
    config = current_app.config
    factory = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = factory(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send_one(smtp: smtplib.SMTP, email: OutboundEmail) -> int:
    """Send one email; return 1 if it went out, 0 if the server refused it."""
    try:
        smtp.send_message(_as_message(email))
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
        _record_failure(email, error)
        return 0
    email.sent_at = utcnow()
    email.last_error = ""
    return 1


def _as_message(email: OutboundEmail) -> EmailMessage:
    """Build the MIME message for a queued email."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain="matchmaker")
    message.set_content(email.body)
    return message


def _record_failure(email: OutboundEmail, error: BaseException) -> None:
    """Keep the error on the email and log it; a later retry tries again."""
    email.last_error = f"{type(error).__name__}: {error}"[:2000]
    log.warning("Email %s to %s failed (attempt %s): %s", email.id, email.recipient, email.attempts, error)
