"""Match reasons name only distinctive terms: no fragments, function words, particles or words most postings use."""

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.matching.distinctive import distinctive_terms, is_distinctive, shown_terms
from matchmaker.matching.explain import reason_text, visible_reasons
from matchmaker.matching.lexical import LexicalIndex
from matchmaker.models import Match

# The fragments the issue names, and more of their kind: single characters, Cantonese particles, ordinals,
# function words in both scripts, English stopwords, and tokens too short to mean anything.
NOT_DISTINCTIVE = ["制", "唔", "第一", "嘅", "我哋", "佢哋", "係", "以及", "因為", "因为", "目前", "第二", "一次",
                   "the", "with", "them", "ai", "2d", "8d", "99.5", "3"]  # fmt: skip
DISTINCTIVE = ["缺陷检测", "缺陷檢測", "瑕疵", "跳纱", "mes", "defect", "porosity", "room-scene", "plc"]


@pytest.mark.parametrize("term", NOT_DISTINCTIVE)
def test_fragments_and_function_words_are_not_distinctive(term):
    assert not is_distinctive(term)


@pytest.mark.parametrize("term", DISTINCTIVE)
def test_domain_words_are_distinctive(term):
    assert is_distinctive(term)


def test_a_term_found_in_most_postings_explains_nothing():
    index = LexicalIndex()
    for doc_id in range(10):
        common = ["视觉检测"] if doc_id < 8 else []
        index.add(doc_id, [*common, "注塑"] + (["模具", "跳纱", "跳纱", "制", "唔"] if doc_id < 2 else []))
    assert index.matched_terms(["视觉检测", "跳纱", "制", "唔", "注塑", "模具"], 0) == ["跳纱", "模具"]


def test_a_term_inside_a_longer_matched_term_is_left_out():
    frequency = {"缺陷": 1, "检测": 1, "缺陷检测": 1, "相机": 2}
    assert distinctive_terms(["缺陷", "检测", "缺陷检测", "相机"], frequency, 50) == ["缺陷检测", "相机"]


def test_reasons_stored_with_fragments_show_only_distinctive_terms(app):
    fragments = {"kind": "terms", "key": "shared_terms", "params": {"terms": ["制", "唔", "第一"]}}
    mixed = {"kind": "terms", "key": "shared_terms", "params": {"terms": ["制", "瑕疵", "唔", "跳纱"]}}
    scenario = {"kind": "scenario", "key": "shared_scenarios", "params": {"scenarios": ["visual_inspection"]}}
    with app.test_request_context("/"):
        assert reason_text(mixed) == "Key terms in both texts: 瑕疵, 跳纱"
        assert visible_reasons([fragments, mixed, scenario]) == [mixed, scenario]


@pytest.mark.slow
def test_no_seed_proposal_gives_a_fragment_or_a_stopword_as_a_reason(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        listed = [
            reason["params"]["terms"]
            for reasons in db.session.scalars(sa.select(Match.reasons))
            for reason in reasons or []
            if reason.get("key") == "shared_terms"
        ]
    terms = [term for reason in listed for term in reason]
    assert len(terms) > 50  # the seed's proposals do name shared terms
    single = [t for t in terms if len(t) == 1 and not t.isascii()]
    assert single == [] and [t for t in terms if not is_distinctive(t)] == []
    assert all(shown_terms(reason) == reason for reason in listed)  # no term repeats part of another
