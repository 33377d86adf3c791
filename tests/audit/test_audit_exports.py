"""Exports of the audit trail: what the file holds, how the background write behaves when run twice,
crashed or lost, the sweeper and the expiry, and who may see, follow and download an export."""

import csv
import datetime
import io
import json
import os
from html import unescape
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit import exports as audit_exports
from audit.exports import (
    HEADER,
    ClaimLost,
    audit_export_request,
    audit_export_write,
    audit_exports_delete_expired,
    audit_exports_sweep,
    export_directory,
)
from audit.models import AuditEvent, AuditExport
from audit.tasks import export_audit_events
from audit.trail import audit_record, response_label, screen_name
from core.csv import FORMULA_PREFIXES
from tests.accounts.factories import StructureFactory, member
from tests.casework.factories import BeneficiaryFactory
from tests.conftest import HEADER_QUERIES

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def auditor():
    return member(Role.AUDITOR, structure=StructureFactory(name="Direction"), username="dpo")


@pytest.fixture
def other_auditor():
    return member(Role.AUDITOR, username="dpo-adjoint")


@pytest.fixture
def referent():
    return member(Role.REFERENT, structure=StructureFactory(name="MDS Nord"), username="referente")


def record(action, user, **fields):
    return audit_record(action=action, user=user, url_name="casework:file_detail", status_code=200, **fields)


def request_export(user, *, format="csv", **filters):  # noqa: A002 (the form's field name)
    with mock.patch.object(export_audit_events, "delay_on_commit") as enqueue:
        export = audit_export_request(actor=user, filters=filters, format=format)
    enqueue.assert_called_once_with(export.pk)
    return export


def written(export: AuditExport) -> bytes:
    export.refresh_from_db()
    return (export_directory() / export.file_name).read_bytes()


def csv_rows(content: bytes) -> list[dict]:
    assert content.startswith("\ufeff".encode()), "a CSV opens in a French spreadsheet with its BOM"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


# The file's content -------------------------------------------------------------------------------


def test_the_file_holds_exactly_the_filtered_rows_and_not_events_added_after_the_request(auditor, referent):
    file = BeneficiaryFactory(referent=referent)
    wanted = [record(Action.VIEW_FILE, referent, beneficiary=file) for _ in range(3)]
    record(Action.VIEW_LIST, referent)
    record(Action.LOGIN, referent)
    export = request_export(auditor, action=[Action.VIEW_FILE])
    record(Action.VIEW_FILE, referent, beneficiary=file)  # after the request: not in the export

    audit_export_write(export_id=export.pk)

    export.refresh_from_db()
    rows = csv_rows(written(export))
    assert [int(row["id"]) for row in rows] == [event.pk for event in wanted]
    assert export.status == AuditExport.Status.DONE
    assert export.total_rows == export.rows_written == 3
    assert export.file_size == len(written(export))
    assert export.expires_at == export.finished_at + datetime.timedelta(days=7)
    assert export.attempts == 1 and export.error == ""


def test_the_csv_parses_back_with_every_column(auditor, referent):
    file = BeneficiaryFactory(referent=referent, allocataire_number="1234567")
    event = record(
        Action.EMERGENCY_ACCESS,
        referent,
        beneficiary=file,
        object_type="note",
        object_id="abc",
        reason="Signalement urgent",
        details={"filters": {"statut": ["open"]}, "count": 2},
    )
    export = request_export(auditor)

    audit_export_write(export_id=export.pk)

    (row,) = [row for row in csv_rows(written(export)) if row["id"] == str(event.pk)]
    assert list(row) == HEADER
    occurred = datetime.datetime.fromisoformat(row["date_heure"])
    assert occurred == event.occurred_at and occurred.utcoffset() in {
        datetime.timedelta(hours=1),
        datetime.timedelta(hours=2),
    }, "times are written in Europe/Paris, with their offset"
    assert row["utilisateur_id"] == str(referent.pk) and row["identifiant"] == "referente"
    assert row["structures"] == "MDS Nord" and row["roles"] == Role.REFERENT
    assert row["action"] == "emergency_access" and row["action_libelle"] == "Accès exceptionnel"
    assert row["ecran"] == "casework:file_detail" and row["code_reponse"] == "200"
    assert row["ecran_libelle"] == "Page du dossier" and row["reponse_libelle"] == "accepté"
    assert row["beneficiaire"] == str(file.public_id) and row["numero_allocataire"] == "1234567"
    assert (row["type_objet"], row["objet"], row["motif"]) == ("note", "abc", "Signalement urgent")
    assert json.loads(row["details"]) == {"filters": {"statut": ["open"]}, "count": 2}
    assert row["jour_chaine"] == event.chain_day.isoformat()
    assert (row["chaine"], row["rang"]) == (str(event.chain_shard), str(event.sequence))
    assert (row["empreinte"], row["empreinte_precedente"]) == (event.hash, event.previous_hash)
    assert row["requete"] == event.request_id and row["adresse_ip"] == ""


