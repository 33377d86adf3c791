"""Row checks: from the raw values of one row to an ImportRecord, or to the row's errors.

Every reader (CSV, .xlsx, the XML flux) hands `validate_row` the row as {canonical column: Cell}, where a
Cell holds the column as the file names it (for the report) and the value as read: text from a CSV,
text/number/date/bool from openpyxl. Formats are checked with the model's own validators
(casework.models), so a row that passes here also passes the database constraints.
"""

import datetime
import functools
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from openpyxl.utils.datetime import from_excel

from casework.models import (
    Beneficiary,
    BeneficiarySex,
    HouseholdMemberRelationship,
    allocataire_validator,
    insee_validator,
    postcode_validator,
)
from imports.columns import COLUMNS_BY_NAME, normalise_header
from imports.records import ImportedHouseholdMember, ImportRecord, RowError

MAX_VALUE_SHOWN = 200
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)
# The RMI, the RSA's predecessor, opened in December 1988: earlier rights dates are typing errors.
EARLIEST_RIGHTS_DATE = datetime.date(1988, 12, 1)

_field_length = {
    field.name: field.max_length for field in Beneficiary._meta.get_fields() if hasattr(field, "max_length")
}
_email_validator = EmailValidator(message="Adresse électronique invalide.")


@dataclass(frozen=True)
class Cell:
    column: str  # as named in the file (CSV/xlsx header, XML element)
    value: object  # as read: str, int, float, date, datetime, bool or None


class _Row:
    def __init__(self, line: int, cells: dict[str, Cell]):
        self.line = line
        self.cells = cells
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []

    def column(self, name: str) -> str:
        cell = self.cells.get(name)
        return cell.column if cell else COLUMNS_BY_NAME[name].label if name in COLUMNS_BY_NAME else name

    def raw(self, name: str) -> object:
        cell = self.cells.get(name)
        return None if cell is None else cell.value

    def text(self, name: str) -> str:
        return as_text(self.raw(name))

    def error(self, name: str, message: str, value: object = None) -> None:
        shown = as_text(value if value is not None else self.raw(name))
        self.errors.append(
            RowError(line=self.line, column=self.column(name), message=message, value=shown[:MAX_VALUE_SHOWN])
        )

    def warning(self, name: str, message: str) -> None:
        """The row is imported; this value is not, or is to check (shown in the import's report)."""
        shown = as_text(self.raw(name))
        self.warnings.append(
            RowError(line=self.line, column=self.column(name), message=message, value=shown[:MAX_VALUE_SHOWN])
        )

    def required_text(self, name: str, max_length: int) -> str:
        value = self.text(name)
        if not value:
            self.error(name, f"La colonne « {self.column(name)} » est obligatoire : la valeur est vide.")
        elif len(value) > max_length:
            self.error(name, f"« {self.column(name)} » : {len(value)} caractères, {max_length} au plus sont acceptés.")
        return value

    def optional_text(self, name: str, max_length: int) -> str:
        value = self.text(name)
        if len(value) > max_length:
            self.error(name, f"« {self.column(name)} » : {len(value)} caractères, {max_length} au plus sont acceptés.")
            return ""
        return value


def as_text(value: object) -> str:
    """A cell as text: numbers without a spurious ".0" (spreadsheets store 1234567 as 1234567.0),
    dates as ISO, None as ""; stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


@functools.lru_cache(maxsize=4096)
def _key(value: str) -> str:
    """A word as looked up in the tables below: no case, accents, spaces or punctuation. Cached: a file
    repeats the same few statuses, sexes and flags on every row."""
    return normalise_header(value)


_DATE_PATTERNS = (
    (re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), ("y", "m", "d")),
)
_DATE_HINT = "attendu jj/mm/aaaa ou aaaa-mm-jj"


def parse_date(value: object) -> datetime.date | None:
    """A date from a cell: a real date, an Excel serial number, or text in a French or ISO format.
    Returns None for an empty cell; raises ValueError when the value is not a date."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, int | float):
        # An Excel serial date (days since 1899-12-30), as a spreadsheet stores a date cell left unformatted.
        if not 1 <= value < 2958466:
            raise ValueError("out of range")
        try:
            converted = from_excel(value)
        except (ValueError, OverflowError, TypeError) as error:
            raise ValueError("not a date") from error
        return converted.date() if isinstance(converted, datetime.datetime) else converted
    text = str(value).strip()
    if not text:
        return None
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            parts = dict(zip(order, (int(group) for group in match.groups()), strict=True))
            return datetime.date(parts["y"], parts["m"], parts["d"])  # ValueError when impossible
    raise ValueError("not a date")


