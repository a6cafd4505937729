"""The import job: check or commit one uploaded file, recording progress and the report on its row.

Progress is written through a connection of its own, so it never commits the rows the import is
staging in the session; each write is also the job's heartbeat (see `matchmaker.jobs`). A thread beats
every HEARTBEAT_SECONDS besides, so a job whose batch takes long (a busy machine, a slow model) is not
taken for dead and run a second time. Progress and heartbeats are best effort: a database busy for a
moment (SQLite locked by another writer) delays them and never fails the import.
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from ..domain.importing import ImportFailed, ImportFile, Problem, check_postings, import_postings
from ..domain.spreadsheets import Sheet, read_sheet
from ..extensions import db
from ..models import ImportJob, utcnow
from ..vocabulary import UI_LOCALES

UPLOADED, CHECKING, CHECKED, REFUSED, IMPORTING, DONE, FAILED = (
    "uploaded",
    "checking",
    "checked",
    "refused",
    "importing",
    "done",
    "failed",
)
RUNNING = (CHECKING, IMPORTING)
QUEUED, ROWS, EMBEDDING, PROPOSING = "queued", "rows", "embedding", "proposing"
STALE_AFTER = timedelta(minutes=2)  # a running job that has not reported progress for this long has died
HEARTBEAT_SECONDS = 20.0  # well inside STALE_AFTER
log = logging.getLogger(__name__)
REPORT_LIMIT = 1000  # problems kept per report; a file with more needs fixing as a whole anyway
INDEXED = re.compile(r"indexed (\d+)/(\d+)")


def upload_path(job: ImportJob) -> Path:
    """Return where the job's uploaded file is kept."""
    return Path(current_app.config["DATA_DIR"]) / "imports" / job.stored_name


def source_of(job: ImportJob) -> ImportFile:
    """Return how to read the job's file."""
    return ImportFile(
        upload_path(job), job.encoding, job.columns or None, current_app.config["MATCHMAKER_IMPORT_MAX_MB"]
    )


def read_upload(job: ImportJob) -> Sheet:
    """Return the job's file as a header and rows, in its chosen encoding; raise ImportFailed if unreadable."""
    source = source_of(job)
    return read_sheet(source.path, encoding=source.encoding, limit_mb=source.limit_mb)


def report_of(problems: list[Problem], warnings: list[Problem]) -> dict[str, Any]:
    """Return problems and warnings as stored: where, and what in each interface language."""
    return {
        "problems": [_stored(p) for p in problems[:REPORT_LIMIT]],
        "more_problems": max(0, len(problems) - REPORT_LIMIT),
        "warnings": [_stored(p) for p in warnings[:REPORT_LIMIT]],
    }


def _stored(problem: Problem) -> dict[str, Any]:
    """Return one problem with its message written in every interface language."""
    messages = {}
    for locale in UI_LOCALES:
        with force_locale(locale):
            messages[locale] = str(problem.message)
    return {"row": problem.row, "column": problem.column, "ref": problem.ref, "message": messages}


def record(job_id: int, **values) -> None:
    """Write progress (or any column) of a job at once, outside the import's own transaction."""
    with db.engine.begin() as connection:
        connection.execute(sa.update(ImportJob).where(ImportJob.id == job_id).values(updated_at=utcnow(), **values))


def record_progress(job_id: int, **values) -> None:
    """Write progress (or just the heartbeat) of a job if the database lets us now; a busy one only delays it."""
    try:
        record(job_id, **values)
    except sa.exc.OperationalError as error:  # e.g. SQLite locked by another writer past its timeout
        log.warning("progress of import job %s not recorded this time: %s", job_id, error)


@contextmanager
def heartbeat(job_id: int, seconds: float | None = None):
    """Beat the job's heartbeat from a thread of its own, every `seconds` (HEARTBEAT_SECONDS), while the block runs."""
    app = current_app._get_current_object()
    stop = threading.Event()
    seconds = seconds or HEARTBEAT_SECONDS

    def beat() -> None:
        while not stop.wait(seconds):
            with app.app_context():
                record_progress(job_id)

    thread = threading.Thread(target=beat, name=f"import-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _engine_progress(job_id: int):
    """Return a callback recording the engine's messages ("indexed 64/10000") as the job's progress."""

    def progress(text: str) -> None:
        found = INDEXED.search(text)
        if found:
            record_progress(job_id, phase=EMBEDDING, done=int(found[1]), total=int(found[2]))
        else:
            record_progress(job_id, phase=PROPOSING)

    return progress


def run_job(job_id: int) -> None:
    """Check or commit the job's file, as its status asks, and record the outcome on its row."""
    if not claim(job_id):
        return  # done already, taken by another worker, or never asked for
    job = db.session.get(ImportJob, job_id)
    committing = job.status == IMPORTING
    kind, source = job.kind, source_of(job)
    db.session.commit()  # end the read: the import stages in a transaction of its own
    on_row = lambda done, total: record_progress(job_id, phase=ROWS, done=done, total=total)  # noqa: E731
    try:
        with heartbeat(job_id):
            if committing:
                result = import_postings(kind, source, progress=_engine_progress(job_id), on_row=on_row)
            else:
                result = check_postings(kind, source, on_row=on_row)
    except ImportFailed as failure:
        db.session.rollback()
        record(
            job_id,
            status=FAILED if committing else REFUSED,
            phase="",
            report=report_of(failure.details, failure.warnings),
        )
        return
    outcome = {"created": result.created, "updated": result.updated, "proposals": result.proposals}
    if committing:
        outcome["ids"] = [p.id for p in result.postings]
    record(
        job_id, status=DONE if committing else CHECKED, phase="", report=report_of([], result.warnings), result=outcome
    )


def claim(job_id: int) -> bool:
    """Take a queued job for this worker, atomically: a task enqueued twice runs once."""
    with db.engine.begin() as connection:
        taken = connection.execute(
            sa.update(ImportJob)
            .where(ImportJob.id == job_id, ImportJob.status.in_(RUNNING), ImportJob.phase == QUEUED)
            .values(phase=ROWS, done=0, updated_at=utcnow())
        )
    return taken.rowcount == 1


def stale_jobs() -> list[int]:
    """Return the jobs left running whose heartbeat stopped, marking them queued again."""
    cutoff = utcnow() - STALE_AFTER
    query = sa.select(ImportJob.id).where(
        ImportJob.status.in_(RUNNING), ImportJob.phase != QUEUED, ImportJob.updated_at < cutoff
    )
    ids = list(db.session.scalars(query))
    for job_id in ids:
        record(job_id, phase=QUEUED)
    return ids


# ---------------------------------------------------------------- what the pages ask for


def new_job(user_id: int, kind: str, filename: str, save) -> ImportJob:
    """Record an uploaded file (save(path) writes it) as a job waiting for its mapping; commit."""
    import uuid

    job = ImportJob(user_id=user_id, kind=kind, filename=filename[:255], status=UPLOADED)
    job.stored_name = f"{uuid.uuid4().hex}{Path(filename).suffix.lower()}"
    upload_path(job).parent.mkdir(parents=True, exist_ok=True)
    save(upload_path(job))
    db.session.add(job)
    db.session.commit()
    return job


def ask(job: ImportJob, status: str) -> None:
    """Queue the job to be checked (CHECKING) or committed (IMPORTING); commit, then enqueue."""
    from ..jobs import enqueue

    job.status, job.phase, job.done, job.report = status, QUEUED, 0, {}
    db.session.commit()
    enqueue("import", job.id)
