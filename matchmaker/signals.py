"""Signals that decouple postings from the matching engine and the workflow from notifications."""

from blinker import Namespace

_signals = Namespace()

# Sent after a demand or offering is committed; the matching engine re-indexes and proposes.
posting_saved = _signals.signal("posting-saved")

# Sent with the match (as sender), event=, actor= and side= for each lifecycle step, inside its transaction
# and before it commits, so what receivers add commits or rolls back with the step. A receiver may return
# a callable: the workflow runs it once the step has committed (e.g. to send email), and never if it did not.
match_changed = _signals.signal("match-changed")
