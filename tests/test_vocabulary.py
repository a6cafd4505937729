"""Each vocabulary — statuses, kinds, languages, modes, regions, reasons — is defined once, in vocabulary.py."""

import ast
import enum
import re
from pathlib import Path

import pytest

import matchmaker
from matchmaker import create_app, models, vocabulary

PACKAGE = Path(matchmaker.__file__).parent
VOCABULARY_FILE = PACKAGE / "vocabulary.py"
# Names the vocabularies went by before they were gathered; none may be defined again.
FORMER_NAMES = {"LANGUAGES", "LANGS", "STATUS_LABELS", "KIND_LABELS"}
LITERALS = (ast.Dict, ast.List, ast.Tuple, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp, ast.Constant)
GETTEXT = {"_", "_l", "gettext", "lazy_gettext"}


def vocabularies() -> dict[str, frozenset[str]]:
    """Return every vocabulary vocabulary.py defines, by name, as the set of its keys."""
    found = {}
    for name, value in vars(vocabulary).items():
        if isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__ == vocabulary.__name__:
            found[name] = frozenset(member.value for member in value)
        elif isinstance(value, tuple) and len(value) > 1 and all(isinstance(v, str) for v in value):
            found[name] = frozenset(value)
    return found


def enum_members() -> dict[str, frozenset[str]]:
    """Return each vocabulary enum's member names, by enum name."""
    return {
        name: frozenset(value.__members__)
        for name, value in vars(vocabulary).items()
        if isinstance(value, type) and issubclass(value, enum.Enum)
    }


def package_files() -> list[Path]:
    """Return the package's Python files other than vocabulary.py and the migrations."""
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != VOCABULARY_FILE and "migrations" not in path.relative_to(PACKAGE).parts
    ]


def _strings(nodes) -> set[str]:
    return {node.value for node in nodes if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def _is_label(node) -> bool:
    """Return whether a node is a label: a string, or a gettext call on one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) in GETTEXT


def _spelled_out(node, vocabs: dict, members: dict) -> str | None:
    """Return the vocabulary a literal spells out again (all its keys, or a label for each), if any."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        keys = _strings(node.elts)
    elif isinstance(node, ast.Dict) and node.keys and all(_is_label(v) for v in node.values):
        keys = _strings(node.keys)
        attributes = {key.attr for key in node.keys if isinstance(key, ast.Attribute)}
        for name, names in members.items():
            if names <= attributes:
                return name
    else:
        return None
    return next((name for name, values in vocabs.items() if values <= keys), None)


def definitions(path: Path, source: str | None = None) -> list[str]:
    """Return each place in a module that defines a vocabulary vocabulary.py already holds."""
    vocabs, members = vocabularies(), enum_members()
    taken = FORMER_NAMES | {name for name in vars(vocabulary) if name.isupper()}
    tree = ast.parse(path.read_text("utf-8") if source is None else source)
    problems = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ClassDef) and node.name in members:
            problems.append(f"{where} defines enum {node.name}")
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, LITERALS):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            problems += [f"{where} defines {t.id}" for t in targets if isinstance(t, ast.Name) and t.id in taken]
        name = _spelled_out(node, vocabs, members)
        if name:
            problems.append(f"{where} spells out {name} again")
    return problems


def test_the_checks_know_every_vocabulary():
    assert {
        "OrgKind",
        "Role",
        "PostingStatus",
        "MatchStatus",
        "POSTING_KINDS",
        "TEXT_LANGUAGES",
        "UI_LOCALES",
        "DEPLOYMENT_MODES",
        "VOUCHER_KINDS",
        "REGIONS",
        "DECLINE_REASONS",
        "REJECT_REASONS",
        "NO_DEAL_REASONS",
        "JoinStatus",
        "INVITATION_STATUSES",
    } <= set(vocabularies())


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_defines_a_vocabulary_again(path):
    assert definitions(path) == []


@pytest.mark.parametrize(
    "source",
    [
        'LANGUAGES = ("", "en", "zh-Hant", "zh-Hans")',
        'CHOICES = ["zh-Hant", "zh-Hans", "en"]',
        'MODES = {"on_premises": "on-premises", "edge": "edge", "cloud": "cloud"}',
        "LABELS = {PostingStatus.DRAFT: _l('Draft'), PostingStatus.PUBLISHED: _l('Published'),"
        " PostingStatus.CLOSED: _l('Closed')}",
        "class MatchStatus(str, enum.Enum):\n    PROPOSED = 'proposed'",
        "def f():\n    return {'member': _('Member'), 'curator': _('Curator'), 'admin': _('Administrator')}",
    ],
)
def test_the_check_catches_a_second_definition(source):
    assert definitions(PACKAGE / "probe.py", source)


