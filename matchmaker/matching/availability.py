"""Whether this process can match: the embedding model loads, or why it did not.

Kept apart from the engine so that every page can ask, cheaply, without importing faiss or the encoders.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)
RETRY_SECONDS = 60  # a model that failed to load is tried again after this long, not on every request
_failures: dict[tuple, tuple[float, str]] = {}  # engine key → (when loading failed, why)


class MatchingUnavailable(Exception):
    """The embedding model could not be loaded, so this process cannot index, propose or search."""

    def __init__(self, model: str, reason: str):
        super().__init__(f"embedding model {model!r} could not be loaded: {reason}")
        self.model, self.reason = model, reason


def engine_key(app) -> tuple:
    """Return what an engine is made from: the model and its prompts, the data directory and the database."""
    config = app.config
    return (
        config["MATCHMAKER_EMBEDDING_MODEL"],
        config["MATCHMAKER_QUERY_PROMPT"],
        config["MATCHMAKER_DOCUMENT_PROMPT"],
        config["DATA_DIR"],
        config["SQLALCHEMY_DATABASE_URI"],
    )


def refuse_until_retry(key: tuple, model: str) -> None:
    """Raise MatchingUnavailable if loading this model failed less than RETRY_SECONDS ago."""
    failed = _failures.get(key)
    if failed is not None and time.monotonic() - failed[0] < RETRY_SECONDS:
        raise MatchingUnavailable(model, failed[1])


def record_failure(key: tuple, model: str, error: Exception) -> MatchingUnavailable:
    """Remember and log why the model did not load; return the exception to raise."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    _failures[key] = (time.monotonic(), reason)
    log.error(
        "matching unavailable: embedding model %r could not be loaded (%s); retrying in %ds",
        model,
        reason,
        RETRY_SECONDS,
    )
    return MatchingUnavailable(model, reason)


def record_success(key: tuple, model: str) -> None:
    """Forget an earlier failure to load this model, saying so if there was one."""
    if _failures.pop(key, None) is not None:
        log.warning("matching available again: embedding model %r loaded", model)


def unavailable_reason(app) -> MatchingUnavailable | None:
    """Return why matching is unavailable in this process, if loading its model failed; never loads it."""
    failed = _failures.get(engine_key(app))
    return MatchingUnavailable(app.config["MATCHMAKER_EMBEDDING_MODEL"], failed[1]) if failed else None


def forget_failures() -> None:
    """Forget every recorded failure."""
    _failures.clear()
