"""Search box: find published demands and offerings in any of the three languages."""

from flask import Blueprint, jsonify, render_template, request
from flask_babel import _

from ..access import login_required, wants_json
from ..vocabulary import DEMAND, OFFERING, POSTING_KINDS

bp = Blueprint("search", __name__, url_prefix="/search")
KINDS = {"all": POSTING_KINDS, "demands": (DEMAND,), "offerings": (OFFERING,)}
MAX_QUERY = 500


@bp.get("/")
@login_required
def search():
    """Show postings that fit the query, best first."""
    from ..matching.service import search as run_search

    query = request.args.get("q", "").strip()
    kind = request.args.get("kind", "all")
    problems = []
    if kind not in KINDS:
        problems.append(_("Unknown kind of posting; showing all."))
        kind = "all"
    if len(query) > MAX_QUERY:
        problems.append(_("The query was cut to %(n)d characters.", n=MAX_QUERY))
        query = query[:MAX_QUERY]
    hits = run_search(query, KINDS[kind]) if query else []
    if wants_json():
        return jsonify(
            query=query,
            results=[
                {
                    "kind": h.kind,
                    "id": h.posting.id,
                    "ref": h.posting.ref,
                    "title": h.posting.title,
                    "score": round(h.score, 4),
                }
                for h in hits
            ],
        )
    return render_template("search/results.html", query=query, kind=kind, hits=hits, problems=problems)
