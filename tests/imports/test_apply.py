"""Writing imports into the files (casework/imports/apply.py, casework/imports/services.py): creation in the
intake queue, updates of the imported fields only, closing, idempotent replay, household replacement,
dry runs, crash and resume, queries per batch, the intake scope of the permission layer, the timeline,
the sweeper and the drop-folder command."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from casework.models import Beneficiary, HouseholdMember, Note, Step
from casework.permissions import visible_beneficiaries
from imports import services
from imports.apply import END_REASON_CODE, ApplyContext, end_reason, process_batch
from imports.models import BeneficiaryImport, ImportChange, ImportRowError
from imports.records import ImportedHouseholdMember, ImportRecord, RowError, RowResult
from imports.services import (
    beneficiary_import_from_path,
    beneficiary_import_process,
    beneficiary_imports_sweep,
)
from tests.accounts.factories import StructureFactory, member
from tests.casework.factories import BeneficiaryFactory, HouseholdMemberFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "organisme",
    "numero_allocataire",
    "nom",
    "prenom",
    "date_naissance",
    "sexe",
    "adresse",
    "code_postal",
    "commune",
    "code_insee",
    "telephone",
    "courriel",
    "statut_droits",
    "date_statut",
    "sdd",
    "date_entree_rsa",
]


def row(number: str, **values) -> dict:
    base = {
        "organisme": "CAF",
        "numero_allocataire": number,
        "nom": f"Nom{number}",
        "prenom": "Camille",
        "date_naissance": "12/05/1985",
        "sexe": "F",
        "adresse": "3 rue des Lilas",
        "code_postal": "59000",
        "commune": "Lille",
        "code_insee": "59350",
        "telephone": "0601020304",
        "courriel": "",
        "statut_droits": "ouvert",
        "date_statut": "01/02/2025",
        "sdd": "oui",
        "date_entree_rsa": "01/02/2025",
    }
    base.update(values)
    return base


def row_for(file: Beneficiary, **values) -> dict:
    """A row describing the file as it is, with these changes."""
    same = {
        "organisme": file.organism.upper(),
        "numero_allocataire": file.allocataire_number,
        "nom": file.last_name,
        "prenom": file.first_name,
        "date_naissance": f"{file.birth_date:%d/%m/%Y}",
        "sexe": file.sex,
        "adresse": file.address_line,
        "code_postal": file.postcode,
        "commune": file.commune,
        "code_insee": file.insee_code,
        "telephone": file.phone,
        "courriel": file.email,
        "statut_droits": file.rsa_status,
        "date_statut": f"{file.rsa_status_date:%d/%m/%Y}" if file.rsa_status_date else "",
        "sdd": "oui" if file.sdd else "non",
        "date_entree_rsa": f"{file.rsa_entry_date:%d/%m/%Y}" if file.rsa_entry_date else "",
    }
    return {**same, **values}


def write_csv(path, rows: list[dict], header: list[str] | None = None):
    columns = header or list(dict.fromkeys(name for r in rows for name in r)) or HEADER
    lines = [";".join(columns)]
    lines += [";".join(str(r.get(name, "")) for name in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def intake(settings):
    return StructureFactory(code=settings.IMPORT_INTAKE_STRUCTURE, name="Service insertion")


def run(path, *, dry_run=False) -> BeneficiaryImport:
    created = beneficiary_import_from_path(path=path, dry_run=dry_run)
    result = beneficiary_import_process(import_id=created.pk)
    assert result is not None, BeneficiaryImport.objects.get(pk=created.pk).error
    return result


def test_a_new_number_creates_a_file_awaiting_orientation_in_the_intake_queue(tmp_path, intake):
    rows = [row("1000001"), row("1000002", foyer="CJT:MARTIN:Léa:02/01/1980|ENF:MARTIN:Tom:04/03/2015")]
    path = write_csv(tmp_path / "entrants.csv", rows)

    done = run(path)

    assert (done.status, done.created_count, done.updated_count, done.refused_count) == ("done", 2, 0, 0)
    assert done.total_rows == done.rows_processed == 2
    file = Beneficiary.objects.get(allocataire_number="1000002")
    assert file.intake_structure == intake
    assert file.current_referent is None and file.current_structure is None
    assert (file.last_name, file.birth_date, file.rsa_status, file.is_active) == (
        "Nom1000002",
        datetime.date(1985, 5, 12),
        "open",
        True,
    )
    assert file.search_text == "nom1000002 camille"
    members = sorted(file.household_members.values_list("relationship", "first_name", "is_dependent"))
    assert members == [("child", "Tom", True), ("spouse", "Léa", False)]
    assert list(ImportChange.objects.filter(beneficiary=file).values_list("kind", flat=True)) == ["created"]


def test_a_known_number_updates_the_imported_fields_and_nothing_a_referent_entered(tmp_path, intake):
    referent = member(Role.REFERENT)
    file = BeneficiaryFactory(
        allocataire_number="2000001",
        referent=referent,
        address_line="1 place Rihour",
        phone="0611111111",
        france_travail_id="FT123",
        birth_date=datetime.date(1985, 5, 12),
        first_name="Camille",
        last_name="Nom2000001",
        sex="F",
        rsa_entry_date=datetime.date(2025, 2, 1),
        rsa_status_date=datetime.date(2025, 2, 1),
        email="",
    )
    Note.objects.create(beneficiary=file, author=referent, body="Rendez-vous pris.", visibility="followers")
    Step.objects.create(beneficiary=file, author=referent, kind="first_appointment", date=timezone.localdate())
    structure, version = file.current_structure, file.version
    # A blank phone in the file says nothing: the phone the referent typed stays.
    path = write_csv(
        tmp_path / "mai.csv", [row("2000001", adresse="8 rue Nationale", telephone="", statut_droits="suspendu")]
    )

    done = run(path)

    file.refresh_from_db()
    assert (done.created_count, done.updated_count, done.unchanged_count) == (0, 1, 0)
    assert done.field_counts == {"address_line": 1, "rsa_status": 1}
    assert (file.address_line, file.rsa_status, file.phone) == ("8 rue Nationale", "suspended", "0611111111")
    assert (file.current_referent, file.current_structure, file.france_travail_id) == (referent, structure, "FT123")
    assert file.intake_structure is None
    assert file.version == version + 1
    assert file.notes.count() == 1 and file.steps.count() == 1 and file.assignments.count() == 1
    changes = set(ImportChange.objects.filter(beneficiary=file).values_list("kind", "field", "old_value", "new_value"))
    assert changes == {
        ("updated", "address_line", "1 place Rihour", "8 rue Nationale"),
        ("updated", "rsa_status", "open", "suspended"),
    }


def test_rights_closed_end_the_support_without_deleting_anything(tmp_path, intake):
    referent = member(Role.REFERENT)
    file = BeneficiaryFactory(allocataire_number="3000001", referent=referent)
    path = write_csv(
        tmp_path / "sorties.csv",
        [row("3000001", nom=file.last_name, prenom=file.first_name, statut_droits="clos", date_statut="15/03/2026")],
    )

    done = run(path)

    file.refresh_from_db()
    assert done.closed_count == 1 and done.updated_count == 0
    assert (file.is_active, file.rsa_status, file.support_ended_on) == (False, "closed", datetime.date(2026, 3, 15))
    assert file.support_end_reason.code == END_REASON_CODE
    assert "Droits RSA clos" in file.support_end_summary
    assert file.current_referent == referent  # nothing deleted, the history stays
    closed = ImportChange.objects.get(beneficiary=file, kind="closed")
    assert (closed.field, closed.new_value) == ("support_ended_on", "2026-03-15")


def test_importing_the_same_file_twice_changes_nothing_the_second_time(tmp_path, intake):
    existing = BeneficiaryFactory(allocataire_number="4000009", address_line="ancienne adresse")
    rows = [row(f"40000{n:02d}") for n in range(9)]
    rows += [row("4000009", nom=existing.last_name, prenom=existing.first_name, foyer="ENF:A:Bo")]
    rows += [row("4000010", statut_droits="clos")]
    path = write_csv(tmp_path / "janvier.csv", rows)
    first = run(path)
    snapshot = list(Beneficiary.objects.order_by("pk").values())
    members = list(HouseholdMember.objects.order_by("pk").values())
    changes = ImportChange.objects.count()

    second = run(path)

    assert (first.created_count, first.updated_count) == (10, 1)
    assert (second.created_count, second.updated_count, second.closed_count, second.unchanged_count) == (0, 0, 0, 11)
    assert list(Beneficiary.objects.order_by("pk").values()) == snapshot
    assert list(HouseholdMember.objects.order_by("pk").values()) == members
    assert ImportChange.objects.count() == changes
    assert not ImportChange.objects.filter(beneficiary_import=second).exists()


def test_the_household_is_replaced_only_when_the_row_describes_it(tmp_path, intake):
    described = BeneficiaryFactory(allocataire_number="5000001", last_name="Nom5000001", first_name="Camille")
    silent = BeneficiaryFactory(allocataire_number="5000002", last_name="Nom5000002", first_name="Camille")
    HouseholdMemberFactory(beneficiary=described, first_name="Ancien", last_name="Conjoint", relationship="spouse")
    kept = HouseholdMemberFactory(beneficiary=silent, first_name="Zoé")
    with_household = write_csv(tmp_path / "foyer.csv", [row("5000001", foyer="ENF:Nom:Lou:01/01/2016")])
    without_column = write_csv(tmp_path / "sans-foyer.csv", [row("5000002")])

    run(with_household)
    run(without_column)

    assert list(described.household_members.values_list("first_name", "relationship")) == [("Lou", "child")]
    assert list(silent.household_members.all()) == [kept]
    change = ImportChange.objects.get(beneficiary=described, field="household")
    assert "Conjoint·e : Ancien Conjoint" in change.old_value and "Enfant : Lou Nom" in change.new_value


def test_a_dry_run_counts_what_would_change_and_writes_nothing_to_the_files(tmp_path, intake):
    file = BeneficiaryFactory(allocataire_number="6000001", last_name="Nom6000001", first_name="Camille")
    before = list(Beneficiary.objects.values())
    rows = [row("6000001", adresse="12 rue Neuve"), row("6000002"), row("6000003", date_naissance="31/02/1990")]
    rows.append(row("6000004", statut_droits="clos"))
    path = write_csv(tmp_path / "simulation.csv", rows)

    checked = run(path, dry_run=True)

    assert checked.status == "checked"
    assert (checked.created_count, checked.updated_count, checked.refused_count) == (2, 1, 1)
    assert checked.field_counts["address_line"] == 1
    assert list(Beneficiary.objects.values()) == before
    assert not ImportChange.objects.exists() and not HouseholdMember.objects.filter(beneficiary=file).exists()
    error = ImportRowError.objects.get(beneficiary_import=checked)
    assert (error.line, error.column) == (4, "date_naissance")


def test_refused_rows_are_reported_and_do_not_stop_the_others(tmp_path, intake):
    rows = [row("7000001"), row("ABC"), row("7000003", code_postal="590"), row("7000001"), row("7000005")]
    path = write_csv(tmp_path / "erreurs.csv", rows)

    done = run(path)

    assert (done.created_count, done.refused_count, done.rows_processed) == (2, 3, 5)
    lines = sorted(set(ImportRowError.objects.filter(beneficiary_import=done).values_list("line", flat=True)))
    assert lines == [3, 4, 5]
    assert all(error.message for error in ImportRowError.objects.all())
    assert set(Beneficiary.objects.values_list("allocataire_number", flat=True)) == {"7000001", "7000005"}


def test_a_crash_in_the_middle_of_the_second_batch_resumes_without_duplicates(tmp_path, intake, settings, monkeypatch):
    settings.IMPORT_BATCH_SIZE = 10
    existing = BeneficiaryFactory(allocataire_number="8000003", address_line="avant")
    rows = [row(f"80000{n:02d}") for n in range(35)]
    rows[3] = row_for(existing, adresse="après")
    rows[14] = row("8000014", statut_droits="clos")
    path = write_csv(tmp_path / "gros.csv", rows)
    created = beneficiary_import_from_path(path=path)
    real = services.process_batch
    calls = []

    def crash_in_second_batch(batch, *, context):
        calls.append(len(batch))
        counts = real(batch, context=context)  # the batch's writes are done...
        if len(calls) == 2:
            raise RuntimeError("worker lost")  # ...and rolled back with its transaction
        return counts

    monkeypatch.setattr(services, "process_batch", crash_in_second_batch)
    with pytest.raises(RuntimeError):
        beneficiary_import_process(import_id=created.pk)
    created.refresh_from_db()
    assert (created.status, created.attempts, created.rows_processed) == ("queued", 1, 10)
    assert "relancé automatiquement" in created.error
    assert Beneficiary.objects.filter(allocataire_number__startswith="8").count() == 10  # 9 new + 1 existing
    monkeypatch.setattr(services, "process_batch", real)

    done = beneficiary_import_process(import_id=created.pk)

    assert (done.status, done.attempts) == ("done", 2)
    numbers = list(Beneficiary.objects.values_list("allocataire_number", flat=True))
    assert len(numbers) == len(set(numbers)) == 35
    # The counts say what the import did over both attempts, not what the second attempt found.
    assert (done.created_count, done.updated_count, done.closed_count, done.unchanged_count) == (34, 1, 0, 0)
    assert ImportChange.objects.filter(beneficiary_import=done, kind="created").count() == 34
    assert ImportChange.objects.filter(beneficiary_import=done, kind="updated").count() == 1
    assert Beneficiary.objects.get(allocataire_number="8000014").is_active is False


def _batch(start: int, size: int, existing: dict[str, Beneficiary]) -> list[RowResult]:
    """Half new files, a quarter updates, a quarter closings with a household, and one refused row."""
    results = []
    for index in range(size):
        number = str(start + index)
        line = index + 2
        if index == 0:
            results.append(RowResult(line=line, errors=(RowError(line, "nom", "Nom manquant."),)))
            continue
        known = existing.get(number)
        record = ImportRecord(
            line=line,
            organism="caf",
            allocataire_number=number,
            first_name="Camille",
            last_name=known.last_name if known else f"Nouveau{number}",
            birth_date=known.birth_date if known else datetime.date(1980, 1, 1),
            rsa_status="closed" if known and index % 2 else "open",
            address_line=f"{index} rue du Lot",
            household=(ImportedHouseholdMember("child", "Tom", "Lot"),) if known else None,
        )
        results.append(RowResult(line=line, record=record))
    return results


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite splits bulk statements at its 999-parameter limit; the count is PostgreSQL's (CI)",
)
@pytest.mark.parametrize("size", [12, 120])
def test_a_batch_runs_the_same_number_of_queries_whatever_its_size(size, intake, django_user_model):
    existing = {}
    for index in range(size // 2, size):
        file = BeneficiaryFactory(allocataire_number=str(9_000_000 + index), first_name="Camille")
        HouseholdMemberFactory(beneficiary=file)
        existing[file.allocataire_number] = file
    admin = member(Role.DEPARTMENT_ADMIN)
    beneficiary_import = BeneficiaryImport.objects.create(
        uploaded_by=admin, original_name="lot.csv", file_name="x.csv", file_size=1, sha256="0" * 64, format="csv"
    )
    context = ApplyContext(
        beneficiary_import=beneficiary_import,
        intake_structure_id=intake.pk,
        end_reason_id=end_reason().pk,
        dry_run=False,
        today=timezone.localdate(),
    )
    rows = _batch(9_000_000, size, existing)

    with CaptureQueriesContext(connection) as queries:
        counts = process_batch(rows, context=context)

    # SELECT files (FOR UPDATE), SELECT households, INSERT files, UPDATE files, DELETE and INSERT household
    # members, INSERT changes, INSERT refused rows.
    assert len(queries) == 8, [query["sql"][:80] for query in queries]
    assert counts.refused == 1 and counts.created == size // 2 - 1
    assert counts.created + counts.updated + counts.closed + counts.refused == size


def test_people_of_the_intake_structure_see_its_queue_until_a_referent_is_designated(tmp_path, intake):
    intake_referent = member(Role.REFERENT, structure=intake)
    intake_supervisor = member(Role.SUPERVISOR, structure=intake)
    intake_admin = member(Role.DEPARTMENT_ADMIN, structure=intake)
    elsewhere = member(Role.REFERENT)
    gone = member(Role.REFERENT, structure=intake)
    gone.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    run(write_csv(tmp_path / "entrants.csv", [row("1100001"), row("1100002")]))
    queued = Beneficiary.objects.get(allocataire_number="1100001")

    assert set(visible_beneficiaries(intake_referent)) == set(Beneficiary.objects.all())
    assert set(visible_beneficiaries(intake_supervisor)) == set(Beneficiary.objects.all())
    for outsider in (intake_admin, elsewhere, gone):
        assert not visible_beneficiaries(outsider).exists()

    from casework.services import beneficiary_assign_referent

    beneficiary_assign_referent(
        actor=intake_supervisor,
        beneficiary=queued,
        referent=elsewhere,
        structure=elsewhere.memberships.get().structure,
        reason="Orientation sociale",
    )
    assert list(visible_beneficiaries(intake_referent).values_list("allocataire_number", flat=True)) == ["1100002"]
    assert list(visible_beneficiaries(elsewhere)) == [queued]


def test_the_intake_scope_is_one_query(intake, django_assert_num_queries):
    user = member(Role.REFERENT, structure=intake)
    BeneficiaryFactory.create_batch(3, intake_structure=intake)
    user.active_memberships  # noqa: B018 (loaded once per request, by the middleware)
    with django_assert_num_queries(1):
        assert len(list(visible_beneficiaries(user))) == 3


def test_the_timeline_shows_what_an_import_changed_to_those_who_read_the_file(client, tmp_path, intake):
    referent = member(Role.REFERENT)
    file = BeneficiaryFactory(allocataire_number="1200001", referent=referent, address_line="1 place Rihour")
    run(
        write_csv(
            tmp_path / "caf.csv",
            [row_for(file, adresse="8 rue Nationale", sdd="non")],
        )
    )
    client.force_login(referent)

    page = client.get(reverse("casework:file_detail", args=[file.public_id]))

    html = page.content.decode()
    day = f"{timezone.localdate():%d/%m/%Y}"
    assert f"Mise à jour par l&#x27;import CAF du {day} : adresse, soumis aux droits et devoirs" in html
    assert "1 place Rihour → 8 rue Nationale" in html and "oui → non" in html
    client.force_login(member(Role.REFERENT))
    assert client.get(reverse("casework:file_detail", args=[file.public_id])).status_code == 404


def test_the_sweeper_enqueues_stuck_imports_again_and_fails_those_out_of_attempts(tmp_path, intake, settings):
    path = write_csv(tmp_path / "a.csv", [row("1300001")])
    stuck = beneficiary_import_from_path(path=path)
    exhausted = beneficiary_import_from_path(path=path)
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 5)
    BeneficiaryImport.objects.filter(pk=stuck.pk).update(status="running", attempts=1, heartbeat_at=long_ago)
    BeneficiaryImport.objects.filter(pk=exhausted.pk).update(
        status="queued", attempts=settings.IMPORT_MAX_ATTEMPTS, heartbeat_at=long_ago
    )

    result = beneficiary_imports_sweep()

    assert (result.requeued, result.failed) == ([stuck.pk], [exhausted.pk])
    stuck.refresh_from_db()
    exhausted.refresh_from_db()
    assert stuck.status == "queued" and exhausted.status == "failed"
    # Once enqueued again (eagerly here), it completes.
    assert beneficiary_import_process(import_id=stuck.pk).status == "done"


def test_an_import_without_its_intake_structure_fails_with_a_clear_message(tmp_path):
    created = beneficiary_import_from_path(path=write_csv(tmp_path / "a.csv", [row("1400001")]))

    assert beneficiary_import_process(import_id=created.pk) is None

    created.refresh_from_db()
    assert created.status == "failed" and "IMPORT_INTAKE_STRUCTURE" in created.error
    assert not Beneficiary.objects.exists()


def test_a_file_refused_as_a_whole_is_never_stored(tmp_path, private_media):
    path = write_csv(tmp_path / "mauvais.csv", [{"nom": "X", "prenom": "Y"}])
    with pytest.raises(ValidationError) as refused:
        beneficiary_import_from_path(path=path)
    assert "obligatoire" in " ".join(refused.value.message_dict["file"])
    assert not BeneficiaryImport.objects.exists()
    assert not any((private_media / "imports").glob("*"))


def test_the_drop_folder_command_imports_new_files_and_skips_those_already_imported(tmp_path, intake):
    folder = tmp_path / "depot"
    folder.mkdir()
    write_csv(folder / "janvier.csv", [row("1500001"), row("1500002")])
    write_csv(folder / "fevrier.csv", [row("1500003")])
    output = io.StringIO()

    call_command("import_beneficiaries", str(folder), stdout=output)

    assert sorted(path.name for path in (folder / "traites").iterdir()) == ["fevrier.csv", "janvier.csv"]
    assert Beneficiary.objects.count() == 3
    assert "janvier.csv : 2 créés" in output.getvalue()
    # The same file dropped again is skipped (same SHA-256), and moved aside.
    write_csv(folder / "janvier-bis.csv", [row("1500001"), row("1500002")])
    output = io.StringIO()
    call_command("import_beneficiaries", str(folder), stdout=output)
    assert "déjà importé" in output.getvalue()
    assert BeneficiaryImport.objects.filter(dry_run=False).count() == 2


def test_the_drop_folder_command_exits_non_zero_when_a_file_is_refused(tmp_path, intake):
    folder = tmp_path / "depot"
    folder.mkdir()
    write_csv(folder / "bon.csv", [row("1600001")])
    (folder / "mauvais.csv").write_text("nom;prenom\nA;B\n", encoding="utf-8")
    output, errors = io.StringIO(), io.StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("import_beneficiaries", str(folder), stdout=output, stderr=errors)

    assert exit_info.value.code == 1
    assert "mauvais.csv" in errors.getvalue() and "obligatoire" in errors.getvalue()
    assert (folder / "traites" / "bon.csv").exists() and (folder / "mauvais.csv").exists()
    assert Beneficiary.objects.count() == 1


def test_the_drop_folder_command_dry_run_writes_nothing_and_moves_nothing(tmp_path, intake):
    folder = tmp_path / "depot"
    folder.mkdir()
    write_csv(folder / "janvier.csv", [row("1700001")])
    output = io.StringIO()

    call_command("import_beneficiaries", str(folder), "--dry-run", stdout=output)

    assert not Beneficiary.objects.exists() and (folder / "janvier.csv").exists()
    assert "1 à créer" in output.getvalue()


def test_the_intake_structures_supervisor_designates_the_first_referent_from_the_queue(tmp_path, intake, client):
    """The queue is actionable: the supervisor of the intake structure may act on its files (can_change)
    and gives them their first referent through the reassignment screen; other supervisors may not."""
    from django.urls import reverse

    from casework.permissions import can_change

    intake_supervisor = member(Role.SUPERVISOR, structure=intake)
    intake_referent = member(Role.REFERENT, structure=intake)
    other_supervisor = member(Role.SUPERVISOR)
    run(write_csv(tmp_path / "entrants.csv", [row("1200001")]))
    queued = Beneficiary.objects.get(allocataire_number="1200001")

    assert can_change(intake_supervisor, queued)
    assert not can_change(intake_referent, queued)  # sees the queue, does not designate
    client.force_login(other_supervisor)
    assert client.get(reverse("team:reassign"), {"dossier": str(queued.public_id)}).status_code == 404

    client.force_login(intake_supervisor)
    membership = intake_referent.memberships.get()
    response = client.post(
        f"{reverse('team:reassign')}?dossier={queued.public_id}",
        {"dossiers": [str(queued.public_id)], "referent": membership.pk, "reason": "Premier rendez-vous"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    queued.refresh_from_db()
    assert (queued.current_referent, queued.current_structure) == (intake_referent, intake)
