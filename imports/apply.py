"""Writing checked import rows into the files, a batch at a time (docs/imports.md).

The rules:
- organism + allocataire number identify a file. A new number creates a file awaiting orientation in the
  queue of the intake structure (`Beneficiary.intake_structure`, no referent yet);
- a known number gets the identity and rights fields the file describes (IMPORTED_FIELDS), only where
  they differ; a blank cell or date says nothing and leaves the value as it is (a phone a referent
  typed is not erased by a file that has none). The pathway, the notes and the referent are never
  touched: they are not in IMPORTED_FIELDS and no write here names them;
- the free-text identity values (names, address, commune, the household's names) differ only when
  their meaning does: they are compared through `identity_key` (no case, accents, ligatures, dashes,
  apostrophes or extra spaces). "LECOMTE" for "Lecomte" keeps the stored value and records nothing;
- a status change to *clos* ends the support of an ongoing file (is_active False, the status date, the
  reason "Sortie du RSA"): nothing is deleted;
- the household is replaced only when the row describes it, and only when it differs;
- every change is one `ImportChange` row (old and new value). A value equal to the file's writes
  nothing, so importing the same file again changes nothing and records nothing.

`process_batch` costs a fixed number of queries whatever the batch's size: one SELECT of the existing
files by keys (locked for the batch), one of their households when rows describe one, then at most one
bulk INSERT of new files, one bulk UPDATE of changed ones, one DELETE and one INSERT of household members,
one INSERT of changes and one of the row report (refused rows, warnings). The caller runs each batch in
its own transaction.
"""

import datetime
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from casework.models import Beneficiary, HouseholdMember, SupportEndReason, allocataire_validator, search_key
from imports.models import BeneficiaryImport, ImportChange, ImportRowError
from imports.records import IMPORTED_FIELDS, ImportedHouseholdMember, ImportRecord, RowError, RowResult

# The reason a file whose rights were closed by the CAF/MSA ends its support with (migrations 0005, 0011).
END_REASON_CODE = "sortie-rsa"
END_REASON_LABEL = "Sortie du RSA (fin de droits CAF/MSA)"
# ImportChange.field for the household (a readable summary) and for the end of support.
HOUSEHOLD_FIELD = "household"
SUPPORT_FIELD = "support_ended_on"
NAME_FIELDS = frozenset({"first_name", "last_name", "birth_name"})
CLOSING_FIELDS = ("is_active", "support_ended_on", "support_end_reason", "support_end_summary")
# Loaded for each existing file of a batch: what the comparison and the closing read, nothing else.
LOADED_FIELDS = ("pk", "organism", "allocataire_number", "version", *CLOSING_FIELDS, *IMPORTED_FIELDS)
REQUIRED_TEXT = ("first_name", "last_name")
# Free-text identity values compared by meaning, not by form (identity_key).
IDENTITY_TEXT_FIELDS = frozenset({*NAME_FIELDS, "address_line", "commune"})
# Ligatures NFKD leaves whole, and the marks that separate words as a space would.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_WORD_SEPARATORS = str.maketrans({"-": " ", "‐": " ", "‑": " ", "–": " ", "'": " ", "’": " ", "‘": " "})
_MODEL_FIELDS = {name: Beneficiary._meta.get_field(name) for name in IMPORTED_FIELDS}


def end_reason() -> SupportEndReason:
    """The reason "Sortie du RSA", created if an admin removed it (migration 0011 adds it back too)."""
    reason = SupportEndReason.objects.filter(code=END_REASON_CODE).first()
    if reason is None:
        reason, _ = SupportEndReason.objects.get_or_create(
            label=END_REASON_LABEL, defaults={"code": END_REASON_CODE, "position": 20}
        )
    return reason


@dataclass(frozen=True)
class ApplyContext:
    """What every batch of one import needs, read once per attempt."""

    beneficiary_import: BeneficiaryImport
    intake_structure_id: int
    end_reason_id: int
    dry_run: bool
    today: datetime.date

    @property
    def end_summary(self) -> str:
        day = timezone.localtime(self.beneficiary_import.uploaded_at)
        return f"Droits RSA clos selon le fichier importé le {day:%d/%m/%Y} ({self.beneficiary_import.original_name})."


