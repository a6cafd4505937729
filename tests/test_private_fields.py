"""Private fields never reach a viewer who may not see them, on any channel.

Unique markers are planted in every private field; then, for each persona, every channel is searched for the
markers that persona may not see:

- pages: every page reachable by following links from the dashboard (and the match pages typed in by hand),
  each also asked for as JSON, and every file those pages link to (CSV and XLSX exports, read with openpyxl);
- the exports themselves, CSV and XLSX, for each list and status filter;
- search: the web search page and its JSON, and the API's search, for the postings' titles and the markers;
- the JSON API, with the persona's own token: every GET route of `/api/v1` in the URL map (so a new one is
  covered without touching this file), for every posting and match, every list filter and page;
- what was sent: in-app notifications, the queued emails and the emails an SMTP server really received.

Private, and who may see it:

- a curator's note on a match, and the notes curators write with a step: curators and admins;
- the note a party writes when declining: that party and curators (never the other party);
- a budget marked confidential: the demand's organisation and curators, even once a match is connected;
- an organisation's contact email and phone: its own members, and, once a match between them is connected, the
  other party (the rivals' match here) and curators; a person's phone and email: their organisation (and, for
  emails, the curators and admins who manage accounts).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import deque
from urllib.parse import parse_qs, quote_plus, urlencode, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from matchmaker.domain.postings import announce
from matchmaker.domain.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, MatchStatus, Notification, Offering, OutboundEmail, PostingStatus, User

from .apps import app_with_schema, base_config
from .factories import PASSWORD, PERSONAS, AuthActions, free_port, make_user, persona, start_smtp, step

ANON, PENDING = "anonymous", "pending"
PENDING_EMAIL = "pending-marker@nowhere.example"
EVERYONE = [ANON, *PERSONAS, PENDING]
STAFF = {"curator", "admin"}

NOTE = "CURATOR-NOTE-MARKER-7f3a"
STEP_NOTE = "CURATOR-STEP-NOTE-MARKER-19c2"
DECLINE_NOTE = "VENDOR-DECLINE-NOTE-MARKER-5be0"
COLLEAGUE_EMAIL = "maker-colleague-marker@weave.example"
DRAFT = "MAKER-DRAFT-MARKER-c41d"  # a draft demand's title and text
# Per organisation, by the persona who belongs to it: its contact email and phone, and its person's phone.
CONTACTS = {
    "manufacturer": ("MAKER-ORG-MAIL-MARKER@x.example", "+86 0000 1111 MAKER", "+86 2222 3333 MAKERUSER"),
    "vendor": ("VENDOR-ORG-MAIL-MARKER@x.example", "+852 0000 4444 VENDOR", "+852 5555 6666 VENDORUSER"),
    "intruder": ("RIVAL-ORG-MAIL-MARKER@x.example", "+86 0000 7777 RIVAL", "+86 8888 9999 RIVALUSER"),
    "vendor_intruder": ("RIVALV-ORG-MAIL-MARKER@x.example", "+852 0000 1212 RIVALV", "+852 3434 5656 RIVALVUSER"),
}
# The rivals' match is connected: each sees the other's organisation's contacts, as do the curators.
CONNECTED = {"intruder": "vendor_intruder", "vendor_intruder": "intruder"}
BUDGETS = {"manufacturer": (7_654_321, 8_765_432), "intruder": (6_543_217, 9_876_543)}  # found nowhere else


def budget_markers(amounts: tuple[int, int]) -> list[str]:
    """Return the amounts as pages, files and JSON may write them: grouped and plain."""
    return [f"{amount:,}" for amount in amounts] + [str(amount) for amount in amounts]


def allowed() -> dict[str, set[str]]:
    """Return, per marker, the personas who may see it."""
    rules = {NOTE: STAFF, STEP_NOTE: STAFF, DECLINE_NOTE: {"vendor"} | STAFF}
    rules |= {COLLEAGUE_EMAIL: {"manufacturer"} | STAFF, DRAFT: {"manufacturer"} | STAFF}
    for owner, (org_email, org_phone, user_phone) in CONTACTS.items():
        org_viewers = {owner} | ({CONNECTED[owner]} | STAFF if owner in CONNECTED else set())
        rules |= {org_email: org_viewers, org_phone: org_viewers, user_phone: {owner}}
    for owner, amounts in BUDGETS.items():
        rules |= dict.fromkeys(budget_markers(amounts), {owner} | STAFF)
    return rules


ALLOWED = allowed()
MAX_PAGES = 250
SKIP = ("/static/", "/auth/logout", "/api/v1/docs")
SEARCHES = [
    "Fabric defect detection",
    "Lumen inline inspection camera",
    "Rival kiln",
    NOTE,
    DECLINE_NOTE,
    DRAFT,
    "7654321",
]


# ---------------------------------------------------------------- the planted world


@pytest.fixture(scope="module")
def inbox():
    """Run a real SMTP server for the module's app; return what it receives."""
    port = free_port()
    controller, received = start_smtp(port)
    received.port = port
    yield received
    controller.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory, inbox):
    """Create one app for every persona's crawl: reading changes nothing (tests/test_authorization.py)."""
    config = base_config(tmp_path_factory.mktemp("private"))
    config |= {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": inbox.port, "MAIL_TIMEOUT": 5}
    with app_with_schema(config) as app:
        yield app


def _pair(owner: str, vendor: str, label: str, **demand_fields) -> tuple[Demand, Offering]:
    """Insert a published demand of the owner's organisation and an offering of the vendor's."""
    maker, seller = persona(owner), persona(vendor)
    demand = Demand(
        title=f"{label} demand",
        description="Detect weaving defects on the dyeing line.",
        organization=maker.organization,
        author=maker,
        status=PostingStatus.PUBLISHED,
        scenarios=["visual_inspection"],
        **demand_fields,
    )
    offering = Offering(
        title=f"{label} offering",
        description="Vision inspection for textiles.",
        organization=seller.organization,
        author=seller,
        status=PostingStatus.PUBLISHED,
        scenarios=["visual_inspection"],
    )
    db.session.add_all([demand, offering])
    db.session.commit()
    announce([demand, offering], propose=False)  # searchable, without the engine's own proposals
    return demand, offering


def _match(demand: Demand, offering: Offering) -> int:
    match = Match(demand=demand, offering=offering, status=MatchStatus.PROPOSED, score=0.8, breakdown={}, reasons=[])
    db.session.add(match)
    db.session.commit()
    return match.id


@pytest.fixture(scope="module")
def world(app, inbox) -> dict:
    """Plant the markers: contacts, confidential budgets, notes; matches introduced, declined and connected."""
    ids: dict = {}
    with app.app_context():
        for spec in PERSONAS.values():
            make_user(*spec)
        pending = make_user(PENDING_EMAIL, *PERSONAS["manufacturer"][1:])
        pending.organization = None  # registered under a taken name: waits, and sees only what is public
        for name, (org_email, org_phone, user_phone) in CONTACTS.items():
            user = persona(name)
            user.phone = user_phone
            user.organization.contact_email, user.organization.contact_phone = org_email, org_phone
        make_user(COLLEAGUE_EMAIL, *PERSONAS["manufacturer"][1:])
        db.session.commit()

        confidential = {"budget_confidential": True}
        lo, hi = BUDGETS["manufacturer"]
        introduced = _pair(
            "manufacturer", "vendor", "Fabric defect detection", budget_min=lo, budget_max=hi, **confidential
        )
        ids["introduced"] = _match(*introduced)
        ids["declined"] = _match(*_pair("manufacturer", "vendor", "Lumen inline inspection camera"))
        lo, hi = BUDGETS["intruder"]
        ids["connected"] = _match(
            *_pair("intruder", "vendor_intruder", "Rival kiln", budget_min=lo, budget_max=hi, **confidential)
        )
        draft = Demand(title=DRAFT, description=DRAFT, organization=persona("manufacturer").organization)
        db.session.add(draft)
        db.session.commit()
        ids["draft"] = draft.id
        ids["tokens"] = {name: create_token(persona(name), "privacy")[1] for name in PERSONAS}
        ids["tokens"][PENDING] = create_token(pending, "privacy")[1]

    curator = app.test_client()
    AuthActions(curator).login_as("curator")
    note = curator.post(f"/curation/matches/{ids['introduced']}/notes", data={"body": f"Budget is soft. {NOTE}"})
    assert note.status_code == 302
    step(app, ids["introduced"], "curator", "shortlist", note=STEP_NOTE)
    assert curator.post(f"/matches/{ids['introduced']}/review", data={"action": "introduce"}).status_code == 302
    step(app, ids["declined"], "curator", "introduce")
    step(app, ids["declined"], "vendor", "decline", reason="budget", note=DECLINE_NOTE)
    for actor, action in [("curator", "introduce"), ("intruder", "accept"), ("vendor_intruder", "accept")]:
        step(app, ids["connected"], actor, action)
    with app.app_context():
        assert db.session.get(Match, ids["connected"]).status is MatchStatus.CONNECTED
        unsent = db.session.scalar(sa.select(sa.func.count()).where(OutboundEmail.sent_at.is_(None)))
        assert unsent == 0, "every email went through the SMTP server"
    assert inbox.messages, "the steps sent emails"
    return ids


# ---------------------------------------------------------------- reading every channel


def as_text(response) -> str | None:
    """Return a response's content as searchable text: pages, JSON, CSV and XLSX files; None for anything else."""
    kind = response.content_type or ""
    if "spreadsheetml" in kind:
        workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
        cells = [str(v) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for v in row]
        workbook.close()
        return "\n".join(c for c in cells if c != "None")
    if "text/csv" in kind:
        rows = csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
        return "\n".join("\t".join(row) for row in rows)
    if "json" in kind:
        return json.dumps(response.get_json(), ensure_ascii=False)
    if "text/html" in kind:
        return response.get_data(as_text=True)
    return None


def crawl(client, starts: list[str]) -> dict[str, str]:
    """Follow every same-site link from the starts, as a person clicking around would; return the texts by URL.

    Each page is also asked for as JSON (the routes that answer JSON to scripts), and each linked file is read.
    """
    seen, found, queue = set(starts), {}, deque(starts)
    while queue and len(found) < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url)
        text = as_text(response) if response.status_code == 200 else None
        if text is None:
            continue
        text = _without_echo(url, text)
        found[url] = text
        as_json = client.get(url, headers={"Accept": "application/json"})
        if as_json.status_code == 200 and as_json.is_json:
            found[f"{url} (JSON)"] = _without_echo(url, as_text(as_json))
        if "text/html" not in response.content_type:
            continue
        for href in re.findall(r'<a [^>]*href="([^"#]+)', text):
            parts = urlsplit(urljoin(url, href.replace("&amp;", "&")))
            if parts.netloc not in ("", "localhost") or parts.path.startswith(SKIP):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return found


