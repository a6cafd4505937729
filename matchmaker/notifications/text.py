"""A notification's words in the reader's language of the moment, not the one it was sent in.

A notification keeps its message's English source (`msgid`) and its values (`params`); every value is what people
typed (titles, organisation and people's names) except `deadline`, a date, and an `org` of None, which stands for
"A curator". Notifications stored before show the text they were stored with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..models import Notification


def source_of(message) -> str:
    """Return the English source of a lazily translated message (what `_l()` was given)."""
    args = getattr(message, "_args", None)
    return str(args[0]) if args else str(message)


def notification_text(notification: Notification, mark: Callable | None = None):
    """Return a notification in the current locale, as text; or, given `mark`, as markup in which `mark` has
    wrapped each value people typed (pages mark them as user text)."""
    if not notification.msgid:
        return notification.message if mark is None else escape(notification.message)
    values = {}
    for name, value in (notification.params or {}).items():
        if name == "deadline":
            values[name] = format_date(date.fromisoformat(value), "medium") if value else ""
        elif name == "org" and value is None:
            values[name] = _("A curator")
        else:
            values[name] = value if mark is None else mark(value)
    template = _(notification.msgid)
    return template % values if mark is None else Markup(escape(template)) % values
