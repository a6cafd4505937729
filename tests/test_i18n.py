"""The interface in English, Traditional and Simplified Chinese: catalogues, locale choice, and pages that speak it."""

import re
import shutil
from collections import Counter
from html import unescape
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po, write_po
from flask_babel import force_locale

from matchmaker import taxonomy
from matchmaker.cli import i18n as catalogues
from matchmaker.domain import curation, workflow
from matchmaker.extensions import db
from matchmaker.i18n import locale_of_tag
from matchmaker.matching.explain import reason_text
from matchmaker.models import Demand, Match, MatchStatus, Offering, User
from matchmaker.templating import money

from .apps import app_with_schema, base_config
from .language_check import page_problems, simplified_only, traditional_only

LOG_IN = {"en": "Log in", "zh_Hant": "登入", "zh_Hans": "登录"}
HTML_LANG = {"en": "en", "zh_Hant": "zh-Hant", "zh_Hans": "zh-Hans"}


def html_lang(page: str) -> str:
    """Return the lang attribute of a page's <html> element."""
    return re.search(r'<html lang="([^"]*)"', page).group(1)


# ---------------------------------------------------------------- catalogues


def test_catalogues_are_complete_compiled_and_current():
    assert catalogues.problems() == []


@pytest.fixture
def catalogue_copy(tmp_path, monkeypatch):
    """Point the catalogue check at a copy of the catalogues that a test may break."""
    copy = tmp_path / "translations"
    shutil.copytree(catalogues.TRANSLATIONS_DIR, copy)
    monkeypatch.setattr(catalogues, "TRANSLATIONS_DIR", copy)
    monkeypatch.setattr(catalogues, "POT_FILE", copy / "messages.pot")
    return copy


def rewrite_po(path, change) -> None:
    """Rewrite a catalogue after change(catalog)."""
    with path.open("rb") as file:
        catalog = read_po(file)
    change(catalog)
    with path.open("wb") as file:
        write_po(file, catalog)


def test_the_check_finds_untranslated_and_fuzzy_messages(catalogue_copy):
    def spoil(catalog):
        catalog["Draft"].string = ""
        catalog["Published"].flags.add("fuzzy")

    rewrite_po(catalogue_copy / "zh_Hant" / "LC_MESSAGES" / "messages.po", spoil)
    found = catalogues.problems()
    assert "zh_Hant: untranslated: 'Draft'" in found and "zh_Hant: fuzzy: 'Published'" in found
    assert "zh_Hant: messages.mo is out of date: run `matchmaker i18n compile`" in found


def test_the_check_finds_catalogues_stale_against_the_code(catalogue_copy):
    rewrite_po(catalogue_copy / "messages.pot", lambda catalog: catalog.delete("Draft"))
    rewrite_po(catalogue_copy / "zh_Hans" / "LC_MESSAGES" / "messages.po", lambda catalog: catalog.delete("Draft"))
    found = catalogues.problems()
    assert "messages.pot is stale: run `matchmaker i18n update`" in found
    assert any(problem.startswith("zh_Hans: 1 messages missing, 0 obsolete") for problem in found)


def wrong_script_messages(locale: str) -> list[str]:
    """Return the translations of a Chinese catalogue that write a character only the other script writes."""
    wrong_script = traditional_only() if locale == "zh_Hans" else simplified_only()
    with (catalogues.TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file)
    wrong = []
    for message in catalog:
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            if message.id and any(c in wrong_script for c in text or ""):
                wrong.append(f"{message.id!r}: {text!r}")
    return wrong


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_each_chinese_catalogue_writes_its_own_script(locale):
    """Every translation, also those no page sweep reaches (flashes, errors, emails), in the catalogue's script."""
    assert wrong_script_messages(locale) == []


def test_the_script_check_finds_a_translation_in_the_other_script(catalogue_copy):
    def spoil(catalog):
        catalog["Draft"].string = "草稿（臺灣）"

    rewrite_po(catalogue_copy / "zh_Hans" / "LC_MESSAGES" / "messages.po", spoil)
    assert wrong_script_messages("zh_Hans") == ["'Draft': '草稿（臺灣）'"]


def test_i18n_check_command_reports_success(runner):
    result = runner.invoke(args=["i18n", "check"])
    assert result.exit_code == 0, result.output
    assert "complete and up to date" in result.output


# ---------------------------------------------------------------- choosing the locale


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh-Hans-HK", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-HK", "zh_Hant"),
        ("zh-TW", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("zh-hant-cn", "zh_Hant"),
        ("en-GB", "en"),
        ("fr-FR, zh-TW;q=0.8, en;q=0.5", "zh_Hant"),
        ("en;q=0.4, zh-CN;q=0.9", "zh_Hans"),
        ("de, fr", "en"),
        (None, "en"),
    ],
)
def test_accept_language_picks_the_locale_and_html_lang(client, header, locale):
    page = client.get("/", headers={"Accept-Language": header} if header else {}).get_data(as_text=True)
    assert html_lang(page) == HTML_LANG[locale]
    assert LOG_IN[locale] in page


