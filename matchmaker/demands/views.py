"""Pages for manufacturers' demands: list, post, read, edit, publish, close."""

from flask import Blueprint

from ..access import manufacturer_required
from ..domain.postings import create_demand, update_demand
from ..models import Demand
from ..postings_views import PostingViews
from .forms import DemandForm

bp = Blueprint("demands", __name__, url_prefix="/demands")

PostingViews(
    model=Demand,
    form_class=DemandForm,
    create=create_demand,
    update=update_demand,
    poster_required=manufacturer_required,
    templates="demands",
).register(bp)
