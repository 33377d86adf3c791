"""The import screens (casework/views/imports.py): department admins only, upload with a dry run by
default, progress, result, launch of the real import, refused rows and their CSV."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from casework.models import Beneficiary
from imports.models import BeneficiaryImport, ImportColumnMapping, ImportRowError
from tests.accounts.factories import StructureFactory, member
from tests.conftest import HEADER_QUERIES, SESSION_QUERIES
from tests.imports.test_apply import row, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def intake(settings):
    return StructureFactory(code=settings.IMPORT_INTAKE_STRUCTURE)


@pytest.fixture
def admin(intake):
    return member(Role.DEPARTMENT_ADMIN, structure=intake)


def upload(client, tmp_path, rows, *, dry_run=True, name="caf.csv", **data):
    path = write_csv(tmp_path / name, rows)
    payload = {"file": SimpleUploadedFile(name, path.read_bytes(), content_type="text/csv"), **data}
    if dry_run:
        payload["dry_run"] = "on"
    return client.post(reverse("imports:list"), payload)


@pytest.fixture
def finished_import(admin, tmp_path):
    from imports.services import beneficiary_import_from_path, beneficiary_import_process

    rows = [row("1000001"), row("12AB", nom='=HYPERLINK("http://x")'), row("1000003", date_naissance="31/02/1990")]
    created = beneficiary_import_from_path(path=write_csv(tmp_path / "a.csv", rows), dry_run=True)
    BeneficiaryImport.objects.filter(pk=created.pk).update(uploaded_by=admin)
    return beneficiary_import_process(import_id=created.pk)


def urls(beneficiary_import):
    args = [beneficiary_import.public_id]
    return [
        ("get", reverse("imports:list")),
        ("get", reverse("imports:detail", args=args)),
        ("post", reverse("imports:run", args=args)),
        ("get", reverse("imports:errors_export", args=args)),
    ]


@pytest.mark.parametrize("role", [Role.REFERENT, Role.SUPERVISOR, Role.AUDITOR])
def test_only_department_admins_reach_the_import_screens(client, finished_import, role, intake):
    client.force_login(member(role, structure=intake))
    for method, url in urls(finished_import):
        assert getattr(client, method)(url).status_code == 403, url
    assert client.post(reverse("imports:list"), {}).status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(client, finished_import):
    for method, url in urls(finished_import):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_every_department_admin_sees_every_import_and_an_unknown_one_is_a_404(client, finished_import):
    client.force_login(member(Role.DEPARTMENT_ADMIN))  # another admin, in another structure
    assert client.get(reverse("imports:detail", args=[finished_import.public_id])).status_code == 200
    assert finished_import.original_name in client.get(reverse("imports:list")).content.decode()
    unknown = "00000000-0000-0000-0000-000000000000"
    assert client.get(reverse("imports:detail", args=[unknown])).status_code == 404
    assert client.post(reverse("imports:run", args=[unknown])).status_code == 404
    assert client.get(reverse("imports:errors_export", args=[unknown])).status_code == 404


def test_an_upload_is_a_dry_run_by_default_then_launching_it_imports_the_same_file(
    client, admin, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    form = client.get(reverse("imports:list")).content.decode()
    assert 'name="dry_run"' in form and "checked" in form.split('name="dry_run"')[1].split(">")[0]

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, tmp_path, [row("2000001"), row("2000002"), row("bad")])

    checked = BeneficiaryImport.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("imports:detail", args=[checked.public_id])
    assert (checked.dry_run, checked.status, checked.created_count, checked.refused_count) == (True, "checked", 2, 1)
    assert not Beneficiary.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "Ce que l'import ferait" in page and "Lancer l'import" in page
    assert "Lignes refusées (1)" in page

    with django_capture_on_commit_callbacks(execute=True):
        launched = client.post(reverse("imports:run", args=[checked.public_id]))

    real = BeneficiaryImport.objects.get(dry_run=False)
    assert launched.status_code == 303
    assert (real.status, real.dry_run_of, real.file_name, real.created_count) == (
        "done",
        checked,
        checked.file_name,
        2,
    )
    assert Beneficiary.objects.count() == 2
    # Launching twice is refused: the import was already launched from this dry run.
    again = client.post(reverse("imports:run", args=[checked.public_id]))
    assert again.status_code == 409 and "déjà été lancé" in again.content.decode()
    assert BeneficiaryImport.objects.filter(dry_run=False).count() == 1


def test_a_file_refused_as_a_whole_is_a_form_error_and_nothing_is_queued(client, admin, tmp_path):
    client.force_login(admin)

    missing_column = upload(client, tmp_path, [{"nom": "A", "prenom": "B"}])
    wrong_format = client.post(
        reverse("imports:list"), {"file": SimpleUploadedFile("photo.png", b"\x89PNG\r\n"), "dry_run": "on"}
    )

    assert missing_column.status_code == 400 and "obligatoire" in missing_column.content.decode()
    assert wrong_format.status_code == 400 and "Format non reconnu" in wrong_format.content.decode()
    assert not BeneficiaryImport.objects.exists()


def test_an_upload_bigger_than_the_limit_is_refused(client, admin, tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 100
    client.force_login(admin)

    response = upload(client, tmp_path, [row(f"{n}") for n in range(1, 10)])

    assert response.status_code == 400 and "taille maximale" in response.content.decode()
    assert not BeneficiaryImport.objects.exists()


def test_a_saved_column_mapping_is_used_and_kept_on_the_import(client, admin, tmp_path):
    mapping = ImportColumnMapping.objects.create(name="CAF du Nord", mapping={"matr": "numero_allocataire"})
    client.force_login(admin)
    renamed = [{("matr" if key == "numero_allocataire" else key): value for key, value in row("3000001").items()}]

    response = upload(client, tmp_path, renamed, mapping=mapping.pk)

    assert response.status_code == 303
    assert BeneficiaryImport.objects.get().mapping == {"matr": "numero_allocataire"}


def test_the_progress_partial_is_what_htmx_polls(client, admin, tmp_path):
    client.force_login(admin)
    upload(client, tmp_path, [row("4000001")])  # not run: on_commit callbacks are not executed here
    queued = BeneficiaryImport.objects.get()

    partial = client.get(reverse("imports:detail", args=[queued.public_id]), headers={"HX-Request": "true"})

    html = partial.content.decode()
    assert queued.status == "queued"
    assert 'hx-trigger="every 2s"' in html and "<html" not in html and "En attente" in html


def test_a_history_restore_of_an_import_gets_the_whole_page(client, admin, tmp_path):
    """htmx asks again for a page missing from its history cache (the back button): it needs the page."""
    client.force_login(admin)
    upload(client, tmp_path, [row("4000001")])
    url = reverse("imports:detail", args=[BeneficiaryImport.objects.get().public_id])
    restored = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restored.content.decode()
    assert "HX-Request" in restored["Vary"]


def test_the_refused_rows_download_as_a_formula_safe_csv(client, admin, finished_import):
    client.force_login(admin)

    response = client.get(reverse("imports:errors_export", args=[finished_import.public_id]))

    content = b"".join(response.streaming_content).decode("utf-8")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert content.startswith("\ufeffligne;effet;colonne;motif;valeur\r\n")
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) - 1 == ImportRowError.objects.filter(beneficiary_import=finished_import).count() >= 2
    assert {(r[0], r[1]) for r in rows[1:]} == {("3", "Ligne refusée"), ("4", "Ligne refusée")}
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows[1:] for cell in r)


def test_the_import_list_runs_a_constant_number_of_queries(client, admin, tmp_path, django_assert_num_queries):
    from imports.services import beneficiary_import_from_path

    for index in range(25):
        beneficiary_import_from_path(path=write_csv(tmp_path / f"{index}.csv", [row(f"{5000000 + index}")]))
    client.force_login(admin)
    client.get(reverse("imports:list"))  # the session and the memberships are warm

    # user, SAVEPOINT, memberships, count, page (with who uploaded), the mapping choices, RELEASE, then the
    # session's save: whatever the number of imports.
    with django_assert_num_queries(7 + SESSION_QUERIES + HEADER_QUERIES):
        assert client.get(reverse("imports:list")).status_code == 200


@pytest.mark.ignore_unknown_template_variables
def test_a_department_admin_keeps_the_column_mappings_in_the_admin(client, admin):
    client.force_login(admin)
    url = reverse("admin:imports_importcolumnmapping_add")

    refused = client.post(url, {"name": "MSA", "mapping": '{"Matricule MSA": "numero_inconnu"}'})
    saved = client.post(url, {"name": "MSA", "mapping": '{"N° Matricule MSA": "numero_allocataire", "Agence": ""}'})

    assert refused.status_code == 200 and "colonne « numero_inconnu » inconnue" in refused.content.decode()
    assert saved.status_code == 302
    mapping = ImportColumnMapping.objects.get()
    assert mapping.mapping == {"nmatriculemsa": "numero_allocataire", "agence": ""}
    assert (mapping.created_by, mapping.updated_by) == (admin, admin)
    client.force_login(member(Role.REFERENT))
    assert client.get(url).status_code == 302  # the admin site is closed to anyone else


def test_the_import_page_gives_the_file_size_in_french_units(client, admin, finished_import):
    BeneficiaryImport.objects.filter(pk=finished_import.pk).update(file_size=3 * 1024 * 1024 + 512 * 1024)
    client.force_login(admin)
    html = client.get(reverse("imports:detail", args=[finished_import.public_id])).content.decode()
    assert "3,5\u00a0Mo" in html
    assert "Mio" not in html and "Kio" not in html
