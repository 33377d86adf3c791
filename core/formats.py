"""Quantities as French readers write them."""

# French units of file sizes, each 1,024 times the one before (as Django's filesizeformat counts, whose
# French translation writes "Kio", "Mio": the binary prefixes nobody reads on a French screen).
SIZE_UNITS = ("Ko", "Mo", "Go", "To")
# Between a number and its unit, a non-breaking space: the unit never starts a line on its own.
NBSP = "\u00a0"


def _decimal(value: float) -> str:
    """One decimal, with a decimal comma, and none when it is zero ("1,5", "200")."""
    text = f"{value:.1f}"
    return text.removesuffix(".0").replace(".", ",")


def file_size(size: int | None) -> str:
    """A size in bytes as "512 octets", "1,5 Ko", "200 Mo", "3,2 Go"; "—" when unknown."""
    if size is None:
        return "—"
    if size < 1024:
        return f"{size}{NBSP}octet" + ("s" if size > 1 else "")
    value, unit = size / 1024, 0
    # Compared as shown, rounded: 1,048,575 bytes is "1 Mo", not "1024 Ko".
    while round(value, 1) >= 1024 and unit < len(SIZE_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{_decimal(value)}{NBSP}{SIZE_UNITS[unit]}"
