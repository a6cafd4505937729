"""Is a page's interface text in the reader's language? The checker the page sweep (tests/test_i18n.py) runs.

What people typed stays in the language they wrote it in, so the templates mark it (the `user_text` filter
wraps it in an element with `data-user-content`, and `<option data-user-content>` carries it in a list): the
checker leaves marked parts out, and takes their text out of `<title>` and of attributes, where no element can
mark it. Parts marked with a `lang` of another language (the language switch names each language in itself)
are quoted in that language and left out too.

Code (`<code>`, `<pre>`, and `quoted` in text) reads the same in every language and is left out too.

Everything else a reader sees is checked: text nodes, `<title>`, and the attributes people see (placeholder,
title, aria-label, alt, and the value of buttons). For zh_Hans: no character only Traditional Chinese writes;
for zh_Hant: no character only Simplified Chinese writes (both from OpenCC's character tables); for both: no
Latin word outside ALLOWED_WORDS; for en: no Chinese character. In every language, no raw key such as
`carbon_environment`.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import opencc

# Latin words a Chinese page may show: the product, the languages' own names, units, currencies, formats,
# standards, key names and the API's own vocabulary read the same in every language.
ALLOWED_WORDS = frozenset(
    {
        "Matchmaker",
        "English",
        "AI",
        "API",
        "OpenAPI",
        "JSON",
        "CSV",
        "XLSX",
        "UTF",
        "GBK",
        "GB",
        "Big",  # Big5
        "CN",  # CN¥
        "CNY",
        "ERP",
        "MES",
        "SMTP",
        "Ctrl",
        "Bearer",
        "Authorization",
        "SHA",
        "HNSW",
        "BM",  # BM25
        "KB",
        "MB",
        "YYYY",
        "MM",
        "DD",
        "NUL",
    }
)
# The attributes a reader sees or hears; `value` only where it is a button's label (<input type="submit">).
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "aria-description")
BUTTON_INPUTS = ("submit", "button", "reset")
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SKIPPED_TAGS = ("script", "style", "textarea", "template")
CODE_TAGS = ("code", "pre", "kbd", "samp")  # names a program reads, the same in every language
HTML_LANG = {"en": "en", "zh_Hant": "zh-Hant", "zh_Hans": "zh-Hans"}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EMAIL = re.compile(r"[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_URL = re.compile(r"(https?://|mailto:|(?<![A-Za-z0-9])/)[A-Za-z0-9_./?=&%#:~+-]*")
# Written as a machine reads them: `quoted code`, command-line options, file extensions, header names, media types.
_TECHNICAL = re.compile(r"`[^`]+`|--[a-z][a-z-]*|(?<![A-Za-z0-9])\.[a-z]{2,4}\b|<token>|Content-Type|application/json")
_RAW_KEY = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z’']*[A-Za-z]|\b[A-Za-z]\b")


@dataclass(frozen=True)
class Finding:
    """A string a page shows in the wrong language, and why it is wrong."""

    where: str  # "text", "title" or the attribute's name
    text: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text!r} ({self.problem})"


# ---------------------------------------------------------------- the characters of each script


@cache
def _opencc_table(name: str) -> dict[str, list[str]]:
    """Read one of OpenCC's character tables (STCharacters, TSCharacters): each character and its conversions."""
    clib = Path(opencc.__file__).parent / "clib"
    with tempfile.TemporaryDirectory() as folder:
        text = Path(folder) / f"{name}.txt"
        source = clib / "share" / "opencc" / f"{name}.ocd2"
        subprocess.run(
            [clib / "bin" / "opencc_dict", "-i", source, "-o", text, "-f", "ocd2", "-t", "text"],
            check=True,
            capture_output=True,
        )
        lines = text.read_text(encoding="utf-8").splitlines()
    return {key: values.split() for key, values in (line.split("\t", 1) for line in lines if "\t" in line)}


@cache
def traditional_only() -> frozenset[str]:
    """Characters Traditional Chinese writes and Simplified Chinese never does (臺, 錄, 後; not 於, 乾, 台)."""
    to_simplified, to_traditional = _opencc_table("TSCharacters"), _opencc_table("STCharacters")
    simplified = set(to_traditional) | {c for values in to_simplified.values() for c in values}
    return frozenset(c for c, values in to_simplified.items() if c not in values and c not in simplified)


