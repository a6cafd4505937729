"""Find terms in a text in the text's own script, and split the text into plain and marked segments.

Terms are compared the way the index compares them (NFKC, Simplified Chinese, lower case), so the
Simplified term 缺陷检测 finds 缺陷檢測 in a Traditional text; the segments keep the text as written.
Segments are plain strings: the template escapes each one, then wraps the marked ones in <mark>.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ..matching.text import normalize, to_simplified

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Segment:
    """A run of a text, marked when it is a matched term."""

    text: str
    marked: bool = False


class FoldedText:
    """A text folded for comparison, remembering which character of the original each folded one came from."""

    def __init__(self, text: str):
        self.text = text or ""
        pieces = [unicodedata.normalize("NFKC", char).lower() for char in self.text]
        self.origin = [i for i, piece in enumerate(pieces) for _ in piece]
        folded = "".join(pieces)
        simplified = to_simplified(folded)
        # A phrase conversion that changes the length would shift every offset: convert char by char instead.
        self.folded = simplified if len(simplified) == len(folded) else "".join(_one_to_one(c) for c in folded)

    def spans(self, term: str) -> list[tuple[int, int]]:
        """Return the (start, end) offsets in the original text of every occurrence of the term."""
        found = [(m.start(), m.end()) for m in _term_pattern(term).finditer(self.folded)]
        return [(self.origin[start], self.origin[end - 1] + 1) for start, end in found if end > start]

    def contains(self, term: str) -> bool:
        """Return whether the term occurs in the text (stopping at the first occurrence)."""
        return any(m.end() > m.start() for m in _term_pattern(term).finditer(self.folded))

    def segments(self, terms: Iterable[str]) -> list[Segment]:
        """Return the text as segments, the occurrences of any term marked."""
        spans = _merged(span for term in dict.fromkeys(terms) if term for span in self.spans(term))
        segments, position = [], 0
        for start, end in spans:
            if start > position:
                segments.append(Segment(self.text[position:start]))
            segments.append(Segment(self.text[start:end], marked=True))
            position = end
        if position < len(self.text):
            segments.append(Segment(self.text[position:]))
        return segments


def highlight(text: str, terms: Iterable[str]) -> list[Segment]:
    """Return the text as segments with every occurrence of the terms marked, in the text's own script."""
    return FoldedText(text).segments(terms)


def _one_to_one(char: str) -> str:
    """Return a character's Simplified form if it is one character, else the character itself."""
    converted = to_simplified(char)
    return converted if len(converted) == 1 else char


@lru_cache(maxsize=8192)  # the taxonomy's words are looked up in every text of every decision page
def _term_pattern(term: str) -> re.Pattern:
    """The pattern of a term as written, folded once (folding runs OpenCC, the page's main cost when uncached)."""
    return _pattern(normalize(term))


@lru_cache(maxsize=8192)
def _pattern(term: str) -> re.Pattern:
    """Match a Chinese term anywhere, a Latin term as a whole word with its plural forms."""
    if _CJK.search(term) or not term:
        return re.compile(re.escape(term))
    stem = re.escape(term[:-1]) + "(?:y|ies)" if term.endswith("y") else re.escape(term) + "(?:s|es)?"
    return re.compile(rf"(?<![a-z0-9]){stem}(?![a-z0-9])")


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return spans sorted, with overlapping or touching ones joined."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]