def _without_echo(url: str, text: str) -> str:
    """Return the text without the search query it echoes: a marker one typed in is no leak."""
    for query in parse_qs(urlsplit(url).query).get("q", []):
        text = text.replace(query, "").replace(quote_plus(query), "")
    return text


def page_starts(world: dict) -> list[str]:
    """Return where a person's crawl starts: the dashboard, each match by hand, searches and every export."""
    starts = ["/", "/dashboard", "/curation/?status=all", "/matches/?status=all", "/organization/", "/admin/"]
    for key in ("introduced", "declined", "connected"):
        starts += [f"/matches/{world[key]}", f"/curation/matches/{world[key]}"]
    starts += [f"/demands/{world['draft']}", "/demands/?status=draft"]
    starts += [f"/search/?{urlencode({'q': q})}" for q in SEARCHES]
    for kind in ("demands", "offerings"):
        for status in ("", "draft", "closed"):
            starts += [f"/exports/{kind}.{fmt}" + (f"?status={status}" if status else "") for fmt in ("csv", "xlsx")]
    for status in ("", "introduced", "connected", "declined"):
        starts += [f"/exports/matches.{fmt}" + (f"?status={status}" if status else "") for fmt in ("csv", "xlsx")]
    return starts


def api_urls(app, world: dict) -> list[str]:
    """Return a URL for every GET route of the API, for every posting and match, with every list filter."""
    with app.app_context():
        ids = {
            "demands": db.session.scalars(sa.select(Demand.id)).all(),
            "offerings": db.session.scalars(sa.select(Offering.id)).all(),
            "matches": db.session.scalars(sa.select(Match.id)).all(),
        }
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "GET" not in rule.methods or rule.rule == "/api/v1/docs":
            continue
        kind = rule.rule.split("/")[3]
        if rule.arguments == {"posting_id"}:
            urls += [rule.rule.replace("<int:posting_id>", str(i)) for i in ids[kind]]
        elif rule.arguments == {"match_id"}:
            urls += [rule.rule.replace("<int:match_id>", str(i)) for i in ids[kind]]
        elif rule.arguments:
            pytest.fail(f"no values to fill {rule.rule} with: teach api_urls its arguments")
        elif rule.rule == "/api/v1/search":
            urls += [f"{rule.rule}?{urlencode({'q': q})}" for q in SEARCHES]
        elif kind in ("demands", "offerings"):
            urls += [f"{rule.rule}?status={s}&limit=100" for s in ("published", "draft", "closed")] + [rule.rule]
        elif kind == "matches":
            urls += [f"{rule.rule}?limit=100"] + [f"{rule.rule}?status={s}" for s in ("introduced", "connected")]
        else:
            urls.append(rule.rule)
    return urls


