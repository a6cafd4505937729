"""Signals that decouple postings from the matching engine and the workflow from notifications."""

from blinker import Namespace

_signals = Namespace()

# Sent after a demand or offering is committed; the matching engine re-indexes and proposes.
posting_saved = _signals.signal("posting-saved")
