"""Free text is personal data: find what should not be written in a note or a step's outcome.

- a French social-security number (NIR): the CNIL's reference framework for social support
  (délibération 2023-095) does not allow it here, the CAF/MSA number identifies the person;
- a bank account number (IBAN): nothing in the pathway needs it;
- health words: health is sensitive data (RGPD art. 9), to be read only by those it is addressed to.

A number is reported only when its check digits are right (the NIR key, the IBAN's mod-97), so that a
CAF number, a phone number or a date is not taken for one. Nothing here refuses a text: the forms
warn the author, who may rephrase, mark the note sensitive, or keep it as it is.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass

NIR = "nir"
IBAN = "iban"
HEALTH = "health"

# Separators people type inside a number: spaces (also non-breaking), dots, dashes.
_SEPARATOR = r"[ .\-\u00a0\u202f]?"

# A NIR: sex (1, 2, or 7/8 for a temporary number), then 14 characters of which the 6th and 7th may be
# 2A/2B (Corsica). Each character may be preceded by one separator; the whole is not glued to other
# letters or digits. The key is checked afterwards.
_NIR_CANDIDATE = re.compile(rf"(?<![0-9A-Za-z])[1278](?:{_SEPARATOR}[0-9ABab]){{14}}(?![0-9A-Za-z])")
_NIR_SHAPE = re.compile(r"^[1278]\d{4}(?:\d{2}|2[AB])\d{6}\d{2}$")

# The start of an IBAN: a country code and two check digits, not glued to a preceding letter or digit.
_IBAN_START = re.compile(r"(?<![0-9A-Za-z])([A-Za-z]{2})(\d{2})")

# IBAN length per country (SWIFT's IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# Health words, written without accents and in lower case (the text is folded the same way before
# matching); whole words only, so "alcoolique" matches "alcool\w*" but "vihuela" does not match "vih".
HEALTH_PATTERNS = (
    r"cancers?",
    r"tumeurs?",
    r"chimio(?:therapies?)?",
    r"radiotherapies?",
    r"vih",
    r"sida",
    r"seropositi(?:f|fs|ve|ves|vite)",
    r"hepatites?",
    r"depressi(?:on|ons|f|fs|ve|ves)",
    r"psychiatri(?:e|que|ques)",
    r"psychiatres?",
    r"schizophren(?:e|es|ie)",
    r"bipolaires?",
    r"suicid(?:e|es|aire|aires)",
    r"hospitalisations?",
    r"hospitalise(?:e|s|es)?",
    r"addictions?",
    r"addictologie",
    r"alcool(?:s|ique|iques|isme)?",
    r"toxicomanies?",
    r"toxicomanes?",
    r"drogues?",
    r"traitements?\s+medica(?:l|ux)",
    r"grossesses?",
    r"enceinte",
    r"ivg",
    r"handicap(?:s|e|ee|es|ees)?",
    r"mdph",
    r"rqth",
    r"aah",
    r"ald",
    r"invalidite",
    r"diabet(?:e|es|ique|iques)",
)
_HEALTH = re.compile(r"\b(?:" + "|".join(HEALTH_PATTERNS) + r")\b")


@dataclass(frozen=True)
class Finding:
    """Something found in a text: its kind (NIR, IBAN, HEALTH) and the text as written."""

    kind: str
    text: str

    @property
    def masked(self) -> str:
        """What the warning shows of it: a number is cut short (the page should not repeat it whole)."""
        if self.kind == HEALTH:
            return self.text
        visible = self.text[:7].rstrip(" .-\u00a0\u202f")
        return f"{visible}…"


def _compact(text: str) -> str:
    return re.sub(r"[ .\-\u00a0\u202f]", "", text).upper()


def is_valid_nir(value: str) -> bool:
    """A NIR with its key right: 97 − (the 13-character number mod 97); Corsica's 2A/2B count as 19/18."""
    nir = _compact(value)
    if not _NIR_SHAPE.match(nir):
        return False
    number = nir[:13]
    if number[5:7] == "2A":
        number = number[:5] + "19" + number[7:]
    elif number[5:7] == "2B":
        number = number[:5] + "18" + number[7:]
    return int(nir[13:]) == 97 - int(number) % 97


def is_valid_iban(value: str) -> bool:
    """An IBAN of a known country, of that country's length, whose mod-97 check holds."""
    iban = _compact(value)
    country = iban[:2]
    if IBAN_LENGTHS.get(country) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _find_ibans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each valid IBAN: from a country code, read as many characters as that country's
    IBAN has (separators allowed between them), then check it."""
    spans = []
    position = 0
    while match := _IBAN_START.search(text, position):
        length = IBAN_LENGTHS.get(match.group(1).upper())
        end = _read_alphanumerics(text, match.end(), (length or 0) - 4) if length else None
        if end is not None and is_valid_iban(text[match.start() : end]):
            spans.append((match.start(), end))
            position = end
        else:
            position = match.start() + 1
    return spans


def _read_alphanumerics(text: str, start: int, count: int) -> int | None:
    """The end of `count` more letters or digits from `start`, one separator allowed before each;
    None when the text stops sooner or the number goes on glued to more letters or digits."""
    index = start
    for _ in range(count):
        if index < len(text) and text[index] in " .-\u00a0\u202f":
            index += 1
        if index >= len(text) or not (text[index].isascii() and text[index].isalnum()):
            return None
        index += 1
    if index < len(text) and text[index].isascii() and text[index].isalnum():
        return None
    return index


def _fold(text: str) -> tuple[str, list[int]]:
    """The text lower-cased and without accents, with, for each of its characters, the index of the
    character of `text` it comes from (so that a match can be shown as it was written)."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for part in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(part):
                continue
            for lowered in part.lower():
                folded.append(lowered)
                origin.append(index)
    return "".join(folded), origin


def find_health_words(text: str) -> list[Finding]:
    folded, origin = _fold(text)
    found: list[Finding] = []
    seen: set[str] = set()
    for match in _HEALTH.finditer(folded):
        written = text[origin[match.start()] : origin[match.end() - 1] + 1]
        key = match.group(0)
        if key not in seen:
            seen.add(key)
            found.append(Finding(HEALTH, written))
    return found


def find_personal_data(text: str, *, health: bool = True) -> list[Finding]:
    """Every NIR, IBAN and (unless health=False) health word found in the text, in this order."""
    if not text:
        return []
    iban_spans = _find_ibans(text)
    findings = []
    for match in _NIR_CANDIDATE.finditer(text):
        inside_iban = any(start <= match.start() < end for start, end in iban_spans)
        if not inside_iban and is_valid_nir(match.group(0)):
            findings.append(Finding(NIR, match.group(0)))
    findings.extend(Finding(IBAN, text[start:end]) for start, end in iban_spans)
    if health:
        findings.extend(find_health_words(text))
    return findings


def findings_digest(findings: list[Finding]) -> str:
    """A short fingerprint of what was found, so that "I have read it" confirms these findings and not
    others typed after the warning."""
    keys = sorted(f"{finding.kind}:{_compact(finding.text).lower()}" for finding in findings)
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:16]
