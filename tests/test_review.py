"""The curator's decision page: both full texts side by side, terms marked in each script, the score in words."""

import re

import pytest

from matchmaker.domain.highlight import FoldedText, Segment, highlight
from matchmaker.domain.review import matched_terms, review_texts, score_components
from matchmaker.extensions import db
from matchmaker.models import Demand, Match, Offering, OrgKind, PostingStatus
from tests.factories import organization

# ---------------------------------------------------------------- highlight spans


def test_a_simplified_term_marks_the_traditional_text_as_written():
    assert highlight("採用缺陷檢測相機", ["缺陷检测"]) == [
        Segment("採用"),
        Segment("缺陷檢測", marked=True),
        Segment("相機"),
    ]


def test_latin_terms_mark_whole_words_and_their_plurals_in_any_case():
    segments = highlight("Defects and defective parts; factories", ["defect", "factory"])
    assert [s.text for s in segments if s.marked] == ["Defects", "factories"]


def test_overlapping_terms_make_one_mark_and_full_width_text_keeps_its_offsets():
    segments = highlight("ＡＯＩ表面缺陷检测系统", ["表面缺陷", "缺陷检测", "aoi"])
    assert segments == [Segment("ＡＯＩ表面缺陷检测", marked=True), Segment("系统")]


def test_no_terms_leave_the_text_whole():
    assert highlight("<b>x</b>", []) == [Segment("<b>x</b>")]


# ---------------------------------------------------------------- which terms, on both sides


def _posting(model, org_name: str, kind: OrgKind, text: str):
    """Return an unsaved published visual-inspection posting whose first line is its title."""
    return model(
        title=text.split("\n")[0],
        description=text,
        organization=organization(org_name, kind),
        status=PostingStatus.PUBLISHED,
        scenarios=["visual_inspection"],
    )


def _pair(app, demand_text: str, offering_text: str, **match_fields) -> int:
    with app.app_context():
        demand = _posting(Demand, "Foshan Weave Textiles", OrgKind.MANUFACTURER, demand_text)
        offering = _posting(Offering, "Lumen Vision AI", OrgKind.VENDOR, offering_text)
        match = Match(demand=demand, offering=offering, score=0.9, **match_fields)
        db.session.add(match)
        db.session.commit()
        return match.id


def test_a_taxonomy_word_marks_its_counterpart_in_the_other_language(app):
    match_id = _pair(app, "铝件缺陷检测\n每班漏检约3%。", "Fabric defect detection\nLine-scan cameras on looms.")
    with app.app_context():
        match = db.session.get(Match, match_id)
        demand_terms, offering_terms = matched_terms(
            match, FoldedText(match.demand.description), FoldedText(match.offering.description)
        )
        assert {"缺陷检测", "漏检"} <= set(demand_terms) and "defect detection" in offering_terms
        demand, offering = review_texts(match)
    assert [s.text for s in demand.title if s.marked] == ["缺陷检测"]
    assert [s.text for s in offering.title if s.marked] == ["defect detection"]


def test_a_taxonomy_word_found_on_one_side_only_is_not_marked(app):
    match_id = _pair(app, "布匹缺陷检测", "Energy dashboards for compressors")
    with app.app_context():
        demand, offering = review_texts(db.session.get(Match, match_id))
    assert not any(s.marked for s in [*demand.title, *demand.description, *offering.description])


def test_stored_key_terms_are_marked_and_fragments_among_them_are_not(app):
    terms = {"kind": "terms", "key": "shared_terms", "params": {"terms": ["验布机", "制", "唔"]}}
    match_id = _pair(app, "现有验布机8台，按四分制", "喺現有驗布機加裝相機，唔使換機", reasons=[terms])
    with app.app_context():
        demand, offering = review_texts(db.session.get(Match, match_id))
    assert [s.text for s in demand.description if s.marked] == ["验布机"]
    assert [s.text for s in offering.description if s.marked] == ["驗布機"]


# ---------------------------------------------------------------- the score in words

BREAKDOWN = {
    "dense": 0.62,
    "lexical": 0.0,
    "lexical_used": 0.8,
    "scenario": 0.5,
    "industry": 0.5,
    "region": 0.0,
    "budget": 1.0,
    "deployment": 1.0,
    "capacity": 1.0,
    "feedback_penalty": 0.0,
}


def test_each_part_of_the_score_is_on_one_scale_with_its_meaning(app):
    match_id = _pair(app, "布匹缺陷检测", "Fabric defect detection", breakdown=BREAKDOWN)
    with app.test_request_context("/"):
        match = db.session.get(Match, match_id)
        match.demand.scenarios = ["visual_inspection", "fault_warning"]  # half of them covered, not unknown
        parts = {part.key: part for part in score_components(match)}
    assert [p.value for p in parts.values()] == [62, 80, 50, 50, 0, 100, 100, 100]
    assert "different languages" in parts["lexical"].meaning
    assert parts["scenario"].meaning == "The offering covers some of the scenarios the demand names."
    assert parts["industry"].meaning == "Not stated on one side, so it neither helps nor hurts much."
    assert "does not list the demand's city" in parts["region"].meaning
    # Points add up to the overall fit: each part's weight times its value, over the best score possible.
    assert parts["dense"].points == pytest.approx(100 * 0.62 / 1.73)
    assert sum(p.points for p in parts.values()) == pytest.approx(
        100 * (0.62 + 0.35 * 0.8 + 0.2 * 0.5 + 0.06 * 0.5 + 0.09) / 1.73
    )


# ---------------------------------------------------------------- the page


@pytest.fixture
def curator(client, auth, personas):
    auth.login_as("curator")
    return client


def test_the_page_shows_both_full_texts_marked_and_escaped(app, curator):
    match_id = _pair(
        app,
        '<script>alert("d")</script> 铝件缺陷检测\n第二段：<b>漏检</b> & 返工',
        "<img src=x onerror=alert(1)> Fabric defect detection\nSecond paragraph.",
        breakdown=BREAKDOWN,
    )
    page = curator.get(f"/curation/matches/{match_id}").get_data(as_text=True)
    texts = page[page.index('id="texts"') : page.index('id="score"')]
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>漏检" not in page
    assert (
        "&lt;script&gt;<mark>alert</mark>(&#34;d&#34;)&lt;/script&gt;" in texts
        and "&lt;b&gt;<mark>漏检</mark>&lt;/b&gt; &amp; 返工" in texts
    )
    assert "<mark>缺陷检测</mark>" in texts and "<mark>defect detection</mark>" in texts
    assert "Second paragraph." in texts
    assert re.search(r'data-part="region".*?does not list the demand&#39;s city', page, re.S)
    assert 'id="decide"' in page and 'name="action"' in page


def test_a_hand_made_pair_says_the_engine_did_not_score_it(app, curator):
    match_id = _pair(app, "布匹缺陷检测", "Fabric defect detection", source="curator", breakdown={})
    page = curator.get(f"/curation/matches/{match_id}").get_data(as_text=True)
    assert "the engine did not score them" in page and 'class="score-part"' not in page