@dataclass
class BatchCounts:
    """What a batch did (or, in a dry run, would do), per data row."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    closed: int = 0
    unchanged: int = 0
    refused: int = 0
    warned: int = 0
    fields: Counter = field(default_factory=Counter)

    def __iadd__(self, other: "BatchCounts") -> "BatchCounts":
        self.rows += other.rows
        self.created += other.created
        self.updated += other.updated
        self.closed += other.closed
        self.unchanged += other.unchanged
        self.refused += other.refused
        self.warned += other.warned
        self.fields.update(other.fields)
        return self


def as_text(value) -> str:
    """A value as ImportChange stores it: ISO dates, "true"/"false", "" for nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def identity_key(value: str) -> str:
    """A free-text identity value by its meaning: no case, accents or ligatures, dashes and apostrophes
    as spaces, spaces collapsed. "LECOMTE" and "Lecomte", "VILLENEUVE D ASCQ" and "Villeneuve-d'Ascq",
    "Hélène" and "HELENE" give one key; "Le Comte" and "Lecomte" do not (a space between words is kept)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold().translate(_LIGATURES))
    text = "".join(char for char in decomposed if not unicodedata.combining(char)).translate(_WORD_SEPARATORS)
    return " ".join(text.split())


def _member_key(member) -> tuple:
    return (member.relationship, member.first_name, member.last_name, member.birth_date, bool(member.is_dependent))


def _member_identity(member) -> tuple:
    """What a household member is, compared by meaning (names through identity_key)."""
    return (
        member.relationship,
        identity_key(member.first_name),
        identity_key(member.last_name),
        member.birth_date,
        bool(member.is_dependent),
    )


def household_text(members) -> str:
    """The household as one readable line, in a stable order (for ImportChange)."""
    labels = dict(HouseholdMember.Relationship.choices)
    parts = []
    for relationship, first_name, last_name, birth_date, is_dependent in sorted(
        (_member_key(member) for member in members), key=lambda key: tuple(str(part) for part in key)
    ):
        text = f"{labels.get(relationship, relationship)} : {first_name} {last_name}".strip()
        if birth_date:
            text += f", né·e le {birth_date:%d/%m/%Y}"
        if is_dependent:
            text += ", à charge"
        parts.append(text)
    return " ; ".join(parts) or "aucun membre"


def _record_errors(record: ImportRecord) -> list[RowError]:
    """What the database would refuse in a record the reader accepted (a safety net: a batch must never
    fail on one row, which would stop the whole import at every retry)."""
    errors = []
    if record.organism not in Beneficiary.Organism.values:
        errors.append(RowError(record.line, "organisme", "Organisme payeur inconnu (CAF ou MSA).", record.organism))
    try:
        allocataire_validator(record.allocataire_number)
    except Exception:  # ValidationError: the message is the validator's
        errors.append(
            RowError(
                record.line,
                "numero_allocataire",
                "Le numéro allocataire ne contient que des chiffres (13 au plus).",
                record.allocataire_number[:50],
            )
        )
    for name in REQUIRED_TEXT:
        if not getattr(record, name):
            errors.append(RowError(record.line, name, f"{_MODEL_FIELDS[name].verbose_name.capitalize()} manquant."))
    for name, model_field in _MODEL_FIELDS.items():
        value = getattr(record, name)
        if not isinstance(value, str) or not value:
            continue
        if model_field.max_length and len(value) > model_field.max_length:
            errors.append(
                RowError(
                    record.line,
                    name,
                    f"{str(model_field.verbose_name).capitalize()} trop long ({len(value)} caractères, "
                    f"{model_field.max_length} au plus).",
                    value[:100],
                )
            )
        elif model_field.choices and value not in {choice for choice, _ in model_field.choices}:
            errors.append(RowError(record.line, name, f"Valeur inconnue pour {model_field.verbose_name}.", value))
    for member in record.household or ():
        if member.relationship not in HouseholdMember.Relationship.values:
            errors.append(RowError(record.line, "foyer", "Lien familial inconnu.", member.relationship))
        if not member.first_name or len(member.first_name) > 100 or len(member.last_name) > 100:
            errors.append(RowError(record.line, "foyer", "Nom ou prénom d'un membre du foyer manquant ou trop long."))
    return errors


def _existing(records: list[ImportRecord], *, lock: bool) -> dict[tuple[str, str], Beneficiary]:
    """The files these records name, by key, in one query (locked for the batch when it writes)."""
    numbers: dict[str, list[str]] = defaultdict(list)
    for record in records:
        numbers[record.organism].append(record.allocataire_number)
    condition = Q()
    for organism, in_organism in numbers.items():
        condition |= Q(organism=organism, allocataire_number__in=in_organism)
    files = Beneficiary.objects.filter(condition).only(*LOADED_FIELDS).order_by("pk")
    if lock:
        # A referent changing the same file meanwhile waits for the batch: no update is lost.
        files = files.select_for_update(of=("self",))
    return {(file.organism, file.allocataire_number): file for file in files}


def _households(beneficiary_ids: list[int]) -> dict[int, list[HouseholdMember]]:
    found: dict[int, list[HouseholdMember]] = {pk: [] for pk in beneficiary_ids}
    if beneficiary_ids:
        for member in HouseholdMember.objects.filter(beneficiary_id__in=beneficiary_ids).order_by():
            found[member.beneficiary_id].append(member)
    return found


def _differences(current: Beneficiary, record: ImportRecord) -> list[tuple[str, object, object]]:
    """(field, old, new) for each imported field the record changes; a blank value changes nothing, nor
    does a free-text identity value that only differs in form (the stored value is kept)."""
    changes = []
    for name, new in record.values().items():
        if new is None or new == "":
            continue
        old = getattr(current, name)
        if old == new or (name in IDENTITY_TEXT_FIELDS and identity_key(old or "") == identity_key(new)):
            continue
        changes.append((name, old, new))
    return changes


def _new_file(record: ImportRecord, context: ApplyContext, now: datetime.datetime) -> Beneficiary:
    values = {name: value for name, value in record.values().items() if value is not None}
    file = Beneficiary(
        organism=record.organism,
        allocataire_number=record.allocataire_number,
        intake_structure_id=context.intake_structure_id,
        created_at=now,
        updated_at=now,
        **values,
    )
    # bulk_create does not call save(): the search key is derived here.
    file.search_text = search_key(file.last_name, file.birth_name, file.first_name)
    if record.rsa_status == Beneficiary.RsaStatus.CLOSED:
        # A person who already left RSA: the file exists (the CAF told us about them) but is not followed.
        _close(file, record, context)
    return file


def _close(file: Beneficiary, record: ImportRecord, context: ApplyContext) -> None:
    ended_on = min(record.rsa_status_date or context.today, context.today)
    file.is_active = False
    file.support_ended_on = ended_on
    file.support_end_reason_id = context.end_reason_id
    if not file.support_end_summary:
        file.support_end_summary = context.end_summary


def _members(beneficiary: Beneficiary, members: tuple[ImportedHouseholdMember, ...], now) -> list[HouseholdMember]:
    return [
        HouseholdMember(
            beneficiary=beneficiary,
            relationship=member.relationship,
            first_name=member.first_name,
            last_name=member.last_name,
            birth_date=member.birth_date,
            is_dependent=member.is_dependent,
            created_at=now,
            updated_at=now,
        )
        for member in members
    ]


def _split(rows: list[RowResult], context: ApplyContext, counts: BatchCounts):
    """The valid records of the batch, and the report's entries as ImportRowError objects: the refused
    rows, and the warnings of the rows imported (a refused row's warnings are left out: its errors are
    what to fix first)."""
    records: list[ImportRecord] = []
    errors: list[ImportRowError] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        problems = list(row.errors)
        if row.is_valid:
            problems = _record_errors(row.record)
            if not problems and row.record.key in seen:
                problems = [
                    RowError(
                        row.line,
                        "numero_allocataire",
                        "Ce numéro allocataire figure déjà plus haut dans le fichier : cette ligne est ignorée.",
                        row.record.allocataire_number,
                    )
                ]
        elif not problems:
            problems = [RowError(row.line, "", "Ligne illisible.")]
        if problems:
            counts.refused += 1
            errors.extend(_report(context, problem, ImportRowError.Level.REFUSED) for problem in problems)
        else:
            seen.add(row.record.key)
            records.append(row.record)
            if row.record.warnings:
                counts.warned += 1
                errors.extend(
                    _report(context, warning, ImportRowError.Level.WARNING) for warning in row.record.warnings
                )
    return records, errors


def _report(context: ApplyContext, problem: RowError, level: str) -> ImportRowError:
    return ImportRowError(
        beneficiary_import=context.beneficiary_import,
        line=problem.line,
        level=level,
        column=problem.column[:200],
        message=problem.message[:500],
        value=problem.value[:500],
    )


def process_batch(rows: list[RowResult], *, context: ApplyContext) -> BatchCounts:
    """Apply (or, in a dry run, only count) one batch of rows. Run it inside a transaction: the files it
    reads are locked until the caller commits. A dry run writes the row report (refused rows, warnings)
    and nothing else."""
    counts = BatchCounts(rows=len(rows))
    records, errors = _split(rows, context, counts)
    existing = _existing(records, lock=not context.dry_run) if records else {}
    described = [existing[r.key].pk for r in records if r.household is not None and r.key in existing]
    households = _households(described)
    now = timezone.now()
    imported = context.beneficiary_import
    new_files: list[tuple[ImportRecord, Beneficiary]] = []
    changed: list[Beneficiary] = []
    changed_fields: set[str] = set()
    changes: list[ImportChange] = []
    replaced_households: list[int] = []
    new_members: list[HouseholdMember] = []

    def change(file, record, kind, name="", old="", new=""):
        changes.append(
            ImportChange(
                beneficiary_import=imported,
                beneficiary=file,
                line=record.line,
                kind=kind,
                field=name,
                old_value=old,
                new_value=new,
                created_at=now,
            )
        )

    for record in records:
        current = existing.get(record.key)
        if current is None:
            new_files.append((record, _new_file(record, context, now)))
            counts.created += 1
            continue
        differences = _differences(current, record)
        closing = record.rsa_status == Beneficiary.RsaStatus.CLOSED and current.is_active
        household = None
        if record.household is not None:
            before = households[current.pk]
            if sorted(map(_member_identity, before), key=str) != sorted(
                map(_member_identity, record.household), key=str
            ):
                household = before
        if not differences and not closing and household is None:
            counts.unchanged += 1
            continue
        for name, old, new in differences:
            setattr(current, name, new)
            changed_fields.add(name)
            counts.fields[name] += 1
            change(current, record, ImportChange.Kind.UPDATED, name, as_text(old), as_text(new))
        if household is not None:
            counts.fields[HOUSEHOLD_FIELD] += 1
            replaced_households.append(current.pk)
            new_members.extend(_members(current, record.household, now))
            change(
                current,
                record,
                ImportChange.Kind.UPDATED,
                HOUSEHOLD_FIELD,
                household_text(household),
                household_text(record.household),
            )
        if closing:
            _close(current, record, context)
            changed_fields.update(CLOSING_FIELDS)
            counts.closed += 1
            change(current, record, ImportChange.Kind.CLOSED, SUPPORT_FIELD, "", as_text(current.support_ended_on))
        else:
            counts.updated += 1
        if differences or closing:
            current.version += 1
            current.updated_at = now
            changed.append(current)

    if not context.dry_run:
        if new_files:
            Beneficiary.objects.bulk_create([file for _record, file in new_files])
            for record, file in new_files:
                change(file, record, ImportChange.Kind.CREATED)
                if record.household:
                    new_members.extend(_members(file, record.household, now))
        if changed:
            fields = {*changed_fields, "version", "updated_at"}
            if changed_fields & NAME_FIELDS:
                fields.add("search_text")
                for file in changed:
                    file.search_text = search_key(file.last_name, file.birth_name, file.first_name)
            Beneficiary.objects.bulk_update(changed, sorted(fields))
        if replaced_households:
            # The row describes the household as it is now: it replaces the one on file (the old one is
            # kept, as text, in the ImportChange above).
            HouseholdMember.objects.filter(beneficiary_id__in=replaced_households).delete()
        if new_members:
            HouseholdMember.objects.bulk_create(new_members)
        if changes:
            ImportChange.objects.bulk_create(changes)
    if errors:
        ImportRowError.objects.bulk_create(errors)
    return counts
