"""Pages for AI vendors' offerings: list, post, read, edit, publish, close."""

from flask import Blueprint

from ..access import vendor_required
from ..domain.postings import create_offering, update_offering
from ..models import Offering
from ..postings_views import PostingViews
from .forms import OfferingForm

bp = Blueprint("offerings", __name__, url_prefix="/offerings")

PostingViews(
    model=Offering,
    form_class=OfferingForm,
    create=create_offering,
    update=update_offering,
    poster_required=vendor_required,
    templates="offerings",
).register(bp)
