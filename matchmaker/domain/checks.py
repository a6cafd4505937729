"""Checks every writer of free text shares."""

from __future__ import annotations

from typing import Any


def contains_nul(value: Any) -> bool:
    """Return whether a text, or any text in a list, holds the NUL character, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False