@cache
def simplified_only() -> frozenset[str]:
    """Characters Simplified Chinese writes and Traditional Chinese never does (录, 发, 后台's 后 is both)."""
    to_simplified, to_traditional = _opencc_table("TSCharacters"), _opencc_table("STCharacters")
    traditional = set(to_simplified) | {c for values in to_traditional.values() for c in values}
    return frozenset(c for c, values in to_traditional.items() if c not in values and c not in traditional)


# ---------------------------------------------------------------- reading a page


class _PageText(HTMLParser):
    """Collect what a reader sees of a page, with where it is, and the user content it marks."""

    def __init__(self, page_lang: str):
        super().__init__(convert_charrefs=True)
        self.page_lang = page_lang
        self.seen: list[tuple[str, str]] = []  # (where, text)
        self.user_content: list[str] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, why it is left out, if it is)
        self._skip = 0

    def _left_out(self) -> str | None:
        return next((why for _tag, why in reversed(self._open) if why), None)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        why = None
        if "data-user-content" in attributes or attributes.get("translate") == "no":
            why = "user"
        elif tag != "html" and attributes.get("lang") and attributes["lang"] != self.page_lang:
            why = "quoted"
        elif tag in CODE_TAGS:
            why = "code"
        if tag in SKIPPED_TAGS:
            self._skip += 1
        outer = self._left_out()
        if tag not in VOID_TAGS:
            self._open.append((tag, why))
        if why or outer:
            return
        for name in VISIBLE_ATTRIBUTES:
            if attributes.get(name):
                self.seen.append((name, attributes[name]))
        if attributes.get("value") and tag == "input" and attributes.get("type") in BUTTON_INPUTS:
            self.seen.append(("value", attributes["value"]))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS and self._skip:
            self._skip -= 1
        if any(open_tag == tag for open_tag, _why in self._open):
            while self._open and self._open.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if self._skip or not data.strip():
            return
        why = self._left_out()
        if why == "user":
            self.user_content.append(data.strip())
        elif why is None:
            where = "title" if self._open and self._open[-1][0] == "title" else "text"
            self.seen.append((where, data.strip()))


def visible_text(page: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Return what a reader sees of a page, as (where, text) pairs, and the user content it marks."""
    lang = re.search(r'<html[^>]*\blang="([^"]*)"', page)
    parser = _PageText(lang.group(1) if lang else "")
    parser.feed(page)
    parser.close()
    return parser.seen, parser.user_content


# ---------------------------------------------------------------- judging a string


def string_problems(text: str, locale: str) -> list[str]:
    """Return why a string of interface text is not in `locale` (empty when it is)."""
    rest = _URL.sub(" ", _EMAIL.sub(" ", text))
    found = [f"raw key {key!r}" for key in _RAW_KEY.findall(re.sub(r"`[^`]+`", " ", rest))]
    rest = _TECHNICAL.sub(" ", rest)
    if locale == "en":
        chinese = "".join(dict.fromkeys(_CJK.findall(rest)))
        return found + ([f"Chinese {chinese!r}"] if chinese else [])
    wrong_script = traditional_only() if locale == "zh_Hans" else simplified_only()
    wrong = "".join(dict.fromkeys(c for c in rest if c in wrong_script))
    if wrong:
        found.append(f"{'Traditional' if locale == 'zh_Hans' else 'Simplified'} {wrong!r}")
    words = [word for word in _WORD.findall(_RAW_KEY.sub(" ", rest)) if word not in ALLOWED_WORDS]
    if words:
        found.append(f"English {' '.join(dict.fromkeys(words))!r}")
    return found


def _without(text: str, user_content: list[str]) -> str:
    """Take the user content a page marks elsewhere out of a title or an attribute that repeats it."""
    for content in user_content:
        if len(content) > 1:
            text = text.replace(content, " ")
    return text


def page_problems(page: str, locale: str) -> list[Finding]:
    """Return every string of a page's interface that is not in `locale`."""
    seen, user_content = visible_text(page)
    user_content = sorted(set(user_content), key=len, reverse=True)
    findings = []
    for where, text in seen:
        checked = text if where == "text" else _without(text, user_content)
        findings += [Finding(where, unescape(text), problem) for problem in string_problems(checked, locale)]
    lang = re.search(r'<html[^>]*\blang="([^"]*)"', page)
    if not lang or lang.group(1) != HTML_LANG[locale]:
        findings.append(Finding("html", lang.group(0) if lang else "<html>", f"lang is not {HTML_LANG[locale]}"))
    return findings
