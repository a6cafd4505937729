"""Signals that decouple postings from the matching engine and the workflow from notifications."""

from blinker import Namespace

_signals = Namespace()

# Sent by domain.postings.announce after demands or offerings are committed, by the web (a list of one),
# imports and the seed alike, with `postings` (the list), `propose` (False: index only) and `progress`
# (a callable for status lines, or None). The matching engine indexes them and proposes matches.
postings_saved = _signals.signal("postings-saved")

# Sent with the match (as sender), event=, actor= and side= for each lifecycle step, inside its transaction
# and before it commits, so what receivers add commits or rolls back with the step. A receiver may return
# a callable: the workflow runs it once the step has committed (e.g. to send email), and never if it did not.
match_changed = _signals.signal("match-changed")
