"""Every text a person types has a length limit, and going over it gets a clear message and changes nothing."""

import importlib
import inspect
import pkgutil

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import Length

import matchmaker
from matchmaker.domain.postings import MAX_TEXT_LENGTH
from matchmaker.domain.workflow import MAX_NOTE_LENGTH
from matchmaker.extensions import db
from matchmaker.models import Demand, MatchEvent, MatchStatus

from .factories import demand_form, field_errors, make_match

TEXT_FIELDS = (StringField, TextAreaField, EmailField, PasswordField)
# Posting forms leave lengths to the domain, which checks them for the web, the importer and the API alike.
CHECKED_BY_THE_DOMAIN = {"DemandForm", "OfferingForm", "PostingForm"}


def form_classes() -> list[type[FlaskForm]]:
    """Return every form class the app defines."""
    found = {}
    for module in pkgutil.walk_packages(matchmaker.__path__, "matchmaker."):
        if module.name.endswith(".forms"):
            for _name, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
                if issubclass(cls, FlaskForm) and cls.__module__ == module.name:
                    found[cls.__qualname__] = cls
    return sorted(found.values(), key=lambda cls: cls.__qualname__)


def test_the_forms_are_found():
    names = {cls.__name__ for cls in form_classes()}
    assert {"LoginForm", "NoteForm", "InvitationForm", "ProfileForm"} <= names


@pytest.mark.parametrize(
    "form_class", [cls for cls in form_classes() if cls.__name__ not in CHECKED_BY_THE_DOMAIN], ids=lambda c: c.__name__
)
def test_every_text_field_has_a_maximum_length(app, form_class):
    with app.test_request_context():
        form = form_class(formdata=None)
        unbounded = [
            field.name
            for field in form
            if isinstance(field, TEXT_FIELDS)
            and not any(isinstance(v, Length) and v.max not in (None, -1) for v in field.validators)
        ]
    assert unbounded == [], f"{form_class.__name__}: no maximum length on {unbounded}"


def test_an_overlong_description_is_refused_with_a_clear_message(app, client, auth, personas):
    auth.login_as("manufacturer")
    response = client.post("/demands/new", data=demand_form(description="瑕" * (MAX_TEXT_LENGTH + 1)))
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "description") == [f"At most {MAX_TEXT_LENGTH} characters."]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Demand)) == 0


def test_an_overlong_decline_note_is_refused_and_changes_nothing(app, client, auth, personas):
    with app.app_context():
        match_id = make_match(MatchStatus.INTRODUCED).id
    auth.login_as("vendor")
    response = client.post(
        f"/matches/{match_id}/decline",
        data={"reason": "other", "note": "x" * (MAX_NOTE_LENGTH + 1)},
        follow_redirects=True,
    )
    assert f"At most {MAX_NOTE_LENGTH} characters." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchEvent)) == 0
