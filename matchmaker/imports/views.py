"""Import pages for curators and admins: upload → map the columns → check the rows → commit → result.

Checking and committing run as background jobs (`matchmaker.jobs`); the pages show their progress.
"""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..access import curator_required
from ..domain import mapping
from ..domain.errors import DomainError
from ..domain.spreadsheets import ImportFailed, check_size
from ..extensions import db
from ..models import ColumnMapping, ImportJob
from ..vocabulary import DEMAND, IMPORT_PHASE_LABELS, IMPORT_STATUS_LABELS, POSTING_KIND_LABELS
from . import tasks
from .forms import CommitForm, MappingForm, UploadForm

bp = Blueprint("imports", __name__, url_prefix="/imports")
PREVIEW_ROWS = 5
RECENT_JOBS = 20


@bp.app_template_filter("import_status_label")
def import_status_label(status: str) -> str:
    """Return an import job's status in the reader's language."""
    return str(IMPORT_STATUS_LABELS.get(status, status))


@bp.app_template_filter("import_phase_label")
def import_phase_label(phase: str) -> str:
    """Return a running import's phase in the reader's language."""
    return str(IMPORT_PHASE_LABELS.get(phase, phase))


@bp.app_template_filter("import_kind_label")
def import_kind_label(kind: str) -> str:
    """Return what an import lists, demands or offerings, in the reader's language."""
    return str(POSTING_KIND_LABELS.get(kind, kind))


@bp.route("/", methods=["GET", "POST"])
@curator_required
def index():
    """Upload a file to import, and list the recent imports."""
    form = UploadForm()
    if form.validate_on_submit():
        job = _receive(form)
        if job is not None:
            return redirect(url_for(".show", id=job.id))
    jobs = db.session.scalars(db.select(ImportJob).order_by(ImportJob.id.desc()).limit(RECENT_JOBS))
    return render_template("imports/index.html", form=form, jobs=list(jobs))


def _receive(form: UploadForm) -> ImportJob | None:
    """Keep the uploaded file as a new job, or say on the form why it is refused (before reading it)."""
    upload = form.file.data
    try:
        upload.stream.seek(0, 2)
        check_size(upload.stream.tell(), current_app.config["MATCHMAKER_IMPORT_MAX_MB"])
        upload.stream.seek(0)
        job = tasks.new_job(current_user.id, form.kind.data, upload.filename or "upload", upload.save)
    except ImportFailed as failure:
        form.file.errors.append(str(failure.details[0].message))
        return None
    finally:
        upload.close()
    job.encoding = form.encoding.data or ""
    db.session.commit()
    return job


def _job_or_404(id: int) -> ImportJob:
    """Return the import job, or answer 404."""
    return db.session.get(ImportJob, id) or abort(404)


def _preview(job: ImportJob, saved: ColumnMapping | None):
    """Return the sheet's header, first rows and suggested columns, or the problems reading it."""
    try:
        sheet = tasks.read_upload(job)
    except ImportFailed as failure:
        return None, [], {}, failure.details
    columns = mapping.suggest(sheet.header, job.kind, saved.columns if saved else job.columns)
    return sheet, sheet.rows[:PREVIEW_ROWS], columns, []


@bp.route("/<int:id>")
@curator_required
def show(id: int):
    """Show an import where it stands: its mapping and preview, its progress, its report or its result."""
    job = _job_or_404(id)
    saved_mappings = mapping.visible_mappings(current_user, job.kind)
    chosen = next((m for m in saved_mappings if str(m.id) == request.args.get("mapping")), None)
    sheet, preview, columns, reading = (None, [], {}, [])
    if job.status in (tasks.UPLOADED, tasks.REFUSED, tasks.CHECKED):
        sheet, preview, columns, reading = _preview(job, chosen)
    form = MappingForm(encoding=job.encoding, mapping=str(chosen.id) if chosen else "")
    form.mapping.choices = [("", "—")] + [(str(m.id), m.name) for m in saved_mappings]
    return render_template(
        "imports/show.html",
        job=job,
        sheet=sheet,
        preview=preview,
        columns=columns,
        reading=reading,
        form=form,
        commit_form=CommitForm(),
        import_columns=mapping.import_columns(job.kind),
        locale=str(get_locale()),
        detail_endpoint="demands.detail" if job.kind == DEMAND else "offerings.detail",
    )


@bp.route("/<int:id>/check", methods=["POST"])
@curator_required
def check(id: int):
    """Take the confirmed mapping (saving it if asked) and queue the rows to be checked."""
    job = _job_or_404(id)
    form = MappingForm()
    form.mapping.choices = []
    if job.status in tasks.RUNNING or job.status == tasks.DONE or not form.validate_on_submit():
        flash(_("This import cannot be checked now."), "error")
        return redirect(url_for(".show", id=id))
    job.encoding = form.encoding.data or ""
    try:
        header = tasks.read_upload(job).header
    except ImportFailed:
        db.session.commit()  # keep the encoding chosen; the page says again what is wrong
        return redirect(url_for(".show", id=id))
    columns = {name: request.form.get(f"column-{i}", "") for i, name in enumerate(header)}
    if form.save_as.data:
        try:
            mapping.save_mapping(current_user, job.kind, form.save_as.data, columns, form.shared.data)
        except (DomainError, ImportFailed) as error:
            db.session.rollback()
            flash(_("The mapping was not saved: %(why)s", why=_why(error)), "error")
    job.columns = columns
    tasks.ask(job, tasks.CHECKING)
    return redirect(url_for(".show", id=id))


def _why(error: Exception) -> str:
    """Return what a refusal says, for a flash message."""
    if isinstance(error, ImportFailed):
        return " ".join(str(p.message) for p in error.details)
    return str(error.message)


@bp.route("/<int:id>/commit", methods=["POST"])
@curator_required
def commit(id: int):
    """Queue a checked import to be written, all rows or none."""
    job = _job_or_404(id)
    if job.status != tasks.CHECKED or not CommitForm().validate_on_submit():
        flash(_("Only a checked import without problems can be committed."), "error")
        return redirect(url_for(".show", id=id))
    tasks.ask(job, tasks.IMPORTING)
    return redirect(url_for(".show", id=id))
