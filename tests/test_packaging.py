"""A wheel built from the working tree carries every file the app reads, and gives a working app installed alone.

The wheel is built from a clean copy of the working tree: setuptools reuses an earlier build's build/ and
*.egg-info, so a file dropped from the package data would still ship from a stale build in the checkout.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import pytest
import sqlalchemy as sa
from markupsafe import escape

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "matchmaker"
PROBE = Path(__file__).with_name("installed_app_probe.py")
# The folders of files the app reads at run time, by what they hold: the wheel must carry all they contain.
DATA_FOLDERS = {
    "templates": "templates",
    "seed data": "seed",
    "migrations": "migrations",
    "static files": "static",
    "taxonomy data": "data",
    "evaluation sets": "evaldata",
}
# Checked-in tools that work on a checkout; the installed app never runs them.
NOT_SHIPPED = {"evaldata/validate.py"}
BUILD_LEFTOVERS = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", "instance", ".*_cache"
)
TEMPLATE_LEAKS = ("{{", "{%", "Traceback", "UndefinedError", "TemplateSyntaxError", "jinja2")
PROBE_TIMEOUT = 1800  # the seed embeds ~100 postings and proposes matches with the default encoder


def source_files(folder: Path) -> set[str]:
    """Return the files under folder, relative to the package and without bytecode, that should ship."""
    files = {
        path.relative_to(PACKAGE).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    return files - NOT_SHIPPED


def run(args: list, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output if it fails."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def require_build_backend() -> None:
    """Fail clearly when the venv cannot build a wheel without build isolation."""
    if find_spec("setuptools") is None:
        pytest.fail("setuptools is not installed: pip install -e '.[test]'", pytrace=False)
    major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    # setuptools carries bdist_wheel itself since 70.1; before that the separate `wheel` package did.
    if (major, minor) < (70, 1) and find_spec("wheel") is None:
        pytest.fail(f"setuptools {version('setuptools')} needs the wheel package to build wheels", pytrace=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a clean copy of the working tree, with the venv's own setuptools."""
    require_build_backend()
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=BUILD_LEFTOVERS)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", work / "dist", source])
    built = sorted((work / "dist").glob("matchmaker-*.whl"))
    assert len(built) == 1, built
    return built[0]


@pytest.fixture(scope="module")
def wheel_files(wheel) -> set[str]:
    """Return the wheel's files under the package, relative to it."""
    with zipfile.ZipFile(wheel) as archive:
        return {name.removeprefix("matchmaker/") for name in archive.namelist() if name.startswith("matchmaker/")}


@pytest.mark.parametrize("folder", DATA_FOLDERS.values(), ids=DATA_FOLDERS.keys())
def test_the_wheel_carries_every_data_file_in_the_source_tree(folder, wheel_files):
    expected = source_files(PACKAGE / folder)
    assert expected, f"nothing found under matchmaker/{folder}: the test looks in the wrong place"
    missing = sorted(expected - wheel_files)
    assert not missing, f"not in the wheel (declare them in setup.cfg [options.package_data]): {missing}"


def test_the_wheel_carries_the_alembic_environment_and_every_migration(wheel_files):
    versions = source_files(PACKAGE / "migrations" / "versions")
    assert versions, "no migration versions found in the source tree"
    required = {"migrations/alembic.ini", "migrations/env.py", "migrations/script.py.mako", *versions}
    assert sorted(required - wheel_files) == []


def test_the_wheel_carries_every_file_of_the_package(wheel_files):
    # Catches a new data folder that nobody declared, beside the folders named above.
    missing = sorted(source_files(PACKAGE) - wheel_files)
    assert not missing, f"not in the wheel (declare them in setup.cfg [options.package_data]): {missing}"


@pytest.fixture
def database_url(tmp_path):
    """Return the URL of an empty database for the installed app: SQLite by default, PostgreSQL when tests run there."""
    base = os.environ.get("MATCHMAKER_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield None  # the app's own default: a SQLite file in its data directory
        return
    name = f"mm_packaging_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def probe_environment(site: Path, data_dir: Path, database_url: str | None) -> dict:
    """Return the environment of a deployment of the installed wheel, with nothing of the test run's settings."""
    settings = ("MATCHMAKER_", "FLASK_", "DATABASE_URL", "SECRET_KEY")
    env = {key: value for key, value in os.environ.items() if not key.startswith(settings)}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["MATCHMAKER_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def head_revision() -> str:
    """Return the newest migration in the source tree."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(PACKAGE / "migrations")).get_current_head()


def test_the_installed_wheel_migrates_seeds_serves_pages_and_finds_its_evaluation_sets(wheel, tmp_path, database_url):
    site, data_dir, outside = tmp_path / "site", tmp_path / "data", tmp_path / "elsewhere"
    outside.mkdir()
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", site, wheel])
    shutil.copy(PROBE, outside / PROBE.name)
    report_file = tmp_path / "report.json"
    run(
        [sys.executable, PROBE.name, report_file],
        cwd=outside,
        env=probe_environment(site, data_dir, database_url),
        timeout=PROBE_TIMEOUT,
    )
    report = json.loads(report_file.read_text("utf-8"))

    # The wheel's copy ran: not the checkout, neither by the path nor by the editable install's finder.
    assert Path(report["package"]).resolve() == (site / "matchmaker" / "__init__.py").resolve(), report["package"]
    assert not {str(ROOT), str(PACKAGE)} & {str(Path(p).resolve()) for p in report["sys_path"] if p}
    assert Path(report["data_dir"]).resolve() == data_dir.resolve()
    assert report["database"] == ("postgresql" if database_url else "sqlite")

    assert report["upgrade"]["exit_code"] == 0, report["upgrade"]
    assert report["revision"] == head_revision()
    assert report["seed"]["exit_code"] == 0, report["seed"]
    assert "new proposals" in report["seed"]["output"], report["seed"]["output"]

    pages = report["pages"]
    for path, shown in pages.items():
        assert shown["status"] == 200, f"{path}: {shown['status']}\n{shown['body'][:2000]}"
        leaks = [leak for leak in TEMPLATE_LEAKS if leak in shown["body"]]
        assert not leaks, f"{path} shows {leaks}"
    home = pages["/"]["body"]
    assert report["published_demands"] > 0
    assert f'<span class="stat-number">{report["published_demands"]}</span>' in home
    login = pages["/auth/login"]["body"]
    assert 'name="email"' in login and 'name="password"' in login and 'name="csrf_token"' in login
    assert pages["/static/style.css"]["body"] == (PACKAGE / "static" / "style.css").read_text("utf-8")

    assert report["login_status"] == 302, "the demo factory could not log in"
    demand = report["demand"]
    assert demand and demand["offerings"], "the seed proposed nothing for the demo factory's demands"
    shown = pages["demand"]["body"]
    assert str(escape(demand["title"])) in shown
    assert 'id="matches"' in shown and all(str(escape(title)) in shown for title in demand["offerings"])

    sets = report["evaluation_sets"]
    shipped = {p.name: p for p in (PACKAGE / "evaldata").iterdir() if (p / "qrels.tsv").is_file()}
    assert set(sets) == set(shipped) and len(shipped) >= 2, sets
    for name, found in sets.items():
        assert Path(found["folder"]).resolve() == (site / "matchmaker" / "evaldata" / name).resolve()
        assert found["files"] == sorted(p.name for p in shipped[name].iterdir())
        assert found["demands"] and found["offerings"] and found["judged"], found