def _date(row: _Row, name: str, *, required: bool, earliest: datetime.date, latest: datetime.date):
    raw = row.raw(name)
    try:
        value = parse_date(raw)
    except ValueError:
        row.error(name, f"« {row.column(name)} » : date invalide ({_DATE_HINT}).")
        return None
    if value is None:
        if required:
            row.error(name, f"La colonne « {row.column(name)} » est obligatoire : la valeur est vide.")
        return None
    if value > latest:
        if latest == timezone.localdate():
            row.error(name, f"« {row.column(name)} » : la date {value:%d/%m/%Y} est dans le futur.")
        else:
            row.error(name, f"« {row.column(name)} » : la date {value:%d/%m/%Y} est trop éloignée dans le futur.")
        return None
    if value < earliest:
        row.error(name, f"« {row.column(name)} » : la date {value:%d/%m/%Y} est antérieure au {earliest:%d/%m/%Y}.")
        return None
    return value


def _in_departement(postcode: str) -> bool:
    """Whether a postcode begins like the Département's (PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES; none
    configured: every postcode is)."""
    prefixes = tuple(settings.PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES)
    return not prefixes or postcode.startswith(prefixes)


def _prefixes_text() -> str:
    prefixes = list(settings.PARCOURS_DEPARTEMENT_POSTCODE_PREFIXES)
    return ", ".join(prefixes[:-1]) + " ou " + prefixes[-1] if len(prefixes) > 1 else prefixes[0]


def _validator_message(validator, value: str) -> str | None:
    """The model validator's French message, or None. Python's \\d also matches non-ASCII digits (١٢٣):
    those are refused with the same message."""
    try:
        if not value.isascii():
            validator("\x00")  # fails with the validator's own message
        validator(value)
    except ValidationError as error:
        return " ".join(error.messages)
    return None


ORGANISMS = {
    "caf": Beneficiary.Organism.CAF,
    "caisse d'allocations familiales": Beneficiary.Organism.CAF,
    "msa": Beneficiary.Organism.MSA,
    "mutualité sociale agricole": Beneficiary.Organism.MSA,
}
_ORGANISMS = {_key(word): str(value.value) for word, value in ORGANISMS.items()}


def parse_organism(value: str) -> str | None:
    return _ORGANISMS.get(_key(value))


STATUSES = {
    Beneficiary.RsaStatus.OPEN: ("ouvert", "ouverts", "droit ouvert", "droits ouverts", "open", "actif", "2"),
    Beneficiary.RsaStatus.SUSPENDED: (
        "suspendu",
        "suspendus",
        "droit suspendu",
        "droits suspendus",
        "versement suspendu",
        "suspension",
        "suspended",
        "3",
        "4",
    ),
    Beneficiary.RsaStatus.CLOSED: (
        "clos",
        "clôturé",
        "cloturé",
        "clôture",
        "fermé",
        "droit clos",
        "droits clos",
        "radié",
        "fin de droit",
        "closed",
        "5",
        "6",
    ),
}
_STATUSES = {_key(word): str(status.value) for status, words in STATUSES.items() for word in words}


def parse_status(value: str) -> str | None:
    return _STATUSES.get(_key(value))


_SEXES = {
    **{
        _key(word): str(BeneficiarySex.FEMALE.value)
        for word in ("f", "femme", "féminin", "2", "mme", "madame", "mlle")
    },
    **{
        _key(word): str(BeneficiarySex.MALE.value)
        for word in ("m", "h", "homme", "masculin", "1", "mr", "m.", "monsieur")
    },
}

_BOOLEANS = {
    **{_key(word): True for word in ("oui", "o", "1", "vrai", "true", "yes", "y", "x")},
    **{_key(word): False for word in ("non", "n", "0", "faux", "false", "no")},
}


def parse_bool(value: object) -> bool | None:
    """oui/non, 1/0, vrai/faux (and a spreadsheet's TRUE/FALSE); None when unreadable."""
    if isinstance(value, bool):
        return value
    return _BOOLEANS.get(_key(as_text(value)))


_PHONE_CLEAN = re.compile(r"[\s.\-/()]")


def normalise_phone(value: str) -> str | None:
    """Digits and a leading "+"; None when the value is not a plausible phone number. A nine-digit French
    number whose leading zero a spreadsheet dropped (612345678) gets it back."""
    compact = _PHONE_CLEAN.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    body = compact[1:] if compact.startswith("+") else compact
    if not body.isdigit() or not body.isascii():
        return None
    if not compact.startswith("+") and len(body) == 9 and body[0] != "0":
        compact = body = "0" + body
    if compact.startswith("+"):
        return compact if 8 <= len(body) <= 15 else None
    return compact if len(body) == 10 else None


