"""The text pipeline: one script, segmentation, tokens, language, and taxonomy tags."""

import pytest

from matchmaker.matching.tagging import tag_industries, tag_scenarios
from matchmaker.matching.text import detect_language, normalize, tokenize


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


SEGMENT = """
import json, sys
from matchmaker.matching import tagging, text
import jieba
cache_dir = sys.argv[1] or None
text.add_domain_words([w for k in tagging.KINDS for ws in tagging._vocabulary(k).values() for w in ws], cache_dir)
samples = ["布面上的跳紗、破洞全靠老師傅肉眼看", "纺织面料瑕疵AI视觉检测，适合织布厂", "注塑件外观缺陷检测与预测性维护"]
print(json.dumps({"tokens": [text.tokenize(s) for s in samples], "total": jieba.dt.total, "size": len(jieba.dt.FREQ)}))
"""


def _segment(cache_dir) -> dict:
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", SEGMENT, str(cache_dir or "")], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_cached_segmenter_dictionary_segments_as_teaching_the_words_does(tmp_path):
    taught = _segment(None)
    assert not (tmp_path / "segmenter").exists()
    first = _segment(tmp_path)  # teaches the words and writes the cache
    [cached] = (tmp_path / "segmenter").glob("jieba-*.marshal")
    second = _segment(tmp_path)  # reads the cache
    assert taught == first == second
    cached.write_bytes(b"not a dictionary")
    assert _segment(tmp_path) == taught  # an unreadable cache is taught again, not trusted
