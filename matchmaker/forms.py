"""What every form shares: showing a domain refusal on the fields it concerns, and select options."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice

from .domain.errors import DomainError
from .vocabulary import LANGUAGE_OF_LOCALE


def show_refusal(form: FlaskForm, error: DomainError) -> None:
    """Put each problem of a domain refusal next to its field, or above the form when no field fits."""
    for problem in error.errors:
        field = form._fields.get(problem.field) if problem.field else None
        if field is not None:
            field.errors = [*field.errors, problem.message]
        else:
            form.form_errors.append(problem.message)


def options(pairs, render_kw: dict | None = None) -> list[SelectChoice]:
    """Return select options from (value, label) pairs, or from a label mapping, each with the same attributes."""
    pairs = pairs.items() if isinstance(pairs, dict) else pairs
    return [SelectChoice(value, label, render_kw=render_kw) for value, label in pairs]


def user_options(pairs) -> list[SelectChoice]:
    """Return select options whose labels are what people typed (titles, names): marked as user text, like the
    `user_text` filter marks them on pages."""
    return options(pairs, render_kw={"data-user-content": True})


def language_options(labels: dict) -> list[SelectChoice]:
    """Return options naming languages in their own language (繁體中文, 简体中文, English), each marked with its
    `lang`, so readers of any interface language find theirs; an entry under no language tag keeps the page's."""
    return [
        SelectChoice(value, label, render_kw={"lang": LANGUAGE_OF_LOCALE.get(value, value)} if value else None)
        for value, label in labels.items()
    ]
