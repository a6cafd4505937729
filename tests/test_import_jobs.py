"""Import jobs on huey: a queued job survives a restart, a job left running is taken up again, progress is kept."""

import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from matchmaker import create_app
from matchmaker.domain.importing import ImportResult
from matchmaker.extensions import db
from matchmaker.imports import tasks
from matchmaker.jobs import ThreadConsumer, recover_stale_jobs, start_consumer
from matchmaker.models import Demand, ImportJob, OrgKind, Role, utcnow

from .factories import make_user

ROWS = 250


@pytest.fixture
def app_config(app_config):
    """Queue jobs for a consumer (none runs until a test starts one), on a queue of this test's own."""
    return {**app_config, "MATCHMAKER_JOBS": "worker", "JOB_QUEUE_NAME": f"test-{uuid.uuid4().hex}"}


def _job(app, status=tasks.UPLOADED) -> int:
    """Upload a CSV of ROWS demands as the curator's job; return its id."""
    text = "ref,title,description\n" + "".join(
        f"J{n},Kiln watch {n},Warn before kiln {n} fails.\n" for n in range(ROWS)
    )
    with app.app_context():
        curator = make_user("curator@jobs.test", OrgKind.VENDOR, "Agency", Role.CURATOR)
        job = tasks.new_job(curator.id, "demand", "kilns.csv", lambda path: path.write_text(text, encoding="utf-8"))
        job.status = status
        db.session.commit()
        return job.id


def _wait_for(app, job_id: int, statuses: set[str], seconds: float = 60) -> ImportJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(ImportJob, job_id)
            if job.status in statuses:
                db.session.expunge(job)
                return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job.status}/{job.phase}")


@contextmanager
def _restarted(app_config):
    """Yield a new app on the same database and queue, as after a restart, with a consumer running."""
    restarted = create_app(app_config)
    consumer = start_consumer(restarted, ThreadConsumer)
    try:
        yield restarted
    finally:
        consumer.stop(graceful=True)
        with restarted.app_context():
            db.engine.dispose()  # its worker threads' connections, before the test's schema is dropped
        restarted.extensions["huey"].storage.close()


def test_a_queued_job_survives_a_restart(app, app_config):
    job_id = _job(app)
    with app.app_context():
        tasks.ask(db.session.get(ImportJob, job_id), tasks.CHECKING)
    time.sleep(0.5)
    with app.app_context():
        assert db.session.get(ImportJob, job_id).phase == tasks.QUEUED  # nobody consumes: it waits
    app.extensions["huey"].storage.close()  # the web process stops

    with _restarted(app_config) as restarted:
        job = _wait_for(restarted, job_id, {tasks.CHECKED, tasks.REFUSED})
    assert job.status == tasks.CHECKED, job.report
    assert (job.done, job.total) == (ROWS, ROWS) and len(job.result["created"]) == ROWS


def test_a_job_left_running_is_taken_up_again_and_completes(app, app_config):
    job_id = _job(app, status=tasks.IMPORTING)
    with app.app_context():  # its process died mid-way, minutes ago, and its task with it
        db.session.execute(
            sa.update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(phase=tasks.ROWS, done=100, updated_at=utcnow() - 2 * tasks.STALE_AFTER)
        )
        db.session.commit()
    with _restarted(app_config) as restarted:
        job = _wait_for(restarted, job_id, {tasks.DONE, tasks.FAILED}, seconds=120)
    assert job.status == tasks.DONE, job.report
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == ROWS


def test_a_running_job_with_a_heartbeat_is_left_alone(app):
    job_id = _job(app, status=tasks.IMPORTING)
    with app.app_context():
        tasks.record(job_id, phase=tasks.ROWS)
        assert recover_stale_jobs() == 0
        assert db.session.get(ImportJob, job_id).phase == tasks.ROWS


def test_a_task_enqueued_twice_runs_once(app, monkeypatch):
    job_id = _job(app, status=tasks.CHECKING)
    runs = []
    monkeypatch.setattr(tasks, "check_postings", lambda *a, **k: runs.append(1) or ImportResult())
    with app.app_context():
        tasks.record(job_id, phase=tasks.QUEUED)
        tasks.run_job(job_id)
        tasks.run_job(job_id)
    assert runs == [1]


def test_progress_is_recorded_while_rows_are_checked(app, monkeypatch):
    job_id = _job(app, status=tasks.CHECKING)
    seen = []
    record = tasks.record
    monkeypatch.setattr(tasks, "record", lambda job, **values: seen.append(values.get("done")) or record(job, **values))
    with app.app_context():
        tasks.record(job_id, phase=tasks.QUEUED)
        tasks.run_job(job_id)
        assert db.session.get(ImportJob, job_id).status == tasks.CHECKED
    assert [d for d in seen if d] == [100, 200, ROWS]


def test_a_long_batch_keeps_the_heartbeat_so_the_job_is_not_run_twice(app, monkeypatch):
    """No progress for longer than STALE_AFTER (a slow batch on a busy machine): the heartbeat thread keeps
    the job from being taken for dead and queued again while it still runs."""
    job_id = _job(app, status=tasks.CHECKING)
    monkeypatch.setattr(tasks, "STALE_AFTER", timedelta(seconds=0.6))
    monkeypatch.setattr(tasks, "HEARTBEAT_SECONDS", 0.1)
    requeued = []

    def slow_check(*args, **kwargs):
        time.sleep(1.5)  # no progress reported meanwhile
        with app.app_context():
            requeued.append(recover_stale_jobs())
        return ImportResult()

    monkeypatch.setattr(tasks, "check_postings", slow_check)
    with app.app_context():
        tasks.record(job_id, phase=tasks.QUEUED)
        tasks.run_job(job_id)
        assert db.session.get(ImportJob, job_id).status == tasks.CHECKED
    assert requeued == [0]


def test_a_busy_database_delays_progress_but_never_fails_the_import(app, monkeypatch):
    job_id = _job(app, status=tasks.CHECKING)
    record = tasks.record

    def busy(job, **values):
        if "status" not in values:  # progress and heartbeats: the database is locked just now
            raise sa.exc.OperationalError("UPDATE import_job", {}, Exception("database is locked"))
        record(job, **values)

    monkeypatch.setattr(tasks, "record", busy)
    with app.app_context():
        record(job_id, phase=tasks.QUEUED)
        tasks.run_job(job_id)
        assert db.session.get(ImportJob, job_id).status == tasks.CHECKED


def test_redis_queue_when_configured(app_config, tmp_path):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    from tests.apps import app_with_schema

    with app_with_schema({**app_config, "MATCHMAKER_REDIS_URL": url}) as app:
        assert type(app.extensions["huey"]).__name__ == "RedisHuey"
        job_id = _job(app)
        with app.app_context():
            tasks.ask(db.session.get(ImportJob, job_id), tasks.CHECKING)
        consumer = start_consumer(app, ThreadConsumer)
        try:
            assert _wait_for(app, job_id, {tasks.CHECKED, tasks.REFUSED}).status == tasks.CHECKED
        finally:
            consumer.stop(graceful=True)
            app.extensions["huey"].storage.flush_all()
            with app.app_context():
                db.engine.dispose()
