"""`matchmaker i18n`: extract the interface's messages, update and compile the catalogues, check them.

Run in a checkout (the commands read `babel.cfg` beside the package). After adding or changing messages:
`matchmaker i18n update`, translate the new entries in the two Chinese catalogues, `matchmaker i18n compile`,
and `matchmaker i18n check` (the test suite runs the same check).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

PACKAGE_DIR = Path(__file__).resolve().parent.parent
CHECKOUT_DIR = PACKAGE_DIR.parent
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"
POT_FILE = TRANSLATIONS_DIR / "messages.pot"
BABEL_CFG = CHECKOUT_DIR / "babel.cfg"
TRANSLATED_LOCALES = ("zh_Hant", "zh_Hans")  # English is the source language: its catalogue stays empty
KEYWORDS = ("_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2")


def _pybabel(*args: str) -> None:
    """Run one pybabel command in the checkout."""
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(pot: Path = POT_FILE) -> Path:
    """Extract every message of the code and templates into a .pot file; return its path."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    _pybabel(
        "extract", "-F", str(BABEL_CFG), *keywords, "--no-location", "--sort-output",
        "--project", "matchmaker", "-o", str(pot), str(CHECKOUT_DIR),
    )  # fmt: skip
    return pot


def msgids(catalog) -> set:
    """Return the message ids of a catalogue (a plural's singular and plural id together), header left out."""
    return {_key(message) for message in catalog if message.id}


def _key(message) -> tuple:
    """Return a message's identity: its context and its id (singular and plural together)."""
    return (message.context, message.id if isinstance(message.id, str) else tuple(message.id))


def _read(path: Path, locale: str | None = None):
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def problems() -> list[str]:
    """Return what is wrong with the catalogues: stale against the code, untranslated, fuzzy or not compiled."""
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        current = msgids(_read(extract(Path(tmp) / "messages.pot")))
    if current != msgids(_read(POT_FILE)):
        found.append("messages.pot is stale: run `matchmaker i18n update`")
    for locale in (*TRANSLATED_LOCALES, "en"):
        po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
        catalog = _read(po_path, locale)
        missing, extra = current - msgids(catalog), msgids(catalog) - current
        if missing or extra:
            found.append(
                f"{locale}: {len(missing)} messages missing, {len(extra)} obsolete: run `matchmaker i18n update`"
            )
        if locale in TRANSLATED_LOCALES:
            for message in catalog:
                if not message.id:
                    continue
                if message.fuzzy or not _translated(message):
                    found.append(f"{locale}: {'fuzzy' if message.fuzzy else 'untranslated'}: {message.id!r}")
        found += _compiled_problems(locale, catalog, po_path.with_suffix(".mo"))
    return found


def _compiled_problems(locale: str, catalog, mo_path: Path) -> list[str]:
    """Return a complaint when the compiled .mo file is missing or differs from its .po catalogue."""
    if not mo_path.exists():
        return [f"{locale}: messages.mo is missing: run `matchmaker i18n compile`"]
    with mo_path.open("rb") as file:
        compiled = _table(m for m in read_mo(file) if m.id)
    wanted = _table(m for m in catalog if m.id and not m.fuzzy and _translated(m))
    if _translating(compiled) != _translating(wanted):
        return [f"{locale}: messages.mo is out of date: run `matchmaker i18n compile`"]
    return []


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return all(strings)


def _table(messages) -> dict:
    """Return {id: translation} with plural ids and strings as tuples, so .po and .mo compare equal."""
    return {_key(m): (m.string if isinstance(m.string, str) else tuple(m.string)) for m in messages}


def _translating(table: dict) -> dict:
    """Leave out entries that read the same as their id: compiled or not, they show the same text."""
    return {key: text for key, text in table.items() if (text if isinstance(text, str) else text[0]) != _singular(key)}


def _singular(key: tuple) -> str:
    return key[1] if isinstance(key[1], str) else key[1][0]


@click.group("i18n")
def i18n_group():
    """Extract, update, compile and check the translation catalogues."""


@i18n_group.command("update")
def update_command():
    """Re-extract the messages and merge them into every catalogue (new ones untranslated, removed ones dropped)."""
    extract()
    for locale in (*TRANSLATED_LOCALES, "en"):
        if not (TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po").exists():
            _pybabel("init", "-i", str(POT_FILE), "-d", str(TRANSLATIONS_DIR), "-l", locale)
    _pybabel("update", "-i", str(POT_FILE), "-d", str(TRANSLATIONS_DIR), "--ignore-obsolete", "--no-fuzzy-matching")
    click.echo(f"Updated the catalogues in {TRANSLATIONS_DIR}; translate the new entries, then compile.")


@i18n_group.command("compile")
def compile_command():
    """Compile every catalogue into the .mo files the app reads."""
    _pybabel("compile", "-d", str(TRANSLATIONS_DIR))
    click.echo("Compiled the catalogues.")


@i18n_group.command("check")
def check_command():
    """Fail when a catalogue is stale, untranslated, fuzzy or not compiled."""
    found = problems()
    for problem in found:
        click.echo(problem, err=True)
    if found:
        raise SystemExit(1)
    click.echo("The catalogues are complete and up to date.")
