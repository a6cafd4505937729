"""Search box: find published demands and offerings in any of the three languages."""

from flask import Blueprint, jsonify, render_template, request
from flask_babel import _

from ..access import login_required, wants_json
from ..domain.errors import Unavailable
from ..domain.search import KINDS, MAX_QUERY, search_postings

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.get("/")
@login_required
def search():
    """Show postings that fit the query, best first."""
    query = request.args.get("q", "").strip()
    kind = request.args.get("kind", "all")
    problems = []
    if kind not in KINDS:
        problems.append(_("Unknown kind of posting; showing all."))
        kind = "all"
    if len(query) > MAX_QUERY:
        problems.append(_("The query was cut to %(n)d characters.", n=MAX_QUERY))
        query = query[:MAX_QUERY]
    try:
        hits = search_postings(query, kind)
    except Unavailable as refusal:
        if wants_json():
            return jsonify(error={"code": "matching_unavailable", "message": refusal.message, "details": {}}), 503
        hits = []  # every page says why, in the banner base.html shows while matching is unavailable
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
