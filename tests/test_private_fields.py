"""Private fields never reach a viewer who may not see them: unique markers are planted in each one, then every
page each persona can reach by following links from the dashboard, their notifications and their emails are
searched for them.

Private: the curators' notes on a match (curators and admins only), a budget marked confidential (the
factory's members and curators), and each organisation's and person's contact details (the organisation's own
members, and the other side once a match is connected; here the match is only introduced, so nobody else).
"""

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.models import MatchStatus, Notification, OutboundEmail, User

from .factories import PASSWORD, PERSONAS, AuthActions, make_match, persona

NOTE = "CURATOR-NOTE-MARKER-7f3a"
CONTACTS = {
    "manufacturer": ["MAKER-ORG-MAIL-MARKER@x.example", "+86 0000 1111 MAKER", "+86 2222 3333 MAKERUSER"],
    "vendor": ["VENDOR-ORG-MAIL-MARKER@x.example", "+852 0000 4444 VENDOR", "+852 5555 6666 VENDORUSER"],
}
BUDGET = (7_654_321, 8_765_432)  # amounts found nowhere else, in both the plain and the grouped form
BUDGET_MARKERS = [f"{amount:,}" for amount in BUDGET] + [str(amount) for amount in BUDGET]
# Who may see each marker: the curators see notes; an organisation's members see their own contacts.
ALLOWED = {
    NOTE: {"curator", "admin"},
    **{marker: {"manufacturer", "curator", "admin"} for marker in BUDGET_MARKERS},
    **{marker: {"manufacturer"} for marker in CONTACTS["manufacturer"]},
    **{marker: {"vendor"} for marker in CONTACTS["vendor"]},
}
MAX_PAGES = 150
SKIP = ("/static/", "/auth/logout")


@pytest.fixture
def planted(app, client, personas):
    """Introduce a match between the factory and the vendor, with contacts and a curator note; return its id."""
    with app.app_context():
        for name, (org_email, org_phone, user_phone) in CONTACTS.items():
            user = persona(name)
            user.phone = user_phone
            user.organization.contact_email = org_email
            user.organization.contact_phone = org_phone
        db.session.commit()
        match = make_match(MatchStatus.SHORTLISTED)
        match.demand.budget_min, match.demand.budget_max = BUDGET
        match.demand.budget_confidential = True
        db.session.commit()
        match_id = match.id
    AuthActions(client).login_as("curator")
    assert (
        client.post(f"/curation/matches/{match_id}/notes", data={"body": f"Budget is soft. {NOTE}"}).status_code == 302
    )
    assert client.post(f"/matches/{match_id}/review", data={"action": "introduce"}).status_code == 302
    return match_id


def reachable_pages(client, starts: list[str]) -> dict[str, str]:
    """Follow every same-site link from the starts, as a person clicking around would; return the pages by URL."""
    seen, pages, queue = set(starts), {}, deque(starts)
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        body = response.get_data(as_text=True)
        pages[url] = body
        for href in _links(body):
            target = urljoin(url, href)
            parts = urlsplit(target)
            if parts.netloc not in ("", "localhost") or parts.path.startswith(SKIP):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return pages


def _links(body: str) -> list[str]:
    return re.findall(r'<a [^>]*href="([^"#]+)', body)


def messages_to(app, email: str) -> dict[str, str]:
    """Return the notifications and emails this person got, by a label saying which."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            return {}
        notes = db.session.scalars(sa.select(Notification.message).where(Notification.user_id == user.id))
        mails = db.session.scalars(sa.select(OutboundEmail).where(OutboundEmail.recipient == email))
        found = {f"notification {i}": text for i, text in enumerate(notes)}
        return found | {f"email {i}": f"{mail.subject}\n{mail.body}" for i, mail in enumerate(mails)}


@pytest.mark.parametrize("name", ["anonymous", *PERSONAS])
def test_private_fields_reach_only_those_who_may_see_them(app, planted, name):
    client = app.test_client()
    if name != "anonymous":
        assert AuthActions(client).login(PERSONAS[name][0], PASSWORD).status_code == 302
    # Besides the links: the queue's "All" filter (a form), and the match's own pages typed in by hand.
    starts = ["/", "/dashboard", "/curation/?status=all", f"/matches/{planted}", f"/curation/matches/{planted}"]
    pages = reachable_pages(client, starts)
    assert len(pages) > (3 if name == "anonymous" else 8), sorted(pages)
    sources = {**pages, **messages_to(app, PERSONAS.get(name, ("",))[0])}
    for marker, allowed in ALLOWED.items():
        if name in allowed:
            continue
        leaks = [where for where, text in sources.items() if marker in text]
        assert leaks == [], f"{name} sees {marker} on {leaks}"
    if name in ("curator", "admin"):
        assert any(NOTE in body for body in pages.values()), "the curators' page with the note was not reached"
    if name in ("manufacturer", "curator", "admin"):
        assert any(BUDGET_MARKERS[0] in body for body in pages.values()), "those who may see the budget do"


def test_reasons_for_the_other_side_leave_a_confidential_budget_out(app):
    from matchmaker.matching.explain import explain
    from matchmaker.matching.facts import PostingFacts

    demand = PostingFacts(id=1, kind="demand", money_min=BUDGET[0], money_max=BUDGET[1], money_confidential=True)
    offering = PostingFacts(id=2, kind="offering", money_min=1, money_max=BUDGET[1])
    reasons = explain(demand, offering, {"budget": 1.0}, [])
    budget = [reason for reason in reasons if reason["facet"] == "budget"]
    assert budget and str(BUDGET[0]) not in repr(budget)
    public = explain(
        PostingFacts(id=1, kind="demand", money_min=BUDGET[0], money_max=BUDGET[1]), offering, {"budget": 1.0}, []
    )
    assert str(BUDGET[0]) in repr(public), "without the mark, the budget is a reason like any other"