def test_the_jsonl_has_one_object_per_line_with_the_csv_keys(auditor, referent):
    file = BeneficiaryFactory(referent=referent)
    events = [record(Action.VIEW_FILE, referent, beneficiary=file, details={"n": n}) for n in range(2)]
    record(Action.LOGOUT, referent)
    export = request_export(auditor, format="jsonl", action=[Action.VIEW_FILE])

    audit_export_write(export_id=export.pk)

    lines = written(export).decode("utf-8").splitlines()
    objects = [json.loads(line) for line in lines]
    assert [item["id"] for item in objects] == [event.pk for event in events]
    assert all(list(item) == HEADER for item in objects)
    assert [item["details"] for item in objects] == [{"n": 0}, {"n": 1}]
    assert objects[0]["beneficiaire"] == str(file.public_id)
    assert objects[0]["code_reponse"] == 200 and objects[0]["numero_allocataire"] == file.allocataire_number


def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(auditor):
    attacker = member(Role.REFERENT, username="=cmd|' /C calc'!A0")
    event = record(Action.WRITE, attacker, object_type="+note", object_id="-1", reason="@SUM(A1:A9)")
    export = request_export(auditor, utilisateur="=cmd|' /C calc'!A0")

    audit_export_write(export_id=export.pk)

    (row,) = csv_rows(written(export))
    assert row["id"] == str(event.pk)
    assert row["identifiant"] == "'=cmd|' /C calc'!A0"
    assert (row["type_objet"], row["objet"], row["motif"]) == ("'+note", "'-1", "'@SUM(A1:A9)")
    assert not any(value.startswith(FORMULA_PREFIXES) for value in row.values())


def test_the_filters_are_those_of_the_audit_search(auditor, referent):
    other = member(Role.REFERENT, structure=StructureFactory(name="MDS Sud"))
    file = BeneficiaryFactory(referent=referent, allocataire_number="7654321")
    mine = record(Action.VIEW_FILE, referent, beneficiary=file)
    record(Action.VIEW_FILE, other, beneficiary=BeneficiaryFactory(referent=other))
    structure = referent.active_memberships[0].structure
    export = request_export(auditor, beneficiaire="7654321", structure=str(structure.pk))

    audit_export_write(export_id=export.pk)

    assert [row["id"] for row in csv_rows(written(export))] == [str(mine.pk)]
    assert export.filters == {"beneficiaire": ["7654321"], "structure": [str(structure.pk)]}


def test_invalid_filters_or_format_are_refused_in_french(auditor):
    with pytest.raises(ValidationError) as error:
        audit_export_request(actor=auditor, filters={"du": "2026-02-10", "au": "2026-02-01"}, format="csv")
    assert "La date de fin" in str(error.value)
    with pytest.raises(ValidationError, match="CSV ou JSON Lines"):
        audit_export_request(actor=auditor, filters={}, format="xlsx")
    assert not AuditExport.objects.exists()


def test_only_an_auditor_may_ask_for_an_export(referent):
    with pytest.raises(PermissionDenied):
        audit_export_request(actor=referent, filters={}, format="csv")
    assert not AuditExport.objects.exists()