RELATIONSHIPS = {
    HouseholdMemberRelationship.SPOUSE: ("cjt", "conjoint", "conjointe", "conj", "époux", "épouse", "concubin"),
    HouseholdMemberRelationship.CHILD: ("enf", "enfant", "fils", "fille"),
    HouseholdMemberRelationship.OTHER: ("aut", "autre", "autre personne à charge", "pac"),
}
_RELATIONSHIPS = {_key(word): str(value.value) for value, words in RELATIONSHIPS.items() for word in words}


def parse_relationship(value: str) -> str | None:
    return _RELATIONSHIPS.get(_key(value))


def _household(row: _Row, name: str) -> tuple[ImportedHouseholdMember, ...]:
    """The `foyer` column: members separated by "|", each "LIEN:Nom:Prénom[:date de naissance[:à charge]]"
    (docs/imports.md). An empty cell means an empty household."""
    text = row.text(name)
    members = []
    for position, chunk in enumerate(filter(None, (part.strip() for part in text.split("|"))), start=1):
        parts = [part.strip() for part in chunk.split(":")]
        where = f"« {row.column(name)} », membre n° {position}"
        if len(parts) < 3 or len(parts) > 5:
            row.error(
                name,
                f"{where} : format attendu LIEN:Nom:Prénom[:date de naissance[:à charge]] "
                f"(ex. CJT:MARTIN:Léa:02/01/1980|ENF:MARTIN:Tom:04/03/2015).",
                chunk,
            )
            continue
        relationship = parse_relationship(parts[0])
        if relationship is None:
            row.error(name, f"{where} : lien « {parts[0]} » inconnu (CJT, ENF ou AUT).", chunk)
            continue
        last_name, first_name = parts[1], parts[2]
        if not last_name or not first_name:
            row.error(name, f"{where} : le nom et le prénom sont obligatoires.", chunk)
            continue
        if len(last_name) > 100 or len(first_name) > 100:
            row.error(name, f"{where} : nom ou prénom trop long (100 caractères au plus).", chunk)
            continue
        birth_date = None
        if len(parts) >= 4 and parts[3]:
            try:
                birth_date = parse_date(parts[3])
            except ValueError:
                row.error(name, f"{where} : date de naissance invalide ({_DATE_HINT}).", chunk)
                continue
            if birth_date and not EARLIEST_BIRTH_DATE <= birth_date <= timezone.localdate():
                row.error(name, f"{where} : date de naissance invraisemblable.", chunk)
                continue
        is_dependent = relationship == HouseholdMemberRelationship.CHILD.value
        if len(parts) == 5 and parts[4]:
            parsed = parse_bool(parts[4])
            if parsed is None:
                row.error(name, f"{where} : « à charge » vaut oui ou non.", chunk)
                continue
            is_dependent = parsed
        members.append(
            ImportedHouseholdMember(
                relationship=relationship,
                first_name=first_name,
                last_name=last_name,
                birth_date=birth_date,
                is_dependent=is_dependent,
            )
        )
    return tuple(members)