def test_browser_tags_map_onto_ui_locales():
    assert [locale_of_tag(tag) for tag in ("zh_CN", "ZH-HK", "en-US", "ja")] == ["zh_Hans", "zh_Hant", "en", None]


def test_the_top_bar_offers_each_language_in_its_own_name(client):
    page = client.get("/").get_data(as_text=True)
    switch = re.search(r'<form[^>]*id="language-switch".*?</form>', page, re.S).group(0)
    assert "English" in switch and "繁體中文" in switch and "简体中文" in switch


def test_the_switch_persists_in_the_session_over_the_browser_language(client):
    response = client.post("/language", data={"locale": "zh_Hant", "next": "/demands/?page=1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/demands/?page=1")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html_lang(page) == "zh-Hant" and "登入" in page


def test_the_switch_ignores_unknown_locales_and_foreign_next(client):
    response = client.post("/language", data={"locale": "fr", "next": "https://evil.example/"})
    assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")
    assert html_lang(client.get("/").get_data(as_text=True)) == "en"


def test_the_switch_is_kept_in_a_signed_in_profile(app, client, auth, personas):
    auth.login_as("manufacturer")
    client.post("/language", data={"locale": "zh_Hans", "next": "/dashboard"})
    with app.app_context():
        assert db.session.get(User, personas["manufacturer"]).locale == "zh_Hans"
    auth.logout()

    other_browser = app.test_client()
    other_browser.post("/auth/login", data={"email": "factory@test.example", "password": "correct horse battery"})
    page = other_browser.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html_lang(page) == "zh-Hans" and "工作台" in page


# ---------------------------------------------------------------- labels, reasons, dates and money


def test_taxonomy_labels_follow_the_reader(app):
    term = taxonomy.scenarios()["visual_inspection"]
    with app.test_request_context("/"):
        for locale in ("en", "zh_Hant", "zh_Hans"):
            with force_locale(locale):
                label = app.jinja_env.filters["scenario_label"]("visual_inspection")
                assert label == term.labels[locale] and " / " not in label


def test_reasons_are_stored_without_text_and_read_in_each_language(app):
    reason = {"kind": "scenario", "key": "shared_scenarios", "params": {"scenarios": ["visual_inspection"]}}
    label = taxonomy.scenarios()["visual_inspection"].labels
    budget = {"kind": "fit", "key": "budget_fit", "params": {"budget": [100000, 300000], "price": [150000, None]}}
    with app.test_request_context("/"):
        assert reason_text(reason) == f"Shared scenarios: {label['en']}"
        assert reason_text(budget) == "Budget CN¥100,000–CN¥300,000 fits price from CN¥150,000"
        with force_locale("zh_Hans"):
            assert reason_text(reason) == f"共同场景：{label['zh_Hans']}"
            assert reason_text(budget) == "预算 ¥100,000–¥300,000 与价格 ¥150,000 起 相符"
        with force_locale("zh_Hant"):
            assert reason_text(reason) == f"共同場景：{label['zh_Hant']}"
        assert (
            reason_text({"kind": "terms", "text": "Key terms in both texts: kiln"}) == "Key terms in both texts: kiln"
        )


def test_money_and_dates_follow_the_locale(app):
    from datetime import date

    with app.test_request_context("/"):
        assert money(1200000) == "CN¥1,200,000" and money(None) == "—"
        assert app.jinja_env.filters["date"](date(2027, 3, 31)) == "Mar 31, 2027"
        with force_locale("zh_Hans"):
            assert money(1200000) == "¥1,200,000"
            assert app.jinja_env.filters["date"](date(2027, 3, 31)) == "2027年3月31日"


def test_scores_and_shares_are_formatted_by_babel_for_the_locale(app):
    decimal, percent = app.jinja_env.filters["decimal"], app.jinja_env.filters["percent"]
    with app.test_request_context("/"):
        assert decimal(0.8765) == "0.88" and decimal(None) == "0.00"
        assert decimal(12345.678, 1) == "12,345.7"  # grouped, which '%.1f' never is
        assert percent(0.5) == "50%" and percent(None) == "—"
        with force_locale("de"):  # a locale with other separators shows the filters follow the locale
            assert decimal(12345.678, 1) == "12.345,7" and percent(0.5) == "50\xa0%"
        with force_locale("zh_Hant"):
            assert decimal(0.8766, 3) == "0.877" and percent(0.25) == "25%"


# ---------------------------------------------------------------- every page a persona reaches, in each language

DEMO_PERSONAS = ("factory@matchmaker.test", "vendor@matchmaker.test", "curator@hkpromo.test", "admin@matchmaker.test")
MAX_PAGES = 150  # per persona and language, breadth first from the dashboard
PER_KIND = 4  # pages of one kind (/matches/<id>, /demands/?industry=<code>, …) visited: they share a template
# Never followed: leaving, files, the JSON API (it answers in the token owner's language, tested in test_api.py);
# its reference page (/api/v1/docs) is a page and is followed.
NOT_FOLLOWED = re.compile(r"^/(auth/logout|api/(?!v1/docs$)|exports/|static/)|\.(csv|xlsx|json)$")


def links(page: str) -> list[str]:
    """Return the same-site GET links of a page (not downloads)."""
    found = []
    for tag, href in re.findall(r'(<a [^>]*href="([^"#]+)"[^>]*>)', page):
        parts = urlsplit(unescape(href))
        if parts.netloc or parts.scheme or not parts.path.startswith("/") or " download" in tag:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not NOT_FOLLOWED.search(parts.path):
            found.append(path)
    return found


def page_kind(path: str) -> str:
    """Return what pages share a template: the path with its numbers, and its query without values."""
    parts = urlsplit(path)
    return (
        re.sub(r"\d+", "N", parts.path) + "?" + "&".join(sorted(re.sub(r"=.*", "", q) for q in parts.query.split("&")))
    )


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """Create one app loaded with the demo data, its matches taken through every kind of step, for the sweep."""
    with app_with_schema(base_config(tmp_path_factory.mktemp("sweep"))) as app:
        result = app.test_cli_runner().invoke(args=["seed"])
        assert result.exit_code == 0, result.output
        with app.test_request_context("/"):
            moved = take_matches_through_their_steps()
        moved_pages = [path for match_id in moved for path in (f"/matches/{match_id}", f"/curation/matches/{match_id}")]
        # Pages behind GET forms, which links do not reach: search hits, a filtered match list.
        yield (
            app,
            [*moved_pages, "/search/?q=%E7%BC%BA%E9%99%B7%E6%A3%80%E6%B5%8B+defect", "/matches/?status=connected"],
        )


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _member(organization_id: int) -> User:
    return db.session.scalar(sa.select(User).where(User.organization_id == organization_id).order_by(User.id))


def take_matches_through_their_steps() -> list[int]:
    """Move some of the demo's proposals on, as its people would: timelines, answers, reasons, notes, notifications.

    The demo data holds proposals only; the pages of introduced, connected, declined and rejected matches, and the
    notifications their steps send, are reached only once someone has taken those steps.
    """
    factory, vendor, curator = (_user(email) for email in DEMO_PERSONAS[:3])

    def proposals(condition) -> list[Match]:
        query = sa.select(Match).join(Demand).join(Offering).where(Match.status == MatchStatus.PROPOSED, condition)
        return db.session.scalars(query.order_by(Match.id)).all()

    connected, declined, rejected = proposals(Demand.organization_id == factory.organization_id)[:3]
    waiting = proposals(Offering.organization_id == vendor.organization_id)[0]
    for match in (connected, declined, waiting):
        workflow.apply(match, "shortlist", curator)
        workflow.apply(match, "introduce", curator, note="Both sides asked for an introduction.")
    workflow.apply(connected, "accept", _member(connected.demand.organization_id))
    workflow.apply(connected, "accept", _member(connected.offering.organization_id))
    workflow.apply(connected, "pilot_started", curator)
    workflow.apply(connected, "no_deal", curator, reason="price", note="预算不够")
    workflow.apply(declined, "decline", _member(declined.demand.organization_id), reason="budget")
    workflow.apply(rejected, "reject", curator, reason="poor_fit", note="場景不符")
    curation.add_note(curator, rejected, "Check the vendor's references first.")
    db.session.commit()
    return [match.id for match in (connected, declined, rejected, waiting)]


def sweep(app, email: str, locale: str, also: list[str] = ()) -> dict[str, str]:
    """Sign in, choose the locale with the switch, and fetch the pages reachable from the dashboard.

    Pages of one kind are visited a few at a time only; the pages `also` names are visited besides (the matches
    the fixture moved on, which the dashboard links among many others).
    """
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": "demo-password"})
    client.post("/language", data={"locale": locale, "next": "/dashboard"})
    pages, queue, queued, kinds = {}, ["/dashboard", *also], {"/dashboard", *also}, Counter()
    while queue and len(pages) < MAX_PAGES:
        path = queue.pop(0)
        kind = page_kind(path)
        if kinds[kind] >= PER_KIND and path not in also:
            continue
        kinds[kind] += 1
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        pages[path] = response.get_data(as_text=True)
        for link in links(pages[path]):
            if link not in queued:
                queued.add(link)
                queue.append(link)
    return pages


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["en", "zh_Hant", "zh_Hans"])
@pytest.mark.parametrize("email", DEMO_PERSONAS)
def test_every_page_a_persona_reaches_speaks_the_chosen_language(demo_app, email, locale):
    app, moved_matches = demo_app
    pages = sweep(app, email, locale, also=moved_matches)
    assert "/dashboard" in pages and len(pages) >= 10, sorted(pages)
    wrong = [f"{path}: {finding}" for path, page in pages.items() for finding in page_problems(page, locale)]
    assert wrong == [], f"{len(wrong)} strings in the wrong language:\n" + "\n".join(wrong)
