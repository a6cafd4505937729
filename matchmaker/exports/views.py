"""Export routes: the posting and match lists, with the same filters and visibility, as CSV or XLSX."""

from datetime import date

from flask import Blueprint, Response, request
from flask_login import current_user

from ..access import login_required
from ..domain.filters import POSTING_LIST_STATUSES, Filters, visible_postings_query
from ..domain.matches import visible_matches
from ..extensions import db
from ..models import Demand, Offering
from ..spreadsheet import XLSX, csv_chunks, xlsx_bytes
from .tables import match_table, posting_table

bp = Blueprint("exports", __name__, url_prefix="/exports")
MODELS = {"demands": Demand, "offerings": Offering}
BATCH = 500  # rows loaded from the database at a time


def _viewer():
    """Return the signed-in user, or None for anonymous visitors."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def _download(name: str, fmt: str, header: list[str], rows) -> Response:
    """Answer with the table as a file download named after the list and today's date."""
    filename = f"{name}-{date.today().isoformat()}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        # Written whole: a streamed body would outlive the request's database session it reads from.
        body = "".join(csv_chunks(header, rows)).encode("utf-8")
        return Response(body, headers=disposition, content_type="text/csv; charset=utf-8")
    return Response(xlsx_bytes(name, header, rows), mimetype=XLSX, headers=disposition)


@bp.route("/<any(demands, offerings):kind>.<any(csv, xlsx):fmt>")
def postings(kind: str, fmt: str):
    """Export the postings the list page shows this viewer, with its filters, every page at once."""
    model = MODELS[kind]
    filters = Filters.from_args(request.args, statuses=POSTING_LIST_STATUSES)
    query = visible_postings_query(model, filters, _viewer()).execution_options(yield_per=BATCH)
    header, rows = posting_table(model, db.session.scalars(query), _viewer())
    return _download(kind, fmt, header, rows)


@bp.route("/matches.<any(csv, xlsx):fmt>")
@login_required
def matches(fmt: str):
    """Export the matches the viewer may see, filtered by status, with contacts only where they may see them."""
    user = current_user._get_current_object()
    query = visible_matches(user, request.args.get("status", ""), request.args.get("to_answer") == "1")
    header, rows = match_table(db.session.scalars(query), user)
    return _download("matches", fmt, header, rows)