def test_the_broker_message_carries_the_export_id_only(auditor, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(export_audit_events, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        export = audit_export_request(actor=auditor, filters={"beneficiaire": ["1234567"]}, format="csv")
    delay.assert_called_once_with(export.pk)


def test_the_task_runs_eagerly_after_the_commit(auditor, referent, django_capture_on_commit_callbacks):
    event = record(Action.LOGIN, referent)
    with django_capture_on_commit_callbacks(execute=True):
        export = audit_export_request(actor=auditor, filters={}, format="jsonl")
    export.refresh_from_db()
    assert export.status == AuditExport.Status.DONE
    assert json.loads(written(export).splitlines()[0])["id"] == event.pk


def tricky_event(referent):
    """An event whose cells hold everything a writer could get wrong."""
    return record(
        Action.SHARE,
        referent,
        object_type="@note",
        object_id='-1;"2"',
        reason='=HYPERLINK("x")\r\nsuite; élève « ça »',
        details={"chemin": "C:\\dossier\\n", "cité": 'il a dit "non"', "lignes": "a\nb\tc", "vide": ""},
    )


def python_written(export: AuditExport) -> bytes:
    """The file as the Python writer (SQLite's) writes it, on any database."""
    with mock.patch.object(audit_exports, "_batch_writer", return_value=audit_exports._python_batch):
        copy = AuditExport.objects.create(
            requested_by=export.requested_by,
            format=export.format,
            filters=export.filters,
            last_event_id=export.last_event_id,
        )
        audit_export_write(export_id=copy.pk)
    return written(copy)


def test_tricky_cells_are_written_byte_for_byte(auditor):
    referent = member(Role.REFERENT, username='dupont;"jr"\nbis', structure=StructureFactory(name="MDS Nord"))
    event = tricky_event(referent)
    record(Action.LOGIN, referent, reason="")  # empty cells are empty, not ""
    export = request_export(auditor, utilisateur='dupont;"jr"\nbis')

    audit_export_write(export_id=export.pk)

    content = written(export)
    assert content.startswith("\ufeffid;date_heure;utilisateur_id;".encode())
    text = content.decode("utf-8-sig")
    assert f"\r\n{event.pk};" in text and ';"dupont;""jr""\nbis";MDS Nord;referent;share;' in text
    assert ';\'@note;"\'-1;""2""";' in text, "formula-like cells get a quote, then CSV quoting"
    assert ';"\'=HYPERLINK(""x"")\r\nsuite; élève « ça »";' in text
    login_line = text.split("\r\n")[-2]
    assert ";200;;;;;;;;;{};" in login_line, "an empty cell is empty, not quoted"
    (row, login) = csv_rows(content)
    assert row["motif"] == '\'=HYPERLINK("x")\r\nsuite; élève « ça »'
    assert json.loads(row["details"])["chemin"] == "C:\\dossier\\n" and login["motif"] == ""
    assert content == python_written(export), "COPY writes what Python's csv module writes"


def test_jsonl_values_with_backslashes_quotes_and_newlines_parse_back_unchanged(auditor, referent):
    event = tricky_event(referent)
    export = request_export(auditor, format="jsonl")

    audit_export_write(export_id=export.pk)

    content = written(export)
    lines = content.decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 2, "one object per line, each ending with a newline"
    item = json.loads(lines[0])
    assert list(item) == HEADER and item["id"] == event.pk
    assert item["details"] == {"chemin": "C:\\dossier\\n", "cité": 'il a dit "non"', "lignes": "a\nb\tc", "vide": ""}
    assert item["motif"] == '=HYPERLINK("x")\r\nsuite; élève « ça »', "no formula quote in JSON"
    assert (item["objet"], item["type_objet"], item["adresse_ip"]) == ('-1;"2"', "@note", None)
    assert content == python_written(export), "PostgreSQL writes what json.dumps writes"


@pytest.mark.parametrize("format", ["csv", "jsonl"])
@pytest.mark.parametrize("count", [3, 6, 7])
def test_batches_end_exactly_at_the_batch_size_without_losing_or_repeating_rows(auditor, referent, format, count):
    events = [record(Action.VIEW_LIST, referent) for _ in range(count)]
    export = request_export(auditor, format=format)

    with (
        mock.patch.object(audit_exports, "BATCH_SIZE", 3),
        mock.patch.object(audit_exports, "_report_progress", wraps=audit_exports._report_progress) as report,
    ):
        audit_export_write(export_id=export.pk)

    content = written(export)
    ids = (
        [row["id"] for row in csv_rows(content)]
        if format == "csv"
        else [str(json.loads(line)["id"]) for line in content.splitlines()]
    )
    assert ids == [str(event.pk) for event in events]
    assert [call.args[1] for call in report.call_args_list] == list(range(3, count + 1, 3)) + (
        [count] if count % 3 else []
    )
    export.refresh_from_db()
    assert export.rows_written == export.total_rows == count and export.file_size == len(content)


def crash_after(batches: int):
    """A batch writer that dies after `batches` batches, as a killed worker would."""
    real = audit_exports._batch_writer()
    calls = []

    def writer(*args, **kwargs):
        calls.append(kwargs["after"])
        if len(calls) > batches:
            raise OSError("tué")
        return real(*args, **kwargs)

    writer.calls = calls
    return writer


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_a_later_attempt_carries_on_after_the_last_reported_batch(auditor, referent, format):
    events = [record(Action.VIEW_LIST, referent, details={"n": n, "\\": "\n"}) for n in range(7)]
    export = request_export(auditor, format=format)
    expected = python_written(export)

    with mock.patch.object(audit_exports, "BATCH_SIZE", 3):
        with mock.patch.object(audit_exports, "_batch_writer", return_value=crash_after(2)), pytest.raises(OSError):
            audit_export_write(export_id=export.pk)
        export.refresh_from_db()
        assert (export.status, export.attempts, export.rows_written) == ("queued", 1, 6)
        assert (export_directory() / f"{export.public_id}.1.part").stat().st_size == export.file_size

        again = crash_after(10)
        with mock.patch.object(audit_exports, "_batch_writer", return_value=again):
            audit_export_write(export_id=export.pk)

    # Its sixth row checked (rendered again), then one batch left, after it.
    assert again.calls == [events[5].pk - 1, events[5].pk]
    assert written(export) == expected
    export.refresh_from_db()
    assert (export.status, export.attempts, export.rows_written) == ("done", 2, 7)
    assert not list(export_directory().glob("*.part")), "the previous attempt's file is gone"


def test_a_previous_file_that_does_not_end_with_the_expected_row_is_started_over(auditor, referent):
    events = [record(Action.VIEW_LIST, referent) for _ in range(5)]
    export = request_export(auditor)
    expected = python_written(export)
    with mock.patch.object(audit_exports, "BATCH_SIZE", 2):
        with mock.patch.object(audit_exports, "_batch_writer", return_value=crash_after(1)), pytest.raises(OSError):
            audit_export_write(export_id=export.pk)
        partial = export_directory() / f"{export.public_id}.1.part"
        partial.write_bytes(partial.read_bytes().replace(str(events[1].pk).encode(), b"999999"))

        again = crash_after(10)
        with mock.patch.object(audit_exports, "_batch_writer", return_value=again):
            audit_export_write(export_id=export.pk)

    assert again.calls[:2] == [events[1].pk - 1, 0], "checked, then from the start"
    assert written(export) == expected


@pytest.mark.django_db(transaction=True)
def test_the_worker_streams_one_copy_and_reports_each_batch_on_its_own_connection(auditor, referent):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    events = [record(Action.VIEW_LIST, referent) for _ in range(5)]
    export = request_export(auditor)

    with (
        mock.patch.object(audit_exports, "BATCH_SIZE", 2),
        mock.patch.object(audit_exports, "_copy_batch", wraps=audit_exports._copy_batch) as copy,
        mock.patch.object(audit_exports, "_report_progress", wraps=audit_exports._report_progress) as report,
    ):
        audit_export_write(export_id=export.pk)

    assert [call.kwargs["limit"] for call in copy.call_args_list] == [None], "one statement for every row"
    assert [call.args[1] for call in report.call_args_list] == [2, 4, 5]
    assert all(call.kwargs["on"] is not connection for call in report.call_args_list)
    assert [int(row["id"]) for row in csv_rows(written(export))] == [event.pk for event in events]


# Idempotence, claims, failures -------------------------------------------------------------------


def test_running_the_write_twice_gives_the_same_file_and_no_duplicates(auditor, referent):
    events = [record(Action.VIEW_LIST, referent) for _ in range(5)]
    export = request_export(auditor)
    audit_export_write(export_id=export.pk)
    first = written(export)

    assert audit_export_write(export_id=export.pk) is None, "a done export is not written again"
    # The same message delivered again after a crash that lost the "done" (the row says running, silent):
    AuditExport.objects.filter(pk=export.pk).update(
        status=AuditExport.Status.RUNNING, heartbeat_at=timezone.now() - datetime.timedelta(hours=1)
    )
    audit_export_write(export_id=export.pk)

    again = written(export)
    assert again == first
    ids = [row["id"] for row in csv_rows(again)]
    assert ids == [str(event.pk) for event in events] and len(set(ids)) == len(ids)
    export.refresh_from_db()
    assert export.attempts == 2 and export.rows_written == 5
    assert sorted(path.name for path in export_directory().iterdir()) == [export.file_name]


def test_a_claim_held_by_a_live_attempt_is_not_taken(auditor, referent):
    record(Action.LOGIN, referent)
    export = request_export(auditor)
    AuditExport.objects.filter(pk=export.pk).update(
        status=AuditExport.Status.RUNNING, attempts=1, heartbeat_at=timezone.now() - datetime.timedelta(seconds=30)
    )

    assert audit_export_write(export_id=export.pk) is None

    export.refresh_from_db()
    assert export.status == AuditExport.Status.RUNNING and export.attempts == 1
    assert not export_directory().exists() or not any(export_directory().iterdir())


def test_a_claim_whose_worker_went_silent_is_taken_over(auditor, referent, settings):
    settings.AUDIT_EXPORT_STALE_SECONDS = 60
    record(Action.LOGIN, referent)
    export = request_export(auditor)
    AuditExport.objects.filter(pk=export.pk).update(
        status=AuditExport.Status.RUNNING, attempts=1, heartbeat_at=timezone.now() - datetime.timedelta(seconds=61)
    )

    audit_export_write(export_id=export.pk)

    export.refresh_from_db()
    assert export.status == AuditExport.Status.DONE and export.attempts == 2
    assert len(csv_rows(written(export))) == 1


def test_an_attempt_that_lost_its_claim_stops_writing(auditor, referent, settings):
    settings.AUDIT_EXPORT_STALE_SECONDS = 60
    record(Action.LOGIN, referent)
    export = request_export(auditor)
    claimed = audit_exports._claim(export.pk)
    # Silent too long: the sweeper queues it again for another attempt.
    AuditExport.objects.filter(pk=export.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(seconds=61))
    audit_exports_sweep()

    with pytest.raises(ClaimLost):
        audit_exports._report_progress(claimed, 5000)
    export.refresh_from_db()
    assert export.status == AuditExport.Status.QUEUED and export.rows_written == 0


def test_a_failure_is_recorded_in_french_and_raised_for_celery_to_retry(auditor, referent, settings):
    settings.AUDIT_EXPORT_MAX_ATTEMPTS = 2
    record(Action.LOGIN, referent)
    export = request_export(auditor)

    with (
        mock.patch.object(audit_exports, "_write_file", side_effect=OSError("disque plein")),
        pytest.raises(OSError, match="disque plein"),
    ):
        audit_export_write(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == AuditExport.Status.QUEUED and export.attempts == 1
    assert export.error == "L'export a échoué (tentative 1 sur 2) ; il sera relancé automatiquement."

    with (
        mock.patch.object(audit_exports, "_write_file", side_effect=OSError("disque plein")),
        pytest.raises(OSError),
    ):
        audit_export_write(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == AuditExport.Status.FAILED and export.attempts == 2
    assert export.error.startswith("L'export a échoué après 2 tentatives.") and "disque" not in export.error
    assert audit_export_write(export_id=export.pk) is None, "a failed export is not tried again"


def test_the_task_is_retried_with_backoff_until_the_export_completes(auditor, referent):
    record(Action.LOGIN, referent)
    export = request_export(auditor)
    assert export_audit_events.acks_late and export_audit_events.retry_backoff
    assert export_audit_events.autoretry_for == (Exception,)

    # Eagerly, Celery raises Retry instead of sending the retry: run its message again by hand.
    with (
        mock.patch.object(audit_exports, "_write_file", side_effect=OSError("connexion perdue")),
        pytest.raises(Retry),
    ):
        export_audit_events.delay(export.pk)
    export_audit_events.delay(export.pk)

    export.refresh_from_db()
    assert export.status == AuditExport.Status.DONE and export.attempts == 2 and export.error == ""
    assert len(csv_rows(written(export))) == 1


def test_an_export_whose_requester_is_no_longer_auditor_is_failed_without_retry(auditor, referent):
    record(Action.LOGIN, referent)
    export = request_export(auditor)
    auditor.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))

    assert audit_export_write(export_id=export.pk) is None

    export.refresh_from_db()
    assert export.status == AuditExport.Status.FAILED and "plus auditeur" in export.error
    assert not any(export_directory().iterdir())


# The sweeper and the expiry -----------------------------------------------------------------------


def test_the_sweeper_enqueues_again_exports_stuck_queued_or_running(auditor, settings):
    settings.AUDIT_EXPORT_STALE_SECONDS = 600
    settings.AUDIT_EXPORT_MAX_ATTEMPTS = 3
    long_ago = timezone.now() - datetime.timedelta(seconds=601)
    lost_message = request_export(auditor)
    dead_worker = request_export(auditor)
    just_asked = request_export(auditor)
    alive = request_export(auditor)
    out_of_attempts = request_export(auditor)
    AuditExport.objects.filter(pk__in=[lost_message.pk, out_of_attempts.pk]).update(requested_at=long_ago)
    AuditExport.objects.filter(pk=dead_worker.pk).update(status="running", attempts=1, heartbeat_at=long_ago)
    AuditExport.objects.filter(pk=alive.pk).update(status="running", attempts=1, heartbeat_at=timezone.now())
    AuditExport.objects.filter(pk=out_of_attempts.pk).update(status="running", attempts=3, heartbeat_at=long_ago)

    with mock.patch.object(export_audit_events, "delay_on_commit") as enqueue:
        result = audit_exports_sweep()

    assert sorted(result.requeued) == sorted([lost_message.pk, dead_worker.pk])
    assert result.failed == [out_of_attempts.pk]
    assert sorted(call.args for call in enqueue.call_args_list) == sorted([(lost_message.pk,), (dead_worker.pk,)])
    states = dict(AuditExport.objects.values_list("pk", "status"))
    assert states[dead_worker.pk] == states[lost_message.pk] == states[just_asked.pk] == "queued"
    assert states[alive.pk] == "running" and states[out_of_attempts.pk] == "failed"
    out_of_attempts.refresh_from_db()
    assert out_of_attempts.error.startswith("L'export ne s'est pas terminé après 3 tentatives")
    # Dated by the sweep: the next sweep leaves them alone until they are silent again.
    with mock.patch.object(export_audit_events, "delay_on_commit") as enqueue:
        assert audit_exports_sweep().requeued == []
    enqueue.assert_not_called()


def test_a_swept_export_completes_once_its_message_runs(auditor, referent, settings):
    settings.AUDIT_EXPORT_STALE_SECONDS = 60
    record(Action.LOGIN, referent)
    export = request_export(auditor)
    AuditExport.objects.filter(pk=export.pk).update(requested_at=timezone.now() - datetime.timedelta(minutes=5))

    with mock.patch.object(export_audit_events, "delay_on_commit", side_effect=export_audit_events.delay):
        audit_exports_sweep()

    export.refresh_from_db()
    assert export.status == AuditExport.Status.DONE and len(csv_rows(written(export))) == 1


def test_expiry_deletes_the_file_and_keeps_the_row_as_a_trace(auditor, referent):
    record(Action.LOGIN, referent)
    old, recent = request_export(auditor), request_export(auditor)
    audit_export_write(export_id=old.pk)
    audit_export_write(export_id=recent.pk)
    AuditExport.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    old.refresh_from_db()
    old_path = export_directory() / old.file_name

    result = audit_exports_delete_expired()

    assert result.expired == [old.pk]
    assert not old_path.exists()
    old.refresh_from_db()
    assert old.status == AuditExport.Status.EXPIRED and old.file_size is not None
    recent.refresh_from_db()
    assert recent.status == AuditExport.Status.DONE and (export_directory() / recent.file_name).exists()
    assert AuditEvent.objects.count() == 1, "nothing but the file goes"


def test_expiry_removes_partial_files_nothing_will_finish(auditor, settings):
    settings.AUDIT_EXPORT_STALE_SECONDS = 60
    done, running = request_export(auditor), request_export(auditor)
    audit_export_write(export_id=done.pk)
    AuditExport.objects.filter(pk=running.pk).update(status="running", attempts=2, heartbeat_at=timezone.now())
    directory = export_directory()
    leftover = directory / f"{done.public_id}.1.part"
    current = directory / f"{running.public_id}.2.part"
    earlier = directory / f"{running.public_id}.1.part"
    for path in (leftover, current, earlier):
        path.write_text("partiel")
    an_hour_ago = (timezone.now() - datetime.timedelta(hours=1)).timestamp()
    os.utime(earlier, (an_hour_ago, an_hour_ago))

    assert audit_exports_delete_expired().files_removed == 2

    assert not leftover.exists() and not earlier.exists()
    assert current.exists(), "the running attempt's own file stays"
    done.refresh_from_db()
    assert (directory / done.file_name).exists()


# Views: who may see what --------------------------------------------------------------------------


def done_export(user, **filters) -> AuditExport:
    export = request_export(user, **filters)
    audit_export_write(export_id=export.pk)
    export.refresh_from_db()
    return export


def urls(export):
    return [
        reverse("audit:export_status", args=[export.public_id]),
        reverse("audit:export_download", args=[export.public_id]),
    ]


def test_anonymous_is_sent_to_the_login_page(client, auditor, settings):
    export = done_export(auditor)
    for url in [reverse("audit:exports"), *urls(export)]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse(settings.LOGIN_URL)), url


@pytest.mark.parametrize("role", [Role.REFERENT, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN])
def test_non_auditors_get_403_on_every_export_url(client, auditor, role):
    export = done_export(auditor)
    client.force_login(member(role))
    for url in [reverse("audit:exports"), *urls(export)]:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("audit:exports"), {"format": "csv"}).status_code == 403
    assert AuditExport.objects.count() == 1


