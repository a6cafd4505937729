"""The language checker the page sweep runs: it flags interface text in the wrong language, and passes the right one."""

import pytest
from flask import render_template_string
from flask_babel import force_locale

from .language_check import page_problems, simplified_only, string_problems, traditional_only


def page(body: str, lang: str = "zh-Hans", title: str = "标题") -> str:
    return f'<!doctype html><html lang="{lang}"><head><title>{title}</title></head><body>{body}</body></html>'


def findings(html: str, locale: str) -> list[str]:
    return [finding.text for finding in page_problems(html, locale)]


# ---------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("登录后发布需求", "zh_Hans"),
        ("后台、公里、干扰、乾隆、著名", "zh_Hans"),  # characters Simplified shares with Traditional
        ("上传 CSV 或 XLSX 文件，AI 将在 5 分钟内回复 admin@example.org", "zh_Hans"),
        ("请使用 /api/v1 与 Matchmaker API", "zh_Hans"),
        ("登入後發佈需求", "zh_Hant"),
        ("台灣、後台、公里、干擾", "zh_Hant"),
        ("預算 CN¥100,000", "zh_Hant"),
        ("Post a demand", "en"),
        ("Budget CN¥100,000–CN¥300,000 · 3 months", "en"),
    ],
)
def test_text_in_the_right_language_passes(text, locale):
    assert string_problems(text, locale) == []


@pytest.mark.parametrize(
    ("text", "locale", "problem"),
    [
        ("登錄後發佈需求", "zh_Hans", "Traditional '錄後發佈'"),
        ("登录后发布需求", "zh_Hant", "Simplified '录发'"),
        ("发布 Draft", "zh_Hans", "English 'Draft'"),
        ("發佈 Published", "zh_Hant", "English 'Published'"),
        ("Post a 需求", "en", "Chinese '需求'"),
        ("状态：proposed", "zh_Hans", "English 'proposed'"),
    ],
)
def test_text_in_the_wrong_language_is_flagged(text, locale, problem):
    assert problem in string_problems(text, locale)


@pytest.mark.parametrize("locale", ["en", "zh_Hans", "zh_Hant"])
def test_raw_keys_are_flagged_in_every_language(locale):
    assert "raw key 'carbon_environment'" in string_problems("carbon_environment", locale)


def test_the_script_tables_come_from_opencc():
    assert {"錄", "後", "臺", "發"} <= traditional_only() and not {"於", "乾", "台", "着"} & traditional_only()
    assert {"录", "发", "湾"} <= simplified_only() and not {"后", "台", "里", "干", "面"} & simplified_only()


# ---------------------------------------------------------------- pages


def test_a_page_in_the_right_language_passes():
    html = page(
        '<h1>需求</h1><input type="submit" value="发布"><input placeholder="搜索">'
        '<img alt="图表"><button aria-label="关闭" title="关闭">×</button><option>全部</option>'
    )
    assert findings(html, "zh_Hans") == []


@pytest.mark.parametrize(
    "body",
    [
        "<p>Draft</p>",
        '<input type="search" placeholder="Type to filter…">',
        '<a title="Open">打开</a>',
        '<button aria-label="Close">×</button>',
        '<img alt="Chart" src="x.png">',
        '<input type="submit" value="Publish">',
        "<select><option>All</option></select>",
        "<p>登錄</p>",
    ],
)
def test_wrong_language_in_text_and_visible_attributes_is_flagged(body):
    assert findings(page(body), "zh_Hans") != []


def test_the_title_is_checked():
    assert findings(page("<h1>需求</h1>", title="Demands"), "zh_Hans") == ["Demands"]


def test_hidden_values_scripts_and_text_areas_are_not_read():
    html = page(
        '<input type="hidden" name="next" value="/demands/">'
        '<button name="locale" value="zh_Hant">繁體中文</button>'
        "<script>var x = 'ready';</script><style>.a{color:red}</style><textarea>typed here</textarea>"
    )
    assert findings(html, "zh_Hans") == ["繁體中文"]  # the button's name is read; its value is not


def test_user_content_is_skipped_and_taken_out_of_titles_and_attributes():
    html = page(
        '<h1><span data-user-content="">Kiln fault early warning 窯爐預警</span> · 需求</h1>'
        "<select><option data-user-content>#4 Kiln fault early warning 窯爐預警</option></select>"
        '<a title="Kiln fault early warning 窯爐預警">打开</a>',
        title="Kiln fault early warning 窯爐預警 · 需求",
    )
    assert findings(html, "zh_Hans") == []
    assert findings(html.replace('data-user-content=""', ""), "zh_Hans") != []


def test_parts_quoted_in_another_language_are_skipped():
    html = page('<p>可用<span lang="zh-Hant">繁體中文</span>或<span lang="en">English</span>输入</p>')
    assert findings(html, "zh_Hans") == []


def test_english_pages_allow_no_chinese_outside_user_content():
    assert findings(page("<p>Demands</p>", lang="en", title="Demands"), "en") == []
    assert findings(page("<p>Demands 需求</p>", lang="en", title="Demands"), "en") == ["Demands 需求"]


def test_the_html_lang_must_follow_the_locale():
    assert any(f.where == "html" for f in page_problems(page("<p>需求</p>", lang="en"), "zh_Hans"))


# ---------------------------------------------------------------- the marker the templates use


def test_the_user_text_filter_marks_and_still_escapes(app):
    with app.test_request_context("/"):
        html = render_template_string(
            "{{ title|user_text }}|{{ empty|user_text or '—' }}", title="<b>窯爐</b>", empty=""
        )
    assert html == '<span data-user-content="">&lt;b&gt;窯爐&lt;/b&gt;</span>|—'


def test_known_places_follow_the_reader_and_others_stay_as_typed(app):
    template = "{{ 'Foshan'|place_label }} {{ '佛山市'|place_label }} {{ '南海区'|place_label }}"
    with app.test_request_context("/"):
        assert render_template_string(template) == 'Foshan Foshan <span data-user-content="">南海区</span>'
        with force_locale("zh_Hant"):
            assert render_template_string("{{ 'Dongguan'|place_label }}") == "東莞"
