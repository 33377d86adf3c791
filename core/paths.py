"""`reverse()` for the links a page writes once per row: the path reversed once, the ids written in.

`reverse()` costs ~17 µs, `{% url %}` ~40 µs: the caseload's 50 rows and the file page's timeline (up to
three links per item) spent 1–2 ms each on them (docs/performance.md). `path_to(name, *args)` gives the same
path as `reverse(name, args=args)` when every argument is a UUID or a slug, from a path reversed once per
URL name, script prefix and URLconf with placeholders in their places; any other argument goes to
`reverse()`.
"""

import functools
import re
import uuid

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def _placeholder(index: int, kind: str) -> str:
    # Neither can appear elsewhere in a path of ours: UUIDs no row has, and a slug of our own.
    return str(uuid.UUID(int=index + 1)) if kind == "uuid" else f"zzplaceholder{index}zz"


@functools.lru_cache(maxsize=256)
def _pieces(name: str, kinds: tuple[str, ...], prefix: str, urlconf) -> tuple[str, ...] | None:
    """The path's text around its arguments: len(kinds) + 1 pieces (None if a placeholder is not found
    exactly once, in order)."""
    placeholders = [_placeholder(index, kind) for index, kind in enumerate(kinds)]
    try:
        path = reverse(name, args=placeholders, urlconf=urlconf)
    except NoReverseMatch:  # e.g. an id given as text where the path takes a UUID: reverse() decides
        return None
    pieces = []
    for placeholder in placeholders:
        if path.count(placeholder) != 1:
            return None
        head, path = path.split(placeholder)
        pieces.append(head)
    pieces.append(path)
    return tuple(pieces)


def path_to(name: str, *args) -> str:
    """`reverse(name, args=args)`, written from a path reversed once when the arguments are UUIDs or slugs."""
    kinds = []
    texts = []
    for arg in args:
        if isinstance(arg, uuid.UUID):
            kinds.append("uuid")
            texts.append(str(arg))
        elif isinstance(arg, str) and _SLUG.fullmatch(arg):
            kinds.append("slug")
            texts.append(arg)
        else:
            return reverse(name, args=args)
    pieces = _pieces(name, tuple(kinds), get_script_prefix(), get_urlconf())
    if pieces is None:
        return reverse(name, args=args)
    return "".join(piece + text for piece, text in zip(pieces, [*texts, ""], strict=True))
