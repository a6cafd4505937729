"""MATCHMAKER_JOBS=process: the web process only enqueues; one niced, single-threaded child process consumes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from matchmaker import jobs
from matchmaker.extensions import db
from matchmaker.imports import tasks
from matchmaker.models import ImportJob, OrgKind, Role

from .factories import make_user

ROWS = 40


@pytest.fixture
def app_config(app_config, monkeypatch):
    """Jobs in a child process. It builds its app from the environment, which the parent gives the database,
    data directory and queue of its own configuration: nothing here points the environment at them."""
    for name in ("MATCHMAKER_DATA_DIR", "DATABASE_URL", "MATCHMAKER_JOBS"):
        monkeypatch.delenv(name, raising=False)
    return {**app_config, "MATCHMAKER_JOBS": "process"}


@pytest.fixture
def stop_children(app):
    """Stop the worker processes the test's app started, whatever the test's outcome."""
    yield
    jobs.stop_worker_processes(app)


def _wait(predicate, seconds: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _status(app, job_id: int) -> str:
    with app.app_context():
        return db.session.get(ImportJob, job_id).status


def _proc_field(pid: int, name: str) -> str:
    if name == "nice":
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return next((item.split(b"=", 1)[1].decode() for item in environ if item.startswith(name.encode() + b"=")), "")


def test_the_first_request_starts_one_worker_process_that_runs_the_jobs(app, client, stop_children):
    rows = (f"P{n},Kiln watch {n},Warn before kiln {n} fails.\n" for n in range(ROWS))
    text = "ref,title,description\n" + "".join(rows)
    with app.app_context():
        curator = make_user("curator@process.test", OrgKind.VENDOR, "Agency", Role.CURATOR)
        job = tasks.new_job(curator.id, "demand", "kilns.csv", lambda path: path.write_text(text, encoding="utf-8"))
        job_id = job.id
    assert not jobs.worker_process_running(app)

    client.get("/")
    children = app.extensions["huey_worker_processes"]
    assert len(children) == 1
    child = children[0]
    _wait(lambda: jobs.worker_process_running(app), what="the worker to take its lock")
    client.get("/")  # a later request, and another web process's check, start no second one
    assert jobs.ensure_worker_process(app) is None and len(children) == 1

    with app.app_context():
        tasks.ask(db.session.get(ImportJob, job_id), tasks.CHECKING)
    _wait(lambda: _status(app, job_id) not in tasks.RUNNING, what="the check")
    assert _status(app, job_id) == tasks.CHECKED
    assert "huey_consumer" not in app.extensions  # the web process consumed nothing itself
    assert child.poll() is None
    assert int(_proc_field(child.pid, "nice")) == min(19, os.nice(0) + 10)  # lowered: requests come first
    assert _proc_field(child.pid, "OMP_NUM_THREADS") == "1" and _proc_field(child.pid, "OPENBLAS_NUM_THREADS") == "1"


def test_a_second_exclusive_worker_exits_at_once(app, client, stop_children):
    client.get("/")
    _wait(lambda: jobs.worker_process_running(app), what="the worker to take its lock")
    second = subprocess.run(
        [sys.executable, "-m", "matchmaker.cli", "worker", "--exclusive"],
        env=jobs.worker_environment(app),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0 and "another job worker process holds this data directory" in second.stderr


def test_the_worker_stops_when_the_process_that_started_it_ends(app):
    command = f"{sys.executable} -m matchmaker.cli worker --exclusive --parent $$ & wait"
    parent = subprocess.Popen(["sh", "-c", command], env=jobs.worker_environment(app), start_new_session=True)
    try:
        _wait(lambda: jobs.worker_process_running(app), what="the worker to take its lock")
        os.kill(parent.pid, signal.SIGKILL)  # the web process dies; its child is left behind
        parent.wait()
        _wait(lambda: not jobs.worker_process_running(app), seconds=60, what="the orphaned worker to stop")
    finally:
        if _group_alive(parent.pid):
            os.killpg(parent.pid, signal.SIGKILL)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_web_starts_a_new_worker_when_the_last_one_died(app, client, stop_children):
    client.get("/")
    first = app.extensions["huey_worker_processes"][0]
    _wait(lambda: jobs.worker_process_running(app), what="the worker to take its lock")
    first.kill()
    first.wait()
    assert not jobs.worker_process_running(app)
    with app.app_context():
        curator = make_user("curator@process.test", OrgKind.VENDOR, "Agency", Role.CURATOR)
        job = tasks.new_job(curator.id, "demand", "one.csv", lambda p: p.write_text("ref,title,description\nA,B,C\n"))
        tasks.ask(job, tasks.CHECKING)  # enqueueing makes sure a worker runs
        job_id = job.id
    assert len(app.extensions["huey_worker_processes"]) == 2
    _wait(lambda: _status(app, job_id) not in tasks.RUNNING, what="the check")
    assert _status(app, job_id) == tasks.CHECKED