def api_answers(app, client, world: dict, name: str) -> dict[str, str]:
    """Return what the API answers the persona's token on every GET route, following `next` pages."""
    headers = {"Authorization": f"Bearer {world['tokens'][name]}"} if name != ANON else {}
    found, queue = {}, deque(api_urls(app, world))
    while queue:
        url = queue.popleft()
        response = client.get(url, headers=headers)
        if name == ANON and url != "/api/v1/openapi.json":
            assert response.status_code == 401, (url, response.status_code)
        found[f"API {url}"] = _without_echo(url, as_text(response) or "")
        following = response.is_json and isinstance(response.json, dict) and response.json.get("next")
        if following and len(found) < MAX_PAGES:
            queue.append(following if following.startswith("/") else urlsplit(following).path)
    return found


def messages_to(app, inbox, email: str) -> dict[str, str]:
    """Return the notifications, queued emails and received emails this person got, by a label saying which."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        notes = (
            db.session.scalars(sa.select(Notification.message).where(Notification.user_id == user.id)) if user else []
        )
        queued = db.session.scalars(sa.select(OutboundEmail).where(OutboundEmail.recipient == email)).all()
    found = {f"notification {i}": text for i, text in enumerate(notes)}
    found |= {f"queued email {i}": f"{mail.subject}\n{mail.body}" for i, mail in enumerate(queued)}
    received = [m for m in inbox.messages if email in m["to"]]
    return found | {f"received email {i}": f"{m['subject']}\n{m['body']}" for i, m in enumerate(received)}


def email_of(name: str) -> str:
    return {ANON: "", PENDING: PENDING_EMAIL}.get(name) or PERSONAS[name][0]


# ---------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def channels(app, inbox, world) -> dict[str, dict[str, str]]:
    """Read every channel once per persona; return, per persona, the texts by where they were found."""
    found = {}
    for name in EVERYONE:
        client = app.test_client()
        if name != ANON:
            assert AuthActions(client).login(email_of(name), PASSWORD).status_code == 302
        found[name] = crawl(client, page_starts(world))
        found[name] |= api_answers(app, app.test_client(), world, name)
        found[name] |= messages_to(app, inbox, email_of(name)) if name != ANON else {}
    return found


@pytest.mark.parametrize("name", EVERYONE)
def test_private_fields_reach_only_those_who_may_see_them(channels, name):
    sources = channels[name]
    leaks = {
        marker: [where for where, text in sources.items() if marker in text]
        for marker, viewers in ALLOWED.items()
        if name not in viewers
    }
    assert {marker: where for marker, where in leaks.items() if where} == {}, f"{name} sees what it may not"


def test_every_channel_was_read(channels, world):
    """The crawl must reach what it checks: a test that reads nothing proves nothing."""
    staff = channels["curator"]
    for kind in ("csv", "xlsx"):
        assert any(url.startswith(f"/exports/matches.{kind}") for url in staff), "the exports were read"
    assert any(url.startswith("/search/") and "Fabric defect detection demand" in t for url, t in staff.items())
    assert any(url.startswith("API /api/v1/search") and "Fabric defect" in t for url, t in staff.items())
    assert any(url.startswith("received email") for url in channels["vendor"]), "the SMTP server's mail was read"
    assert any(url.startswith("API /api/v1/matches/") for url in channels["vendor"])
    for name in EVERYONE:
        assert len(channels[name]) > (20 if name in (ANON, PENDING) else 40), (name, sorted(channels[name]))


@pytest.mark.parametrize(
    "name, markers",
    [
        (
            "curator",
            [NOTE, STEP_NOTE, DECLINE_NOTE, CONTACTS["intruder"][0], *budget_markers(BUDGETS["manufacturer"])[:1]],
        ),
        ("admin", [NOTE, COLLEAGUE_EMAIL, CONTACTS["vendor_intruder"][0]]),
        ("manufacturer", [COLLEAGUE_EMAIL, DRAFT, *budget_markers(BUDGETS["manufacturer"])[:1]]),
        (
            "intruder",
            [CONTACTS["vendor_intruder"][0], CONTACTS["vendor_intruder"][1], *budget_markers(BUDGETS["intruder"])[:1]],
        ),
        ("vendor_intruder", [CONTACTS["intruder"][0]]),
    ],
)
def test_those_who_may_see_a_private_field_do(channels, name, markers):
    """Each rule shows as well as hides: otherwise hiding everything from everyone would pass."""
    for marker in markers:
        assert any(marker in text for text in channels[name].values()), f"{name} never sees {marker}"


def test_the_api_names_every_get_route(app, world):
    """A GET route of the API added later is read too, or this module tells how to fill its arguments."""
    urls = api_urls(app, world)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and "GET" in rule.methods and rule.rule != "/api/v1/docs":
            stem = rule.rule.split("<", 1)[0]
            assert any(url.startswith(stem) for url in urls), rule.rule


def test_reasons_for_the_other_side_leave_a_confidential_budget_out():
    from matchmaker.matching.explain import explain
    from matchmaker.matching.facts import PostingFacts

    lo, hi = BUDGETS["manufacturer"]
    demand = PostingFacts(id=1, kind="demand", money_min=lo, money_max=hi, money_confidential=True)
    offering = PostingFacts(id=2, kind="offering", money_min=1, money_max=hi)
    reasons = explain(demand, offering, {"budget": 1.0}, [])
    budget = [reason for reason in reasons if reason["facet"] == "budget"]
    assert budget and str(lo) not in repr(budget)
    public = explain(PostingFacts(id=1, kind="demand", money_min=lo, money_max=hi), offering, {"budget": 1.0}, [])
    assert str(lo) in repr(public), "without the mark, the budget is a reason like any other"
