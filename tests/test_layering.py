"""Views stay thin: no views module reaches into the matching engine or into another views module."""

import ast
from pathlib import Path

import pytest

import matchmaker

PACKAGE_DIR = Path(matchmaker.__file__).resolve().parent
VIEWS = sorted(PACKAGE_DIR.glob("*/views.py"))


def module_name(path: Path) -> str:
    """Return the dotted module name of a file inside the matchmaker package."""
    return ".".join(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)


def imported_names(source: str, module: str) -> set[str]:
    """Return every absolute module (or module.name) a source imports, also inside functions."""
    package = module.split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            names.add(target)
            # `from .. import matching` or `from ..auth import views` name a module in the imported list.
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def forbidden(names: set[str], module: str) -> list[str]:
    """Return the imports a views module must not make: the matching engine, or views other than its own."""
    engine = [n for n in names if n == "matchmaker.matching" or n.startswith("matchmaker.matching.")]
    views = [
        n for n in names if n != module and any(part == "views" or part.endswith("_views") for part in n.split(".")[1:])
    ]
    return sorted({*engine, *views})


def test_views_modules_are_found():
    assert {"matchmaker.curation.views", "matchmaker.postings.views", "matchmaker.search.views"} <= {
        module_name(path) for path in VIEWS
    }


@pytest.mark.parametrize("path", VIEWS, ids=lambda path: path.parent.name)
def test_views_import_neither_the_engine_nor_other_views(path):
    module = module_name(path)
    assert forbidden(imported_names(path.read_text("utf-8"), module), module) == []


def test_the_check_sees_relative_late_and_module_imports():
    source = """
import matchmaker.matching.engine
from ..auth.views import safe_next
from .. import matching
from ..postings_views import PostingViews
from ..domain import curation
from .forms import NoteForm

def rematch():
    from ..matching.service import propose_for_demand
"""
    module = "matchmaker.curation.views"
    assert forbidden(imported_names(source, module), module) == [
        "matchmaker.auth.views",
        "matchmaker.auth.views.safe_next",
        "matchmaker.matching",
        "matchmaker.matching.engine",
        "matchmaker.matching.service",
        "matchmaker.matching.service.propose_for_demand",
        "matchmaker.postings_views",
        "matchmaker.postings_views.PostingViews",
    ]
