"""Tag postings with scenario categories and industries from multilingual synonyms."""

from __future__ import annotations

import re
from functools import cache

from .. import taxonomy
from .text import add_domain_words, normalize

KINDS = ("scenario", "industry")


@cache
def _vocabulary(kind: str) -> dict[str, list[str]]:
    """Each term's labels and synonyms, in all three languages, normalised into one script."""
    terms = taxonomy.scenarios() if kind == "scenario" else taxonomy.industries()
    found = {}
    for key, term in terms.items():
        words = {normalize(w) for w in [*term.labels.values(), *(s for v in term.synonyms.values() for s in v)]}
        found[key] = [w for w in sorted(words) if w]
    return found


@cache
def _taught() -> None:
    """Teach the segmenter every term's words, once per process."""
    add_domain_words([w for kind in KINDS for words in _vocabulary(kind).values() for w in words])


def _words(kind: str) -> dict[str, list[str]]:
    """Each term's words (see _vocabulary), with the segmenter taught them."""
    _taught()
    return _vocabulary(kind)


@cache
def _patterns(kind: str) -> dict[str, list[re.Pattern]]:
    """Compile each term's words."""
    return {key: [_pattern(w) for w in words] for key, words in _words(kind).items()}


def _is_latin(word: str) -> bool:
    return bool(re.search(r"[a-z0-9]", word)) and not re.search(r"[\u3400-\u9fff]", word)


def _pattern(word: str) -> re.Pattern:
    """Match Chinese words anywhere, and Latin words only at word boundaries."""
    if _is_latin(word):
        return re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?:s|es)?(?![a-z0-9])")
    return re.compile(re.escape(word))


@cache
def _screens(kind: str) -> dict[str, list[tuple[str, re.Pattern | None]]]:
    """Each term's words with the pattern that confirms a Latin word's boundaries (None for Chinese).

    A pattern can only match where its word occurs, and a substring test is far cheaper than a regex
    search, so tagging tests the word first and runs the pattern only for Latin words found there.
    """
    return {
        key: [(w, p if _is_latin(w) else None) for w, p in zip(_words(kind)[key], patterns)]
        for key, patterns in _patterns(kind).items()
    }


@cache
def _by_opening(kind: str) -> tuple[dict[str, int], dict[str, list[tuple[str, str, re.Pattern | None]]]]:
    """Each of the kind's keys → its place in taxonomy order, and each (key, word, pattern) filed under the
    word's first two characters.

    A word can only occur where the text holds its first two characters, so tagging looks up the
    text's own character pairs instead of testing every word of the taxonomy against the text.
    """
    opening: dict[str, list[tuple[str, str, re.Pattern | None]]] = {}
    for key, screens in _screens(kind).items():
        for word, pattern in screens:
            opening.setdefault(word[:2], []).append((key, word, pattern))
    return {key: place for place, key in enumerate(_screens(kind))}, opening


def _pairs(norm: str) -> set[str]:
    """The text's pairs of consecutive characters."""
    return {norm[i : i + 2] for i in range(len(norm) - 1)}


def _tag_normalized(kind: str, norm: str, minimum_hits: int = 1, pairs: set[str] | None = None) -> list[str]:
    """Return the keys whose words occur in normalised text, most hits first (ties in taxonomy order)."""
    order, opening = _by_opening(kind)
    hits: dict[str, int] = {}
    for pair in (_pairs(norm) if pairs is None else pairs) & opening.keys():
        for key, word, pattern in opening[pair]:
            if word in norm and (pattern is None or pattern.search(norm)):
                hits[key] = hits.get(key, 0) + 1
    return sorted((k for k, n in hits.items() if n >= minimum_hits), key=lambda k: (-hits[k], order[k]))


def _tag(kind: str, text: str, minimum_hits: int = 1) -> list[str]:
    """Return the keys whose words occur in the text, most hits first."""
    return _tag_normalized(kind, normalize(text), minimum_hits)


def tag_text(text: str) -> tuple[list[str], list[str]]:
    """Return the scenario keys and the industry codes the text speaks of, normalising it once."""
    norm = normalize(text)
    pairs = _pairs(norm)
    return _tag_normalized("scenario", norm, pairs=pairs), _tag_normalized("industry", norm, pairs=pairs)


def tag_scenarios(text: str) -> list[str]:
    """Return the scenario keys the text speaks of."""
    return _tag("scenario", text)


def tag_industries(text: str) -> list[str]:
    """Return the industry division codes the text speaks of."""
    return _tag("industry", text)


def scenario_words_in(text: str, key: str) -> list[str]:
    """Return which of a scenario's words occur in the text, for explanations."""
    norm = normalize(text)
    return [p.pattern for p in _patterns("scenario").get(key, []) if p.search(norm)]


def warm_up() -> None:
    """Compile the patterns and teach the segmenter the domain words."""
    _by_opening("scenario")
    _by_opening("industry")
