"""Searching names typed by hand, whatever their accents and case, on SQLite and PostgreSQL alike.

Each word typed is folded (no accents, lower case) and turned into a regular expression where every
letter stands for itself and its accented forms in both cases (« helene » and « Hélène » both give
`h[eéèêë…EÉÈÊË…]l[…]n[…]`), matched with Django's `iregex` lookup. It serves short lists of names (the
people and structures of the note and sharing forms' pickers, a few thousand rows at most): no index helps
a `~*` on PostgreSQL, and none is needed at that size.
"""

import re
import unicodedata
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

MIN_LENGTH = 2
MAX_LENGTH = 100
# Words beyond these are ignored: a name has a few, and each is a condition on every column searched.
MAX_WORDS = 5

_WORD_SEPARATORS = re.compile(r"\W+")


def fold(text: str) -> str:
    """Lower-case text without accents ("Hélène" gives "helene")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _accented_forms() -> dict[str, str]:
    """Each ASCII letter with the letters of Latin-1 and Latin Extended-A that fold to it, in both cases."""
    forms = {letter: letter + letter.upper() for letter in "abcdefghijklmnopqrstuvwxyz"}
    for code in range(0xC0, 0x180):
        character = chr(code)
        base = fold(character)
        if len(base) == 1 and base in forms and character not in forms[base]:
            forms[base] += character
    return forms


ACCENTED_FORMS = _accented_forms()


def words(term: str) -> list[str]:
    """The folded words of a typed term (punctuation separates them: "jean-pierre" is two words)."""
    return [word for word in _WORD_SEPARATORS.split(fold(term[:MAX_LENGTH])) if word][:MAX_WORDS]


def is_long_enough(term: str) -> bool:
    """At least MIN_LENGTH letters or digits: a shorter term would match most of any list."""
    return len("".join(words(term))) >= MIN_LENGTH


def word_pattern(word: str) -> str:
    """A regular expression matching the folded word in any text, with or without its accents."""
    return "".join(f"[{ACCENTED_FORMS[c]}]" if c in ACCENTED_FORMS else re.escape(c) for c in word)


def matching_words(queryset: QuerySet, term: str, fields: tuple[str, ...]) -> QuerySet:
    """Rows where every word of the term appears in one of the fields, accents and case aside."""
    for word in words(term):
        pattern = word_pattern(word)
        queryset = queryset.filter(reduce(or_, (Q(**{f"{field}__iregex": pattern}) for field in fields)))
    return queryset
