"""CSV cells that a spreadsheet shows as text and never runs as a formula (CSV injection, OWASP).

Every CSV the app writes (access reports, the team's exports, an import's refused rows) passes its cells
through `csv_cell`; the audit exports written by PostgreSQL apply `FORMULA_PATTERN` in SQL.
"""

# A cell starting with one of these is a formula to Excel and LibreOffice: it is prefixed with "'".
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^[-=+@\t\r]"


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
