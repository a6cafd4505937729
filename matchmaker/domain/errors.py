"""Domain failures that views turn into form errors, flashes or JSON errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _


@dataclass(frozen=True)
class FieldError:
    """One rule an input breaks: the field it concerns (None for the input as a whole) and why."""

    field: str | None
    message: str


class DomainError(Exception):
    """Base class: a request the domain refuses, with a message for people."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def errors(self) -> list[FieldError]:
        """Return every problem this refusal carries; most refusals carry one."""
        return [FieldError(self.field, self.message)]


class ValidationFailed(DomainError):
    """Input that breaks rules of the domain; carries every problem found, the first as message and field."""

    def __init__(self, message: str | None = None, field: str | None = None, *, errors: Sequence[FieldError] = ()):
        errors = list(errors) or [FieldError(field, message)]
        super().__init__(errors[0].message, errors[0].field)
        if len(errors) > 1:  # str() names every problem, so logs and pytest.raises(match=) see them all
            self.args = ("; ".join(str(e.message) for e in errors),)
        self._errors = errors

    @property
    def errors(self) -> list[FieldError]:
        """Return every problem found, in the order the rules were checked."""
        return list(self._errors)


class PermissionDenied(DomainError):
    """The actor may not do this."""

    status_code = 403


class NotFound(DomainError):
    """The thing asked for does not exist."""

    status_code = 404


class IllegalTransition(DomainError):
    """A state change that the lifecycle does not allow from the current state."""

    status_code = 409


class Unavailable(DomainError):
    """A service the request needs is not available on this server."""

    status_code = 503


def matching_unavailable(model: str, reason: str) -> Unavailable:
    """Return the refusal people see while the embedding model cannot be loaded, saying which and why."""
    return Unavailable(
        _(
            "Matching is unavailable: the embedding model %(model)s could not be loaded (%(reason)s). "
            "Postings are saved and will be matched once it loads.",
            model=model,
            reason=reason,
        )
    )
