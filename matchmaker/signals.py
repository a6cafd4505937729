"""Signals that decouple postings from the matching engine, and the workflow and memberships from notifications."""

from blinker import Namespace

_signals = Namespace()

# Sent by domain.postings.announce after demands or offerings are committed, by the web (a list of one),
# imports and the seed alike, with `postings` (the list), `propose` (False: index only) and `progress`
# (a callable for status lines, or None). The matching engine indexes them and proposes matches.
postings_saved = _signals.signal("postings-saved")

# Sent by domain.postings.expect before a bulk job (an import) checks its rows, with `texts`: each row's
# posting text as matching.text.posting_text builds it. A receiver may return a context manager, which the
# job holds open until its postings are announced or it fails: the matching engine embeds the texts
# meanwhile, in a child process.
postings_coming = _signals.signal("postings-coming")

# Sent with the match (as sender), event=, actor= and side= for each lifecycle step, inside its transaction
# and before it commits, so what receivers add commits or rolls back with the step. A receiver may return
# a callable: the workflow runs it once the step has committed (e.g. to send email), and never if it did not.
match_changed = _signals.signal("match-changed")

# Sent by domain.memberships with the organisation (as sender), step= (a vocabulary.MembershipStep), actor=
# (who acted, or None), user= (the person the step is about: who asked, joined or was removed; None for an
# invitation), and for invitations invitation= and token= (needed for the link; only its hash is stored).
# Like match_changed it is sent inside the step's transaction; a receiver may return a callable to run once
# the step has committed. A join request is filed inside its caller's transaction (registration), so its
# receivers get no such callable run and must add rows only.
membership_changed = _signals.signal("membership-changed")
