"""Free text is personal data: find what should not be written in a note or a step's outcome.

- a French social-security number (NIR): the CNIL's reference framework for social support
  (délibération 2023-095) does not allow it here, the CAF/MSA number identifies the person;
- a bank account number (IBAN): nothing in the pathway needs it;
- health words: health is sensitive data (RGPD art. 9), to be read only by those it is addressed to.

The finders below spot candidates in free text; a candidate is reported only when python-stdnum finds it
valid (`stdnum.fr.nir`: its key; `stdnum.iban`: a known country, that country's length and format, the
mod-97 check), so that a CAF number, a phone number or a date is not taken for one. Nothing here refuses
a text: the forms warn the author, who may rephrase, mark the note sensitive, or keep it as it is.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from stdnum import iban
from stdnum.fr import nir

NIR = "nir"
IBAN = "iban"
HEALTH = "health"

# Separators people type inside a number: spaces (also non-breaking), dots, dashes.
_SEPARATORS = " .-\u00a0\u202f"
_SEPARATOR = r"[ .\-\u00a0\u202f]?"

# A NIR: sex (1, 2, or 7/8 for a temporary number), then 14 characters of which the 6th and 7th may be
# 2A/2B (Corsica). Each character may be preceded by one separator; the whole is not glued to other
# letters or digits. The key is checked afterwards.
_NIR_CANDIDATE = re.compile(rf"(?<![0-9A-Za-z])[1278](?:{_SEPARATOR}[0-9ABab]){{14}}(?![0-9A-Za-z])")
NIR_FIRST_DIGITS = frozenset("1278")

# The start of an IBAN: a country code and two check digits, not glued to a preceding letter or digit.
_IBAN_START = re.compile(r"(?<![0-9A-Za-z])([A-Za-z]{2})(\d{2})")
# An IBAN has 15 (Norway) to 34 characters (ISO 13616); python-stdnum knows each country's length.
IBAN_MIN_LENGTH, IBAN_MAX_LENGTH = 15, 34

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
    """The number without the separators people type in it, in upper case (as python-stdnum reads it)."""
    return re.sub(r"[ .\-\u00a0\u202f]", "", text).upper()


def is_valid_nir(value: str) -> bool:
    """A NIR (1 or 2, or 7 or 8 for a temporary number, then 14 characters) whose key is right."""
    number = _compact(value)
    return number[:1] in NIR_FIRST_DIGITS and nir.is_valid(number)


def is_valid_iban(value: str) -> bool:
    """An IBAN of a known country, of that country's length and format, whose mod-97 check holds. Without
    python-stdnum's national checks (`check_country`): they also look the bank up in its own lists, and
    an account at a bank missing from them must still be reported."""
    return iban.is_valid(_compact(value), check_country=False)


def _find_ibans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each valid IBAN: from a country code and two digits, the first run of letters and
    digits (separators allowed between them) of an IBAN's length, not glued to more, that is valid."""
    spans = []
    position = 0
    while match := _IBAN_START.search(text, position):
        start = match.start()
        end = next((end for end in _iban_ends(text, match.end()) if is_valid_iban(text[start:end])), None)
        if end is not None:
            spans.append((start, end))
            position = end
        else:
            position = start + 1
    return spans


def _iban_ends(text: str, start: int):
    """The possible ends of an IBAN whose first 4 characters end at `start`: after each further letter or
    digit (one separator allowed before each) that brings it to an IBAN's length, when the text does not
    go on glued to more letters or digits."""
    index = start
    for length in range(5, IBAN_MAX_LENGTH + 1):
        if index < len(text) and text[index] in _SEPARATORS:
            index += 1
        if index >= len(text) or not _is_alphanumeric(text[index]):
            return
        index += 1
        if length >= IBAN_MIN_LENGTH and not (index < len(text) and _is_alphanumeric(text[index])):
            yield index


def _is_alphanumeric(char: str) -> bool:
    return char.isascii() and char.isalnum()


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
