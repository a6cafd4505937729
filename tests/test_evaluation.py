"""Retrieval quality floors on the shipped evaluation sets, and the metrics themselves."""

import pytest

from matchmaker.matching.encoders import load_encoder
from matchmaker.matching.evaluation import builtin_sets, evaluate, load_set, mrr_at, ndcg_at, recall_at
from matchmaker.matching.ranking import RankingWeights


def test_metrics_on_a_hand_computed_case():
    grades = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b", "c"], grades) == pytest.approx(1.0)
    assert ndcg_at(["c", "a", "b"], grades) == pytest.approx((3 / 1.584962 + 1 / 2) / (3 + 1 / 1.584962), rel=1e-4)
    assert recall_at(["c", "x", "y", "z", "w", "a"], grades) == 0.0
    assert mrr_at(["c", "b", "a"], grades) == pytest.approx(1 / 3)


@pytest.fixture(scope="module")
def bilingual_results():
    evalset = load_set(builtin_sets()["bilingual"])
    return evaluate(evalset, load_encoder(), RankingWeights())


@pytest.fixture(scope="module")
def paraphrase_results():
    evalset = load_set(builtin_sets()["paraphrase_zh"])
    return evaluate(evalset, load_encoder(), RankingWeights())


def test_bilingual_set_is_honestly_cross_language(bilingual_results):
    assert bilingual_results["full"]["cross-language"]["n"] >= bilingual_results["full"]["all"]["n"] / 3


def test_full_ranking_meets_the_targets(bilingual_results):
    full = bilingual_results["full"]
    assert full["all"]["ndcg@10"] >= 0.85
    assert full["cross-language"]["ndcg@10"] >= 0.82


def test_full_ranking_beats_each_single_signal(bilingual_results):
    for subset in ("all", "cross-language"):
        full = bilingual_results["full"][subset]["ndcg@10"]
        assert full > bilingual_results["dense"][subset]["ndcg@10"]
        assert full > bilingual_results["lexical"][subset]["ndcg@10"]


def test_full_ranking_is_no_worse_than_lexical_on_paraphrases(paraphrase_results):
    assert paraphrase_results["full"]["all"]["ndcg@10"] >= paraphrase_results["lexical"]["all"]["ndcg@10"]
    assert paraphrase_results["full"]["all"]["mrr"] >= paraphrase_results["lexical"]["all"]["mrr"]


def test_eval_command_prints_the_table(runner):
    result = runner.invoke(args=["eval", "--set", "paraphrase_zh"])
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.output and "zh-Hant→zh-Hant" in result.output
    for ranker in ("dense", "lexical", "full"):
        assert f"\n{ranker} " in result.output


def test_eval_command_rejects_a_folder_that_is_not_a_set(runner, tmp_path):
    result = runner.invoke(args=["eval", "--set", str(tmp_path)])
    assert result.exit_code != 0 and "not an evaluation set" in result.output