def validate_row(
    line: int,
    cells: dict[str, Cell],
    *,
    default_organism: str | None = None,
    household: tuple[ImportedHouseholdMember, ...] | None = None,
    extra_errors: tuple[RowError, ...] = (),
) -> tuple[ImportRecord | None, tuple[RowError, ...]]:
    """Check one row. `cells` maps canonical column names to cells; a column absent from the file is
    absent from `cells`. `household` is given by readers that read the household themselves (the XML
    flux); otherwise the `foyer` column, when the file has one, describes it."""
    row = _Row(line, cells)
    today = timezone.localdate()
    rights_latest = today + datetime.timedelta(days=366)

    organism_text = row.text("organisme")
    if organism_text:
        organism = parse_organism(organism_text)
        if organism is None:
            row.error("organisme", f"« {row.column('organisme')} » : organisme inconnu (CAF ou MSA).")
    else:
        organism = default_organism or Beneficiary.Organism.CAF.value

    number = row.text("numero_allocataire").replace(" ", "")
    if not number:
        row.error(
            "numero_allocataire",
            f"La colonne « {row.column('numero_allocataire')} » est obligatoire : la valeur est vide.",
        )
    else:
        message = _validator_message(allocataire_validator, number)
        if message:
            row.error("numero_allocataire", f"« {row.column('numero_allocataire')} » : {message}")
        else:
            # One rule for every format: the XML flux carries the number as an integer, and a
            # spreadsheet drops leading zeros by itself, so they carry no meaning anywhere.
            number = number.lstrip("0") or "0"

    last_name = row.required_text("nom", _field_length["last_name"])
    first_name = row.required_text("prenom", _field_length["first_name"])
    birth_name = row.optional_text("nom_naissance", _field_length["birth_name"])
    birth_date = _date(row, "date_naissance", required=True, earliest=EARLIEST_BIRTH_DATE, latest=today)

    sex = ""
    sex_text = row.text("sexe")
    if sex_text:
        sex = _SEXES.get(_key(sex_text), "")
        if not sex:
            row.error("sexe", f"« {row.column('sexe')} » : valeur inconnue (F ou M).")

    address_line = row.optional_text("adresse", _field_length["address_line"])
    commune = row.optional_text("commune", _field_length["commune"])

    postcode = row.text("code_postal").replace(" ", "")
    if len(postcode) == 4 and postcode.isascii() and postcode.isdigit():
        postcode = "0" + postcode  # a spreadsheet dropped the leading zero (01000 → 1000)
    if postcode:
        message = _validator_message(postcode_validator, postcode)
        if message:
            row.error("code_postal", f"« {row.column('code_postal')} » : {message}")
            postcode = ""
        elif not _in_departement(postcode):
            # A person who moved away, or a typing error: imported as the file says, to be checked.
            row.warning(
                "code_postal",
                f"« {row.column('code_postal')} » : ce code postal n'est pas dans le Département "
                f"(codes commençant par {_prefixes_text()}) ; la ligne est importée, vérifiez l'adresse.",
            )

    insee_code = row.text("code_insee").replace(" ", "").upper()
    if len(insee_code) == 4 and insee_code.isascii() and insee_code.isdigit():
        insee_code = "0" + insee_code
    if insee_code:
        message = _validator_message(insee_validator, insee_code)
        if message:
            row.error("code_insee", f"« {row.column('code_insee')} » : {message}")
            insee_code = ""

    phone = ""
    phone_text = row.text("telephone")
    if phone_text:
        phone = normalise_phone(phone_text) or ""
        if not phone:
            # Optional contact values: a bad one is dropped, the person is still imported.
            row.warning(
                "telephone",
                f"« {row.column('telephone')} » : numéro de téléphone invalide (10 chiffres, ou +indicatif) ; "
                f"il n'est pas importé, le reste de la ligne l'est.",
            )

    email = row.text("courriel")
    if email:
        email_ok = len(email) <= _field_length["email"] and _validator_message(_email_validator, email) is None
        if not email_ok:
            row.warning(
                "courriel",
                f"« {row.column('courriel')} » : adresse électronique invalide ; "
                f"elle n'est pas importée, le reste de la ligne l'est.",
            )
            email = ""

    status_text = row.text("statut_droits")
    rsa_status = None
    if not status_text:
        row.error(
            "statut_droits", f"La colonne « {row.column('statut_droits')} » est obligatoire : la valeur est vide."
        )
    else:
        rsa_status = parse_status(status_text)
        if rsa_status is None:
            row.error(
                "statut_droits", f"« {row.column('statut_droits')} » : statut inconnu (ouvert, suspendu ou clos)."
            )
    status_date = _date(row, "date_statut", required=False, earliest=EARLIEST_RIGHTS_DATE, latest=rights_latest)
    entry_date = _date(row, "date_entree_rsa", required=False, earliest=EARLIEST_RIGHTS_DATE, latest=rights_latest)

    sdd = True
    raw_sdd = row.raw("sdd")
    if as_text(raw_sdd):
        parsed = parse_bool(raw_sdd)
        if parsed is None:
            row.error("sdd", f"« {row.column('sdd')} » : valeur attendue oui ou non (ou 1/0, vrai/faux).")
        else:
            sdd = parsed

    if household is None and "foyer" in cells:
        household = _household(row, "foyer")

    errors = (*extra_errors, *row.errors)
    if errors:
        return None, errors
    record = ImportRecord(
        line=line,
        organism=organism,
        allocataire_number=number,
        first_name=first_name,
        last_name=last_name,
        birth_name=birth_name,
        birth_date=birth_date,
        sex=sex,
        address_line=address_line,
        postcode=postcode,
        commune=commune,
        insee_code=insee_code,
        phone=phone,
        email=email,
        rsa_status=rsa_status,
        rsa_status_date=status_date,
        sdd=sdd,
        rsa_entry_date=entry_date,
        household=household,
        warnings=tuple(row.warnings),
    )
    return record, ()
