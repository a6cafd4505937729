"""Domain failures that views turn into form errors, flashes or JSON errors."""


class DomainError(Exception):
    """Base class: a request the domain refuses, with a message for people."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    """Input that breaks a rule of the domain."""


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
