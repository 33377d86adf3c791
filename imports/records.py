"""What an import row becomes once read and checked: the interface between reading and writing.

Readers (CSV, .xlsx, the CAF/MSA XML flux) yield one `RowResult` per data row, in file order: either a
valid `ImportRecord` (with its warnings, if any) or the row's errors (line number, column, French
message). The writer (`imports.apply`) only ever sees valid records.
"""

import datetime
from dataclasses import dataclass, field

# The fields of a file an import may set or change: identity, contact and rights. Never the pathway,
# the notes, the referent or anything a professional typed.
IMPORTED_FIELDS = (
    "first_name",
    "last_name",
    "birth_name",
    "birth_date",
    "sex",
    "address_line",
    "postcode",
    "commune",
    "insee_code",
    "phone",
    "email",
    "rsa_status",
    "rsa_status_date",
    "sdd",
    "rsa_entry_date",
)


@dataclass(frozen=True)
class ImportedHouseholdMember:
    relationship: str  # HouseholdMember.Relationship value: spouse, child, other
    first_name: str
    last_name: str
    birth_date: datetime.date | None = None
    is_dependent: bool = False


@dataclass(frozen=True)
class ImportRecord:
    """One beneficiary as the CAF/MSA file describes it, checked and normalised.

    `organism` is a Beneficiary.Organism value ("caf"/"msa"), `rsa_status` a Beneficiary.RsaStatus
    value ("open"/"suspended"/"closed"), `sex` "F"/"M"/"", strings stripped, dates as dates.
    `household` is None when the file says nothing of the household (leave it as it is), a tuple
    (possibly empty) when it describes it.
    """

    line: int  # the row's line number in the file (1 = the header of a CSV; the element's line in XML)
    organism: str
    allocataire_number: str
    first_name: str
    last_name: str
    birth_date: datetime.date
    rsa_status: str
    birth_name: str = ""
    sex: str = ""
    address_line: str = ""
    postcode: str = ""
    commune: str = ""
    insee_code: str = ""
    phone: str = ""
    email: str = ""
    rsa_status_date: datetime.date | None = None
    sdd: bool = True
    rsa_entry_date: datetime.date | None = None
    household: tuple[ImportedHouseholdMember, ...] | None = None
    # What the row says that was not imported, or that the department admin should check (an invalid
    # phone dropped, a postcode outside the Département): reported with the row, which is imported.
    warnings: tuple["RowError", ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the beneficiary: organism and allocataire number."""
        return (self.organism, self.allocataire_number)

    def values(self) -> dict:
        """The imported fields, by Beneficiary field name."""
        return {name: getattr(self, name) for name in IMPORTED_FIELDS}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str  # the column (or XML element) as named in the file; "" for the whole row
    message: str  # in French, for the person who reads the report
    value: str = ""  # the offending value as read (shown in the report; never in logs)


@dataclass(frozen=True)
class RowResult:
    line: int
    record: ImportRecord | None = None
    errors: tuple[RowError, ...] = field(default_factory=tuple)

    @property
    def is_valid(self) -> bool:
        return self.record is not None and not self.errors


class ImportFileError(Exception):
    """The file as a whole is refused (not a CSV/xlsx/XML flux, empty, missing required column, too
    big, unreadable encoding): `message` says why, in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
