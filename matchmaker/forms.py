"""What every form shares: showing a domain refusal on the fields it concerns."""

from flask_wtf import FlaskForm

from .domain.errors import DomainError


def show_refusal(form: FlaskForm, error: DomainError) -> None:
    """Put each problem of a domain refusal next to its field, or above the form when no field fits."""
    for problem in error.errors:
        field = form._fields.get(problem.field) if problem.field else None
        if field is not None:
            field.errors = [*field.errors, problem.message]
        else:
            form.form_errors.append(problem.message)
