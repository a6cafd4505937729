"""The text pipeline: one script, segmentation, tokens, language, and taxonomy tags."""

import threading

import pytest

from matchmaker.matching.tagging import tag_industries, tag_scenarios
from matchmaker.matching.text import _Segmenter, detect_language, normalize, tokenize


def test_normalize_folds_traditional_width_and_case():
    assert normalize("紡織面料瑕疵ＡＩ視覺檢測") == "纺织面料瑕疵ai视觉检测"


@pytest.mark.parametrize(
    "text, language",
    [
        ("布面上的跳纱、破洞全靠老师傅肉眼看", "zh-Hans"),
        ("紡織面料瑕疵AI視覺檢測，適合織布廠", "zh-Hant"),
        ("Fabric defect detection with line-scan cameras", "en"),
        ("我们想做 MES 排产优化", "zh-Hans"),
        ("", "en"),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_tokenize_segments_chinese_in_one_script_and_stems_english():
    simplified = tokenize("瑕疵检测")
    assert simplified and simplified == tokenize("瑕疵檢測")
    assert "跳纱" in tokenize("布面上的跳紗")
    assert tokenize("Defects and Batteries") == ["defect", "battery"]
    assert "的" not in tokenize("布面上的跳纱")


def test_tokenize_keeps_acronyms_inside_chinese():
    tokens = tokenize("我们用AOI和MES")
    assert "aoi" in tokens and "mes" in tokens


@pytest.mark.parametrize(
    "text", ["布面上的跳纱、破洞全靠老师傅肉眼看", "紡織面料瑕疵AI視覺檢測", "fabric defect detection"]
)
def test_tags_visual_inspection_in_all_three_languages(text):
    assert "visual_inspection" in tag_scenarios(text)


def test_tags_energy_and_not_inspection():
    tags = tag_scenarios("空压机耗电太高，电费占了四成")
    assert "energy_management" in tags and "visual_inspection" not in tags


def test_tags_industries_from_text():
    assert "17" in tag_industries("紡織面料瑕疵檢測，服務織布廠")
    assert tag_industries("") == []


def test_a_taught_word_stays_whole_and_earlier_words_stay_taught():
    segmenter = _Segmenter()
    assert "织布瑕疵仪" not in segmenter.current.cut_for_search("这台织布瑕疵仪很好")
    segmenter.teach(["织布瑕疵仪"])
    segmenter.teach(["注塑飞边"])
    assert "织布瑕疵仪" in segmenter.current.cut_for_search("这台织布瑕疵仪很好")
    assert "注塑飞边" in segmenter.current.cut_for_search("减少注塑飞边")


def test_teaching_while_another_thread_segments_breaks_neither():
    """An rjieba instance raises if taught mid-segmentation: teaching must swap in a new one instead."""
    segmenter, stop, failures = _Segmenter(), threading.Event(), []

    def segment():
        while not stop.is_set():
            try:
                segmenter.current.cut_for_search("纺织面料瑕疵视觉检测，适合织布厂" * 4)
            except Exception as error:  # any error is what the test looks for
                failures.append(error)
                return

    worker = threading.Thread(target=segment)
    worker.start()
    try:
        for number in range(30):
            segmenter.teach([f"测试词{number}"])
    finally:
        stop.set()
        worker.join()
    assert failures == []
    assert "测试词29" in segmenter.current.cut_for_search("这是测试词29")