def test_the_check_leaves_tables_keyed_by_a_vocabulary_alone():
    source = "TRANSITIONS = {S.DRAFT: {S.PUBLISHED}, S.PUBLISHED: {S.CLOSED}, S.CLOSED: set()}"
    assert definitions(PACKAGE / "probe.py", source) == []


TEMPLATE_MAPPING = re.compile(r"{%-?\s*set\s+(\w+)\s*=\s*{(.*?)}\s*-?%}", re.S)
TEMPLATE_KEY = re.compile(r"""['"]([^'"]*)['"]\s*:""")


def template_definitions(text: str) -> list[str]:
    """Return the mappings a template sets up whose keys spell out a vocabulary again."""
    return [
        f"{name} spells out {vocab}"
        for name, body in TEMPLATE_MAPPING.findall(text)
        for vocab, keys in vocabularies().items()
        if keys <= set(TEMPLATE_KEY.findall(body))
    ]


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "templates").rglob("*.html")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_template_defines_a_vocabulary_again(path):
    assert template_definitions(path.read_text("utf-8")) == []


def test_the_template_check_catches_a_second_definition():
    text = "{% set status_labels = {'draft': _('Draft'), 'published': _('Published'), 'closed': _('Closed')} %}"
    assert template_definitions(text) == ["status_labels spells out PostingStatus"]
    assert template_definitions("{% set labels = {'total': _('Overall'), 'dense': _('Meaning')} %}") == []


def test_each_vocabulary_has_a_label_for_every_key():
    for keys, labels in (
        (vocabulary.OrgKind, vocabulary.ORG_KIND_LABELS),
        (vocabulary.Role, vocabulary.ROLE_LABELS),
        (vocabulary.PostingStatus, vocabulary.POSTING_STATUS_LABELS),
        (vocabulary.MatchStatus, vocabulary.MATCH_STATUS_LABELS),
        (vocabulary.POSTING_KINDS, vocabulary.POSTING_KIND_LABELS),
        ((vocabulary.DETECT_LANGUAGE, *vocabulary.TEXT_LANGUAGES), vocabulary.TEXT_LANGUAGE_LABELS),
        (vocabulary.DEPLOYMENT_MODES, vocabulary.DEPLOYMENT_LABELS),
        (vocabulary.VOUCHER_KINDS, vocabulary.VOUCHER_LABELS),
        (vocabulary.REGIONS, vocabulary.REGION_LABELS),
        (vocabulary.DECLINE_REASONS, vocabulary.DECLINE_REASON_LABELS),
        (vocabulary.REJECT_REASONS, vocabulary.REJECT_REASON_LABELS),
        (vocabulary.NO_DEAL_REASONS, vocabulary.NO_DEAL_REASON_LABELS),
        (vocabulary.INVITATION_STATUSES, vocabulary.INVITATION_STATUS_LABELS),
    ):
        assert list(labels) == list(keys)


def test_text_languages_and_ui_locales_pair_one_to_one():
    assert sorted(map(vocabulary.locale_of_language, vocabulary.TEXT_LANGUAGES)) == sorted(vocabulary.UI_LOCALES)
    for language in vocabulary.TEXT_LANGUAGES:
        assert vocabulary.language_of_locale(vocabulary.locale_of_language(language)) == language
    assert vocabulary.locale_of_language("zh-Hant") == "zh_Hant"
    assert vocabulary.language_of_locale("zh_Hans") == "zh-Hans"
    assert vocabulary.locale_of_language("fr") == vocabulary.DEFAULT_LOCALE


def test_the_app_offers_the_ui_locales_and_models_reexport_the_enums(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATA_DIR": str(tmp_path)})
    assert app.config["LANGUAGES"] == list(vocabulary.UI_LOCALES)
    assert app.config["BABEL_DEFAULT_LOCALE"] == vocabulary.DEFAULT_LOCALE
    assert models.MatchStatus is vocabulary.MatchStatus and models.OrgKind is vocabulary.OrgKind
    assert models.JoinStatus is vocabulary.JoinStatus
