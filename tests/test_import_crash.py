"""A `matchmaker import` killed mid-way (SIGKILL) leaves all of the file's rows or none, and the index agrees.

The import runs as the real console script in its own process against the test's database; the test
reads its progress lines and kills it at a chosen point: while it is still checking rows (before the one
commit), and while it is embedding the committed rows (after it).
"""

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from matchmaker.extensions import db
from matchmaker.matching.engine import forget_engines, get_engine
from matchmaker.matching.service import INDEX_BATCH
from matchmaker.models import Demand, OrgKind, PostingStatus

from .factories import organization

ROWS = INDEX_BATCH + 500  # more than one batch: killed after the first is indexed
SCENARIO_TEXTS = [
    ("布面瑕疵视觉检测", "织机上的跳纱、破洞、污渍全靠人工看，想用相机和模型自动检出"),
    ("Kiln fault early warning", "Predict kiln faults from temperature curves before a batch is lost"),
    ("注塑參數優化", "注塑機良率不穩，希望用AI根據歷史數據自動調整參數"),
]


def _write_file(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "title", "description", "organization", "city"])
        for number in range(ROWS):
            title, description = SCENARIO_TEXTS[number % len(SCENARIO_TEXTS)]
            writer.writerow([f"CRASH-{number}", f"{title} #{number}", description, "Crash Test Works", "Foshan"])


def _kill_import_at(app, path: Path, marker: str) -> str:
    """Run `matchmaker import demands`, SIGKILL it once it prints a line containing marker; return its output."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MATCHMAKER_DATA_DIR": app.config["DATA_DIR"],
        "SECRET_KEY": "test",
        "PYTHONUNBUFFERED": "1",  # progress lines must reach the pipe as they are printed
    }
    script = Path(sys.executable).with_name("matchmaker")
    process = subprocess.Popen(
        [str(script), "import", "demands", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if marker in line:
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.stdout.close()
        process.wait(timeout=60)
    output = "".join(seen)
    assert process.returncode == -signal.SIGKILL, f"the import ended before {marker!r}:\n{output}"
    return output


def _imported(app) -> int:
    with app.app_context():
        db.session.remove()
        return db.session.scalar(sa.select(sa.func.count(Demand.id)).where(Demand.ref.like("CRASH-%")))


@pytest.fixture
def import_file(app, tmp_path):
    with app.app_context():
        organization("Crash Test Works", OrgKind.MANUFACTURER)
        get_engine(app).save_snapshot()  # an index snapshot from before the import, as a running site has
    path = tmp_path / "demands.csv"
    _write_file(path)
    yield path
    forget_engines()


@pytest.mark.slow
def test_killed_while_checking_rows_leaves_none(app, import_file):
    output = _kill_import_at(app, import_file, f"checked 500/{ROWS} rows")
    assert "created" not in output
    assert _imported(app) == 0


@pytest.mark.slow
def test_killed_while_indexing_leaves_all_and_the_next_start_indexes_them(app, import_file):
    output = _kill_import_at(app, import_file, f"indexed {INDEX_BATCH}/{ROWS}")
    assert "created" not in output  # killed before it could report
    assert _imported(app) == ROWS
    forget_engines()  # the next start of a process
    with app.app_context():
        engine = get_engine(app)
        published = set(db.session.scalars(sa.select(Demand.id).where(Demand.status == PostingStatus.PUBLISHED)))
        assert len(published) == ROWS
        assert engine.corpora["demand"].vectors.ids() == published == set(engine.facts["demand"])
