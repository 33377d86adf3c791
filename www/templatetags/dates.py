"""The `date` filter, with a fast path for the numeric formats the pages use ("d/m/Y", "d/m/Y à H:i"...).

Registered as a template builtin (config/settings/base.py, TEMPLATES), it takes the place of Django's
`date` filter in every template. Django's filter formats through `DateFormat`, ~20 µs a value (the
caseload's 50 rows show 150 dates: ~3.5 ms of a page, docs/performance.md). A format made only of the
specifiers d, m, Y, H, i and s, and of characters that are not ASCII letters (spaces, slashes, "à"...), is
written here with `str.format`, with the zero-padding Django's `DateFormat` gives; every other format,
value or argument goes to Django's filter, so the output is always Django's
(tests/casework/test_date_filter.py compares them).
"""

import datetime
import functools
import string

from django import template
from django.template import defaultfilters

register = template.Library()

_FIELDS = {
    "d": "{0.day:02d}",
    "m": "{0.month:02d}",
    "Y": "{0.year:04d}",
    "H": "{0.hour:02d}",
    "i": "{0.minute:02d}",
    "s": "{0.second:02d}",
}
_TIME_FIELDS = frozenset("His")


@functools.lru_cache(maxsize=64)
def _compiled(format_string: str) -> tuple[str, bool] | None:
    """(a str.format pattern, whether it shows the time) for a format the fast path writes, else None."""
    pattern = []
    for char in format_string:
        if char in _FIELDS:
            pattern.append(_FIELDS[char])
        elif char in string.ascii_letters or char == "\\":
            return None  # another of Django's specifiers, or an escape: Django's filter writes it
        else:
            pattern.append(char.replace("{", "{{").replace("}", "}}"))
    return "".join(pattern), any(char in _TIME_FIELDS for char in format_string)


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    """Django's `date` filter (the value already in local time, as Django's, `expects_localtime`)."""
    if arg and isinstance(value, datetime.date):  # no format, or "": Django shows DATE_FORMAT
        compiled = _compiled(arg) if isinstance(arg, str) else None
        if compiled is not None:
            pattern, shows_time = compiled
            if isinstance(value, datetime.datetime) or not shows_time:
                return pattern.format(value)
    return defaultfilters.date(value, arg)
