"""What a proposal's parties are told about the curator's review, in each of the three languages."""

import re
from html import unescape

import pytest

from .factories import make_match, persona, step

NOTICE = re.compile(r'<p class="notice" id="curator-review-notice">(.*?)</p>', re.S)
# What the notice must say in each language: who reviews (the promotion agency's curator) and when (before an
# introduction), in that language's own script.
WORDING = {
    "en": ("investment-promotion agency", "before introducing"),
    "zh_Hant": ("投資推廣機構", "引薦"),
    "zh_Hans": ("投资推广机构", "引荐"),
}


def notice(client, path: str) -> str | None:
    """Return the curator-review notice a page shows, as text, or None."""
    response = client.get(path)
    assert response.status_code == 200, path
    found = NOTICE.search(response.get_data(as_text=True))
    return unescape(found.group(1)).strip() if found else None


@pytest.fixture
def match_ids(app, personas):
    with app.app_context():
        match = make_match()
        return {"match": match.id, "demand": match.demand_id, "offering": match.offering_id}


@pytest.mark.parametrize("locale", list(WORDING))
@pytest.mark.parametrize("party", ["manufacturer", "vendor"])
def test_parties_are_told_a_curator_reviews_a_proposal_before_introduction(app, client, auth, match_ids, party, locale):
    auth.login_as(party)
    client.post("/language", data={"locale": locale, "next": "/dashboard"})
    own_posting = (
        f"/demands/{match_ids['demand']}" if party == "manufacturer" else f"/offerings/{match_ids['offering']}"
    )
    texts = {
        path: notice(client, path)
        for path in ("/dashboard", "/matches/", f"/matches/{match_ids['match']}", own_posting)
    }
    assert all(texts.values()), texts
    assert len(set(texts.values())) == 1  # one message, said the same way everywhere
    text = next(iter(texts.values()))
    for words in WORDING[locale]:
        assert words in text
    other_scripts = [w for other, words in WORDING.items() if other != locale for w in words]
    assert not any(w in text for w in other_scripts), text


def test_the_notice_goes_once_the_curator_has_introduced_and_curators_do_not_get_it(app, client, auth, match_ids):
    match_page = f"/matches/{match_ids['match']}"
    auth.login_as("curator")
    assert notice(client, match_page) is None
    assert notice(client, "/matches/") is None
    auth.logout()

    auth.login_as("manufacturer")
    assert notice(client, match_page) is not None
    step(app, match_ids["match"], "curator", "introduce")
    assert notice(client, match_page) is None  # introduced: now it is theirs to answer
    assert notice(client, "/matches/") is not None  # the list still explains how proposals go


def test_someone_else_sees_neither_the_match_nor_the_notice(app, client, auth, match_ids):
    auth.login_as("intruder")
    assert client.get(f"/matches/{match_ids['match']}").status_code == 403
    with app.app_context():
        assert persona("intruder").organization_id is not None
    page = client.get(f"/demands/{match_ids['demand']}").get_data(as_text=True)
    assert 'id="curator-review-notice"' not in page  # not the owner: no proposals shown, so no notice


@pytest.mark.parametrize(
    ("locale", "pending", "accepted"), [("en", "not answered yet", "accepted"), ("zh_Hans", "尚未答复", "已接受")]
)
def test_where_each_side_stands_on_an_introduction_reads_in_words(
    app, client, auth, match_ids, locale, pending, accepted
):
    step(app, match_ids["match"], "curator", "introduce")
    step(app, match_ids["match"], "vendor", "accept")
    auth.login_as("manufacturer")
    client.post("/language", data={"locale": locale, "next": "/dashboard"})
    page = unescape(client.get(f"/matches/{match_ids['match']}").get_data(as_text=True))
    answers = re.findall(r"· [^·<]*?[:：] ?([^<]+?)</td>", page)
    assert answers == [pending, accepted], answers  # the demand's side has not answered; the vendor accepted
    assert "pending" not in answers