def test_another_auditor_gets_404_on_the_status_page_and_the_download(client, auditor, other_auditor):
    export = done_export(auditor)
    client.force_login(other_auditor)

    for url in urls(export):
        assert client.get(url).status_code == 404, url
    listing = client.get(reverse("audit:exports"))
    assert str(export.public_id) not in listing.content.decode()
    attempt = AuditEvent.objects.get(action=Action.DOWNLOAD)
    assert attempt.actor == other_auditor and attempt.status_code == 404
    assert attempt.object_id == str(export.public_id)


def test_asking_for_an_export_records_an_export_event_and_redirects_to_its_page(
    client, auditor, referent, django_capture_on_commit_callbacks
):
    record(Action.VIEW_FILE, referent)
    client.force_login(auditor)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("audit:exports"),
            {"action": [Action.VIEW_FILE, Action.SEARCH], "du": "2026-01-01", "format": "jsonl"},
        )

    export = AuditExport.objects.get()
    assert response.status_code == 303
    assert response.url == reverse("audit:export_status", args=[export.public_id])
    assert export.requested_by == auditor and export.format == "jsonl"
    assert export.filters == {"action": ["view_file", "search"], "du": ["2026-01-01"]}
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action=Action.EXPORT)
    assert event.actor == auditor and event.object_type == "audit_export"
    assert event.object_id == str(export.public_id)
    assert event.details == {"filters": export.filters, "format": "jsonl"}
    assert event.pk > export.last_event_id, "the export's own trace is not in it"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"du": "2026-02-10", "au": "2026-02-01", "format": "csv"}, "La date de fin doit être"),
        ({"du": "pas une date", "format": "csv"}, "Saisissez une date valide."),
        ({"action": ["inconnue"], "format": "csv"}, "Sélectionnez un choix valide"),
        ({"format": "xlsx"}, "Choisissez le format CSV ou JSON Lines."),
        ({}, "Choisissez le format du fichier."),
    ],
)
def test_invalid_filters_or_format_show_the_page_again_with_french_errors(client, auditor, data, message):
    client.force_login(auditor)

    response = client.post(reverse("audit:exports"), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert "L'export n'a pas été demandé" in response.content.decode()
    assert not AuditExport.objects.exists()


def test_the_status_page_shows_progress_and_htmx_polls_it_until_the_export_is_finished(client, auditor):
    export = request_export(auditor)
    AuditExport.objects.filter(pk=export.pk).update(
        status="running", attempts=1, heartbeat_at=timezone.now(), total_rows=200, rows_written=50
    )
    client.force_login(auditor)
    url = reverse("audit:export_status", args=[export.public_id])

    page = client.get(url).content.decode()
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert "<html" in page and "Avancement" in page
    assert "<html" not in partial
    for html in (page, partial):
        assert 'role="progressbar"' in html and 'aria-valuenow="25"' in html
        assert f'hx-get="{url}"' in html and 'hx-trigger="every 2s"' in html
        assert "50 lignes écrites sur 200" in html

    assert audit_export_write(export_id=export.pk) is None, "its worker is alive: nothing to do"
    AuditExport.objects.filter(pk=export.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(hours=1))
    audit_export_write(export_id=export.pk)
    finished = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in finished, "polling stops once the export is done"
    assert reverse("audit:export_download", args=[export.public_id]) in finished
    assert 'aria-valuenow="100"' in finished


def test_a_history_restore_of_the_status_page_gets_the_whole_page(client, auditor):
    """htmx asks again for a page missing from its history cache (the back button): it needs the page."""
    export = request_export(auditor)
    client.force_login(auditor)
    url = reverse("audit:export_status", args=[export.public_id])
    restored = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restored.content.decode()
    assert "HX-Request" in restored["Vary"]


def test_a_failed_export_shows_its_error_and_stops_polling(client, auditor):
    export = request_export(auditor)
    AuditExport.objects.filter(pk=export.pk).update(status="failed", error="L'export a échoué après 5 tentatives.")
    client.force_login(auditor)

    html = unescape(client.get(reverse("audit:export_status", args=[export.public_id])).content.decode())

    assert "L'export a échoué après 5 tentatives." in html and "hx-trigger" not in html
    assert "telecharger" not in html


def test_the_requester_downloads_the_file_and_the_download_is_recorded(client, auditor, referent):
    events = [record(Action.VIEW_FILE, referent) for _ in range(2)]
    export = done_export(auditor)
    client.force_login(auditor)

    response = client.get(reverse("audit:export_download", args=[export.public_id]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    day = timezone.localdate(export.requested_at)
    assert response["Content-Disposition"] == f'attachment; filename="journal-audit-{day:%Y-%m-%d}.csv"'
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    content = b"".join(response.streaming_content)
    assert [row["id"] for row in csv_rows(content)] == [str(event.pk) for event in events]
    download = AuditEvent.objects.get(action=Action.DOWNLOAD)
    assert download.actor == auditor and download.status_code == 200
    assert (download.object_type, download.object_id) == ("audit_export", str(export.public_id))


def test_a_jsonl_download_has_its_own_type_and_name(client, auditor):
    export = request_export(auditor, format="jsonl")
    audit_export_write(export_id=export.pk)
    client.force_login(auditor)

    response = client.get(reverse("audit:export_download", args=[export.public_id]))

    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response["Content-Disposition"].endswith('.jsonl"')
    response.close()


def test_an_export_not_ready_is_a_404_and_an_expired_one_a_410(client, auditor):
    queued = request_export(auditor)
    expired = done_export(auditor)
    client.force_login(auditor)

    assert client.get(reverse("audit:export_download", args=[queued.public_id])).status_code == 404

    AuditExport.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    before_sweep = client.get(reverse("audit:export_download", args=[expired.public_id]))
    audit_exports_delete_expired()
    after_sweep = client.get(reverse("audit:export_download", args=[expired.public_id]))
    for response in (before_sweep, after_sweep):
        assert response.status_code == 410
        assert "Cet export n'est plus disponible" in response.content.decode()
    status_page = client.get(reverse("audit:export_status", args=[expired.public_id])).content.decode()
    assert "a expiré le" in status_page


def test_the_list_shows_only_my_exports_with_a_constant_number_of_queries(
    client, auditor, other_auditor, django_assert_max_num_queries
):
    theirs = request_export(other_auditor)
    client.force_login(auditor)
    url = reverse("audit:exports")

    def list_page(exports):
        for _ in range(exports):
            done_export(auditor)
        with django_assert_max_num_queries(11 + HEADER_QUERIES) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured.captured_queries), response.content.decode()

    few, _html = list_page(2)
    many, html = list_page(20)  # 22 exports: two pages

    assert few == many
    assert str(theirs.public_id) not in html
    assert "Page 1 sur 2" in html
    assert html.count("Télécharger<span") == 20


def test_the_export_pages_give_the_file_size_in_french_units(client, auditor):
    export = done_export(auditor)
    AuditExport.objects.filter(pk=export.pk).update(file_size=1536)
    client.force_login(auditor)
    for url in (reverse("audit:exports"), reverse("audit:export_status", args=[export.public_id])):
        html = client.get(url).content.decode()
        assert "1,5\u00a0Ko" in html, url
        assert "Kio" not in html, url


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_the_export_names_the_screen_and_the_answer_in_words_as_the_screens_do(auditor, referent, format):
    cases = [
        ("casework:emergency_access", 404),
        ("admin:accounts_user_change", 302),
        ("admin:index", 200),
        ("casework:a_screen_since_removed", 500),
        ("", None),
        ("team:reassign", 403),
        ("imports:run", 418),
    ]
    events = [
        audit_record(action=Action.WRITE, user=referent, url_name=url_name, status_code=status)
        for url_name, status in cases
    ]
    export = done_export(auditor, format=format)

    content = written(export)
    rows = csv_rows(content) if format == "csv" else [json.loads(line) for line in content.decode().splitlines()]
    by_id = {str(row["id"]): row for row in rows}
    for event in events:
        row = by_id[str(event.pk)]
        expected_screen = screen_name(event.url_name) if event.url_name else ""
        expected_answer = response_label(event.status_code) if event.status_code is not None else ""
        assert (row["ecran_libelle"] or "", row["reponse_libelle"] or "") == (expected_screen, expected_answer)
    assert by_id[str(events[1].pk)]["ecran_libelle"] == "Administration, comptes : modification"
