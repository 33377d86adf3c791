"""Implausible data is refused with a French message at the field (issue 27): dates of the pathway before
the person's birth, contracts longer than CONTRACT_MAX_MONTHS or overlapping a signed one, covers longer
than COVER_MAX_DAYS, emergency reasons shorter than EMERGENCY_REASON_MIN_LENGTH. The services hold the
rules; the pages show them at the field and write nothing."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from casework.models import Beneficiary, Contract, Diagnostic, EmergencyAccess, Orientation, Step
from casework.services import emergency_access_open
from casework.services.entries import appointment_correct, step_log
from casework.services.pathway import contract_create, contract_renew, diagnostic_create, orientation_decide
from team.models import Cover
from team.services import cover_create
from tests.casework.factories import AppointmentFactory, ContractFactory

pytestmark = pytest.mark.django_db

BEFORE_BIRTH = datetime.date(1890, 1, 1)  # the file (personas.file) was born on 31/01/1985


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def message_at(excinfo, field: str) -> str:
    return " ".join(excinfo.value.message_dict[field])


# --- Dates before the person's birth --------------------------------------------------------------------


def test_a_step_dated_before_the_persons_birth_is_refused_at_its_date(personas):
    with pytest.raises(ValidationError) as excinfo:
        step_log(actor=personas.referent, beneficiary=personas.file, kind="training", date=BEFORE_BIRTH, status="done")
    assert "antérieure à la naissance de la personne (31/01/1985)" in message_at(excinfo, "date")
    assert not Step.objects.exists()


def test_a_step_on_the_day_of_birth_is_not_refused(personas):
    step = step_log(
        actor=personas.referent,
        beneficiary=personas.file,
        kind="training",
        date=personas.file.birth_date,
        status="done",
    )
    assert step.date == personas.file.birth_date


def test_the_step_form_shows_the_refusal_at_the_field_and_writes_nothing(client, personas):
    client.force_login(personas.referent)
    response = client.post(
        reverse("casework:step_create", args=[personas.file.public_id]),
        {"kind": "training", "date": "01/01/1890", "status": "done", "outcome": ""},
    )
    assert response.status_code == 200
    assert "Cette date (01/01/1890) est antérieure à la naissance de la personne" in response.content.decode()
    assert not Step.objects.exists()


def test_an_appointment_corrected_to_before_the_persons_birth_is_refused(personas):
    appointment = AppointmentFactory(
        beneficiary=personas.file, author=personas.referent, status="honoured", scheduled_at=timezone.now()
    )
    moment = datetime.datetime(1890, 1, 1, 10, tzinfo=timezone.get_current_timezone())
    with pytest.raises(ValidationError) as excinfo:
        appointment_correct(
            actor=personas.referent,
            appointment=appointment,
            scheduled_at=moment,
            location="",
            purpose="",
            with_user=None,
            expected_version=appointment.version,
        )
    assert "antérieure à la naissance" in message_at(excinfo, "scheduled_at")


def test_a_diagnostic_before_the_persons_birth_is_refused(personas):
    with pytest.raises(ValidationError) as excinfo:
        diagnostic_create(actor=personas.referent, beneficiary=personas.file, carried_out_on=BEFORE_BIRTH)
    assert "antérieure à la naissance" in message_at(excinfo, "carried_out_on")
    assert not Diagnostic.objects.exists()


def test_an_orientation_decided_before_the_persons_birth_is_refused(personas):
    with pytest.raises(ValidationError) as excinfo:
        orientation_decide(
            actor=personas.supervisor,
            beneficiary=personas.file,
            track=Orientation.Track.SOCIAL,
            organisme_referent=personas.nord,
            decided_on=BEFORE_BIRTH,
            reason="Commission du mois",
        )
    assert "antérieure à la naissance" in message_at(excinfo, "decided_on")


# --- Contracts ---------------------------------------------------------------------------------------


def create(personas, **overrides):
    arguments = {
        "kind": Contract.Kind.CONTRAT_ENGAGEMENT,
        "start_date": days(-10),
        "end_date": days(170),
        "objectives": "Reprendre une activité salariée.",
    }
    return contract_create(actor=personas.referent, beneficiary=personas.file, **(arguments | overrides))


def test_a_contract_starting_before_the_persons_birth_is_refused(personas):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, kind=Contract.Kind.CER, start_date=BEFORE_BIRTH, end_date=datetime.date(1890, 6, 1))
    assert "antérieure à la naissance" in message_at(excinfo, "start_date")


def test_a_contract_lasts_at_most_the_setting_in_months(personas, settings):
    settings.CONTRACT_MAX_MONTHS = 12
    start = datetime.date(2026, 1, 31)
    with pytest.raises(ValidationError) as excinfo:
        create(personas, start_date=start, end_date=datetime.date(2027, 2, 1))
    assert "Un contrat dure au plus 12 mois" in message_at(excinfo, "end_date")
    assert create(personas, start_date=start, end_date=datetime.date(2027, 1, 31)).end_date.year == 2027


def test_a_contract_starting_more_than_a_year_ahead_is_refused(personas):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, start_date=days(400), end_date=days(500))
    assert "plus d'un an après aujourd'hui" in message_at(excinfo, "start_date")


def test_a_five_year_contract_is_refused_with_the_default_bound(personas):
    with pytest.raises(ValidationError) as excinfo:
        create(personas, end_date=days(5 * 365))
    assert "Un contrat dure au plus 24 mois" in message_at(excinfo, "end_date")
    assert not Contract.objects.exists()


def test_a_contract_overlapping_a_signed_one_is_refused_and_points_to_the_renewal(personas):
    ContractFactory(beneficiary=personas.file, author=personas.referent, start_date=days(-100), end_date=days(80))
    with pytest.raises(ValidationError) as excinfo:
        create(personas, start_date=days(60), end_date=days(240))
    message = message_at(excinfo, "start_date")
    assert "chevauchent le contrat signé" in message and "renouvelez-le" in message
    assert Contract.objects.count() == 1


def test_the_renewal_of_the_signed_contract_is_the_way_to_follow_it(personas):
    signed = ContractFactory(
        beneficiary=personas.file,
        author=personas.referent,
        start_date=days(-170),
        end_date=days(10),
        objectives="Emploi",
    )
    renewal = contract_renew(actor=personas.referent, contract=signed, start_date=days(11), end_date=days(191))
    assert renewal.renews == signed


def test_a_withdrawn_or_draft_contract_does_not_block_a_new_one(personas):
    ContractFactory(
        beneficiary=personas.file,
        author=personas.referent,
        start_date=days(-100),
        end_date=days(80),
        withdrawn_at=timezone.now(),
        withdrawn_by=personas.referent,
        withdrawal_reason="Saisi sur le mauvais dossier",
    )
    ContractFactory(
        beneficiary=personas.file,
        author=personas.referent,
        status=Contract.Status.DRAFT,
        signed_on=None,
        start_date=days(-100),
        end_date=days(80),
    )
    assert create(personas).pk is not None


def test_the_contract_form_shows_the_overlap_at_the_field(client, personas):
    ContractFactory(beneficiary=personas.file, author=personas.referent, start_date=days(-100), end_date=days(80))
    client.force_login(personas.referent)
    response = client.post(
        reverse("casework:contract_create", args=[personas.file.public_id]),
        {
            "kind": Contract.Kind.CONTRAT_ENGAGEMENT,
            "start_date": days(0).isoformat(),
            "end_date": days(180).isoformat(),
            "objectives": "Reprendre une activité.",
            "weekly_hours": "15",
        },
    )
    assert response.status_code == 200
    assert "chevauchent le contrat signé" in response.content.decode()
    assert Contract.objects.count() == 1


def test_who_may_not_read_the_file_gets_a_404_not_the_rule(client, personas):
    client.force_login(personas.other)
    response = client.post(
        reverse("casework:contract_create", args=[personas.file.public_id]),
        {"kind": Contract.Kind.CONTRAT_ENGAGEMENT, "start_date": "01/01/1890", "end_date": "01/06/1890"},
    )
    assert response.status_code == 404


# --- Covers --------------------------------------------------------------------------------------------


def cover(personas, ends_on):
    return cover_create(
        actor=personas.supervisor,
        absent_referent=personas.referent,
        covering_referent=personas.colleague,
        structure=personas.nord,
        starts_on=days(0),
        ends_on=ends_on,
        reason="Congé",
    )


def test_a_cover_lasts_at_most_the_setting_in_days(personas, settings):
    settings.COVER_MAX_DAYS = 30
    with pytest.raises(ValidationError) as excinfo:
        cover(personas, days(30))
    assert "Un intérim dure au plus 30 jours" in message_at(excinfo, "ends_on")
    assert cover(personas, days(29)).ends_on == days(29)


def test_a_three_year_cover_is_refused_with_the_default_bound_on_the_page(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(
        reverse("team:covers"),
        {
            "absent": personas.referent.memberships.get(structure=personas.nord).pk,
            "covering": personas.colleague.pk,
            "starts_on": days(0).isoformat(),
            "ends_on": days(3 * 365).isoformat(),
            "reason": "Congé",
        },
    )
    assert response.status_code == 200
    assert "Un intérim dure au plus 183 jours" in response.content.decode()
    assert not Cover.objects.exists()


# --- Emergency accesses --------------------------------------------------------------------------------


def test_an_emergency_reason_of_one_letter_is_refused_before_any_lookup(personas, django_assert_num_queries):
    with pytest.raises(ValidationError) as excinfo, django_assert_num_queries(0):
        emergency_access_open(
            actor=personas.colleague,
            allocataire_number=personas.file.allocataire_number,
            birth_date=personas.file.birth_date,
            reason="x",
        )
    assert "au moins 15 caractères" in message_at(excinfo, "reason")
    assert not EmergencyAccess.objects.exists()


def test_the_emergency_form_refuses_a_short_reason_at_the_field_and_opens_nothing(client, personas, settings):
    settings.EMERGENCY_REASON_MIN_LENGTH = 20
    client.force_login(personas.colleague)
    response = client.post(
        reverse("casework:emergency_access"),
        {
            "allocataire_number": personas.file.allocataire_number,
            "birth_date": personas.file.birth_date.isoformat(),
            "reason": "  Urgent à l'accueil  ",  # 18 characters once stripped
        },
    )
    assert response.status_code == 200
    assert "au moins 20 caractères" in response.content.decode()
    assert not EmergencyAccess.objects.exists()
    assert not Beneficiary.objects.visible_to(personas.colleague).filter(pk=personas.file.pk).exists()
