"""Markup typed into any text field is shown as text, never run: payloads go in through the real forms, then
every page each persona can open is searched for them unescaped.

Nothing on the site renders rich text (there is no HTML input), so escaping is the whole defence; a field
that started rendering markup would show a payload raw here.
"""

import re

import pytest
import sqlalchemy as sa
from markupsafe import escape

from matchmaker.extensions import db
from matchmaker.models import Demand, Match, MatchStatus, Offering

from .factories import PASSWORD, AuthActions, demand_form, offering_form, persona

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "url": "javascript:alert(1)",
    "chinese": "缺陷<script>檢測</script>",
    "svg": "質檢<svg/onload=alert(1)>系統",
}
# What must never appear in a page as markup.
RAW = [
    re.compile(r"<script>(alert|檢測)", re.I),
    re.compile(r"<img src=x", re.I),
    re.compile(r"<svg/onload", re.I),
    re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I),
]


def text(*keys: str) -> str:
    """Return the payloads mixed into ordinary words, as a person might paste them."""
    return " ".join(["布面瑕疵"] + [PAYLOADS[key] for key in keys] + ["end"])


@pytest.fixture
def planted(app, client, personas):
    """Put the payloads into every text field people fill in; return what to open."""
    auth = AuthActions(client)
    everything = tuple(PAYLOADS)
    # Registration: a person's name, a new organisation's name and city; another asks to join the factory.
    client.post(
        "/auth/register",
        data={
            "email": "xss@maker.example",
            "name": text("script", "attribute"),
            "password": "a long enough password",
            "confirm": "a long enough password",
            "organization_kind": "manufacturer",
            "organization_name": text("chinese", "svg"),
            "city": text("url"),
        },
    )
    auth.logout()
    client.post(
        "/auth/register",
        data={
            "email": "joiner@maker.example",
            "name": text("attribute", "chinese"),
            "password": "a long enough password",
            "confirm": "a long enough password",
            "organization_kind": "manufacturer",
            "organization_name": "Foshan Weave Textiles",
        },
    )
    auth.logout()

    auth.login_as("manufacturer")
    fields = {name: text(*everything) for name in ("title", "description", "data_available")}
    fields |= {"city": text("url", "svg"), "timeline": text("attribute", "chinese")}  # columns of 80 and 100
    client.post("/demands/new", data=demand_form(**fields, publish="y"))
    auth.logout()
    auth.login_as("vendor")
    fields = {name: text(*everything) for name in ("title", "description", "case_studies")}
    client.post("/offerings/new", data=offering_form(**fields, cities=text("svg", "url"), publish="y"))
    client.post("/auth/profile", data={"name": text("script", "svg"), "locale": ""})
    auth.logout()

    with app.app_context():
        demand = db.session.scalar(sa.select(Demand).where(Demand.title.contains("<script>")))
        offering = db.session.scalar(sa.select(Offering).where(Offering.title.contains("<script>")))
        assert demand is not None and offering is not None, "the payload postings were refused"
        ids = {"demand": demand.id, "offering": offering.id}
    auth.login_as("curator")
    client.post(
        "/curation/pair", data={"demand_id": ids["demand"], "offering_id": ids["offering"], "note": text(*everything)}
    )
    with app.app_context():
        match = db.session.scalar(
            sa.select(Match).where(Match.demand_id == ids["demand"], Match.offering_id == ids["offering"])
        )
        assert match is not None, "the manual pairing was refused"
        ids["match"] = match.id
    client.post(f"/curation/matches/{ids['match']}/notes", data={"body": text(*everything)})
    client.post(f"/matches/{ids['match']}/review", data={"action": "introduce"})
    auth.logout()
    auth.login_as("vendor")
    client.post(f"/matches/{ids['match']}/decline", data={"reason": "other", "note": text(*everything)})
    auth.logout()
    return ids


def pages(ids: dict) -> list[str]:
    """Return every page that shows what was planted, to whoever may open it."""
    return [
        "/",
        "/dashboard",
        "/demands/",
        f"/demands/{ids['demand']}",
        "/offerings/",
        f"/offerings/{ids['offering']}",
        "/matches/",
        f"/matches/{ids['match']}",
        "/curation/",
        "/curation/?status=all",
        f"/curation/matches/{ids['match']}",
        "/curation/pair",
        "/curation/stats",
        "/curation/assign",
        f"/curation/demands/{ids['demand']}/history",
        f"/curation/offerings/{ids['offering']}/history",
        "/notifications/",
        "/organization/",
        "/organization/choose",
        "/admin/",
        "/auth/profile",
        "/search/?q=" + PAYLOADS["script"] + "布面",
        "/search/?q=" + PAYLOADS["chinese"],
    ]


def test_every_payload_is_shown_escaped_and_never_as_markup(app, planted):
    shown = ""
    logins = [None, "factory@test.example", "vendor@test.example", "curator@test.example", "admin@test.example"]
    logins += ["xss@maker.example", "joiner@maker.example"]
    for email in logins:
        client = app.test_client()
        if email:
            assert (
                AuthActions(client)
                .login(email, PASSWORD if "test.example" in email else "a long enough password")
                .status_code
                == 302
            )
        for url in pages(planted):
            response = client.get(url)
            if response.status_code != 200:
                continue
            page = response.get_data(as_text=True)
            for pattern in RAW:
                assert not pattern.search(page), f"{email} {url}: {pattern.pattern} unescaped"
            shown += page
    for name, payload in PAYLOADS.items():
        if name != "url":  # plain text either way; the RAW check above is what matters for it
            assert str(escape(payload)) in shown, f"the {name} payload was not shown at all: was it planted?"
    with app.app_context():
        assert persona("vendor").name == text("script", "svg"), "markup is kept as typed, not mangled"
        assert db.session.get(Match, planted["match"]).status is MatchStatus.DECLINED
