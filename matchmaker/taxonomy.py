"""Industry (GB/T 4754-2017 divisions 13–43) and AI scenario taxonomies, loaded from data files."""

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Term:
    """One taxonomy entry with labels and synonyms in each language."""

    key: str
    labels: dict[str, str]
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    stage: str = ""  # scenarios only: the stage of manufacturing the scenario serves

    def label(self, locale: str = "en") -> str:
        """Return the label in the locale, falling back to English."""
        return self.labels.get(locale) or self.labels["en"]


def _load(name: str) -> list[dict]:
    """Read a taxonomy data file shipped in the package."""
    return json.loads(resources.files("matchmaker.data").joinpath(name).read_text("utf-8"))


@cache
def scenarios() -> dict[str, Term]:
    """Return the scenario catalogue by key, in catalogue order."""
    return {
        e["key"]: Term(e["key"], e["labels"], e.get("synonyms", {}), e.get("description", {}), e.get("stage", ""))
        for e in _load("scenarios.json")
    }


@cache
def industries() -> dict[str, Term]:
    """Return the manufacturing divisions by two-digit code."""
    return {e["code"]: Term(e["code"], e["labels"], e.get("synonyms", {})) for e in _load("industries.json")}


def scenario_choices(locale: str = "en") -> list[tuple[str, str]]:
    """Return (key, label) pairs for form fields, labelled in the locale."""
    return [(key, term.label(locale)) for key, term in scenarios().items()]


def industry_choices(locale: str = "en") -> list[tuple[str, str]]:
    """Return (code, label) pairs for form fields, labelled in the locale."""
    return [(code, f"{code} {term.label(locale)}") for code, term in industries().items()]
