"""Test modules share helpers through tests/factories.py and tests/apps.py, never by importing each other."""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MODULES = sorted(TESTS.glob("*.py"))


def imported_modules(source: str) -> list[tuple[int, str]]:
    """Return (line, module) for every module a tests/ file imports, also inside functions."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import in tests/ resolves against the tests package; `..` leaves it.
            base = (["tests"] if node.level == 1 else []) + ([node.module] if node.module else [])
            module = ".".join(base)
            found.append((node.lineno, module))
            # `from . import test_x` names a module in the imported list.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def is_test_module(module: str) -> bool:
    """Return whether a dotted name is a test module or conftest of this suite."""
    parts = module.split(".")
    return len(parts) == 2 and parts[0] == "tests" and (parts[1] == "conftest" or parts[1].startswith("test_"))


def cross_imports(path: Path, source: str | None = None) -> list[str]:
    """Return each place where a tests/ file imports a test module or conftest."""
    text = path.read_text("utf-8") if source is None else source
    return [f"{path.name}:{line} imports {module}" for line, module in imported_modules(text) if is_test_module(module)]


def test_the_test_modules_are_found():
    assert {"conftest.py", "factories.py", "test_workflow.py"} <= {path.name for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_test_module_imports_another(path):
    assert cross_imports(path) == []


def test_the_check_sees_relative_absolute_and_late_imports():
    source = """
from .test_workflow import make_match
from tests.conftest import PERSONAS
from . import test_privacy
import tests.test_postings
from .factories import persona
from tests.apps import base_config

def late():
    from .test_postings import titles
"""
    assert cross_imports(TESTS / "probe.py", source) == [
        "probe.py:2 imports tests.test_workflow",
        "probe.py:3 imports tests.conftest",
        "probe.py:4 imports tests.test_privacy",
        "probe.py:5 imports tests.test_postings",
        "probe.py:10 imports tests.test_postings",
    ]
