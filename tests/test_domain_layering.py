"""The domain layer builds no URLs and no emails: it records each step and announces it; others tell people."""

import ast
from pathlib import Path

import pytest

import matchmaker

DOMAIN = Path(matchmaker.__file__).parent / "domain"

# Names whose use means building a URL, a message for people, or an email, and the modules that do so.
FORBIDDEN_NAMES = {"url_for", "force_locale", "Notification", "OutboundEmail", "EmailMessage", "BuildError"}
FORBIDDEN_MODULES = ("matchmaker.mailer", "matchmaker.notifications", "smtplib", "email", "werkzeug.routing")


def _absolute_module(node: ast.ImportFrom, path: Path) -> str:
    """Return the dotted module an ImportFrom names, resolving relative imports against the file."""
    if not node.level:
        return node.module or ""
    package = ["matchmaker", *path.relative_to(DOMAIN.parent).parent.parts]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _problems(path: Path, source: str | None = None) -> list[str]:
    """Return each place in a domain module that imports or uses something the domain must not."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text("utf-8") if source is None else source)):
        modules, names = [], []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute_module(node, path)
            modules = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        for module in modules:
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_MODULES):
                problems.append(f"{path.name}:{node.lineno} imports {module}")
        problems += [f"{path.name}:{node.lineno} uses {name}" for name in names if name in FORBIDDEN_NAMES]
    return problems


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_the_domain_builds_no_urls_and_no_emails(path):
    assert _problems(path) == []


def test_the_check_sees_relative_imports_and_uses():
    source = "from flask import url_for\nfrom .. import mailer\nfrom ..models import OutboundEmail\nimport smtplib\n"
    assert _problems(DOMAIN / "probe.py", source) == [
        "probe.py:1 uses url_for",
        "probe.py:2 imports matchmaker.mailer",
        "probe.py:3 uses OutboundEmail",
        "probe.py:4 imports smtplib",
    ]
