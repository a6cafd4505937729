"""The API tokens page: each signed-in person creates named tokens, sees each once, and revokes them."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import login_required
from ..domain import tokens
from ..domain.errors import DomainError, NotFound
from ..extensions import db
from ..forms import show_refusal
from .forms import RevokeForm, TokenForm

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


@bp.get("/")
@login_required
def index():
    """List the viewer's tokens with a form to create one."""
    return _page(TokenForm())


@bp.post("/")
@login_required
def create():
    """Create a token and show its secret this once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form), 400
    try:
        token, secret = tokens.create_token(_viewer(), form.name.data)
    except DomainError as error:
        db.session.rollback()
        show_refusal(form, error)
        return _page(form), 422
    return _page(TokenForm(formdata=None), new_token=token, secret=secret)


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke one of the viewer's tokens; it stops working at once."""
    if not RevokeForm().validate_on_submit():
        abort(400)
    try:
        token = tokens.revoke_token(_viewer(), token_id)
    except NotFound:
        abort(404)
    flash(_("Token “%(name)s” revoked.", name=token.name), "success")
    return redirect(url_for(".index"))


def _page(form: TokenForm, **context):
    """Render the tokens page."""
    return render_template(
        "tokens/index.html", form=form, revoke_form=RevokeForm(), tokens=tokens.tokens_of(_viewer()), **context
    )


def _viewer():
    return current_user._get_current_object()
