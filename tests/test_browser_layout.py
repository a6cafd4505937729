"""Phone width: at 390×844 no page reachable from a persona's dashboard and the top bar scrolls sideways; and, in
the browser, every such page speaks the language chosen (tests/language_check.py, as the test client's sweep in
tests/test_i18n.py checks it).

Each persona signs in (the anonymous visitor starts on the landing page) and picks a language, then the test
follows same-origin GET links breadth-first, a bounded number of pages, at most a few of each kind (/demands/1
and /demands/2 are one kind), and measures `document.documentElement.scrollWidth` against `innerWidth` on each.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import parse_qsl, urlsplit

import pytest

from .browser_support import (
    ADMIN,
    CURATOR,
    FACTORY,
    OVERFLOW_JS,
    PHONE,
    VENDOR,
    skip_without_browser,
    switch_language,
)
from .language_check import page_problems

pytestmark = pytest.mark.browser
skip_without_browser()

LOCALE_OF_BUTTON = {"English": "en", "繁體中文": "zh_Hant", "简体中文": "zh_Hans"}
MAX_PAGES = 45  # per persona: enough for every kind of page, bounded so the test stays quick
PER_KIND = 2  # pages of one kind visited (two demands, two filter combinations of the curation queue…)
SKIPPED_PATHS = re.compile(r"^/static/|/export|\.(csv|xlsx)$|/auth/logout")  # downloads are not pages

# Every link on the page, same-origin, as an absolute URL without its fragment.
LINKS_JS = """() => [...document.querySelectorAll('a[href]')]
  .map(a => a.href.split('#')[0])
  .filter(href => href.startsWith(location.origin))"""


def page_kind(url: str) -> str:
    """Name the kind of page a URL shows: its path with numbers and tokens generalised, and its query's keys."""
    parts = urlsplit(url)
    path = re.sub(r"/(\d+|[A-Za-z0-9_-]{20,})(?=/|$)", "/N", parts.path)
    keys = sorted({key for key, _ in parse_qsl(parts.query)} - {"page"})
    return path + ("?" + "&".join(keys) if keys else "")


def crawl(page, origin: str, start: str):
    """Visit pages reachable from start by GET links, bounded; yield each page's URL and its width measure."""
    queue, seen, per_kind = deque([origin + start]), set(), {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        kind = page_kind(url)
        if url in seen or per_kind.get(kind, 0) >= PER_KIND or SKIPPED_PATHS.search(urlsplit(url).path):
            continue
        seen.add(url)
        per_kind[kind] = per_kind.get(kind, 0) + 1
        response = page.goto(url)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        yield page.url, page.evaluate(OVERFLOW_JS), page.content()
        queue.extend(link for link in page.evaluate(LINKS_JS) if link not in seen)


@pytest.mark.parametrize("language", ["English", "繁體中文", "简体中文"])
@pytest.mark.parametrize(
    "email", [None, FACTORY, VENDOR, CURATOR, ADMIN], ids=["anonymous", "factory", "vendor", "curator", "admin"]
)
def test_no_page_scrolls_sideways_on_a_phone(person, live_server, email, language):
    page = person(email, viewport=PHONE)
    start = "/dashboard" if email else "/"
    page.goto(start)
    switch_language(page, language)
    visited, too_wide, wrong_language = [], [], []
    try:
        for url, measure, html in crawl(page, live_server, start):
            visited.append(url)
            path = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
            wrong_language += [f"{path}: {finding}" for finding in page_problems(html, LOCALE_OF_BUTTON[language])]
            if measure["scrollWidth"] > measure["innerWidth"]:
                too_wide.append(
                    f"{urlsplit(url).path}{'?' + urlsplit(url).query if urlsplit(url).query else ''}: "
                    f"{measure['scrollWidth']} px wide, widest {measure['widest']} reaching {measure['right']} px"
                )
    finally:
        page.goto(start)
        switch_language(page, "English")  # the demo accounts stay in English for the tests that follow
    assert len(visited) >= 5, f"the crawl found too few pages to check: {visited}"
    assert not too_wide, f"pages wider than the {PHONE['width']} px window in {language}:\n" + "\n".join(too_wide)
    assert not wrong_language, f"strings not in {language}:\n" + "\n".join(wrong_language)
