"""`manage.py seed_demo`: the demo data set is complete, coherent, idempotent, and never seeded in production.

The seed runs once for the module (about a second on SQLite) inside a transaction rolled back at the
end, and each test runs in its own savepoint on top of it.
"""

import datetime
import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import Department, Membership, Role, Structure, User
from casework.models import (
    Action,
    Appointment,
    Barrier,
    Beneficiary,
    Contract,
    Diagnostic,
    HouseholdMember,
    Note,
    Objective,
    Orientation,
    ReferentAssignment,
    Step,
)

pytestmark = pytest.mark.django_db

DEMO_ACCOUNTS = {
    "referente.nord": (Role.REFERENT, "MDS Nord"),
    "referent.sud": (Role.REFERENT, "MDS Sud"),
    "conseiller.ft": (Role.REFERENT, "France Travail Agence de Roubaix"),
    "superviseur.nord": (Role.SUPERVISOR, "MDS Nord"),
    "admin.departement": (Role.DEPARTMENT_ADMIN, "Service insertion"),
    "dpo": (Role.AUDITOR, "Service insertion"),
}
COUNTED_MODELS = (
    User,
    Membership,
    Department,
    Structure,
    Beneficiary,
    HouseholdMember,
    ReferentAssignment,
    Orientation,
    Contract,
    Diagnostic,
    Barrier,
    Objective,
    Action,
    Step,
    Appointment,
    Note,
    Note.shared_with_departments.through,
    Note.shared_with_structures.through,
)


def run_seed() -> str:
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    return output.getvalue()


def counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in COUNTED_MODELS}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The seed's output; its data stays in the database until the module's last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield run_seed()
        transaction.set_rollback(True)


def test_refuses_to_run_in_production_and_writes_nothing(settings):
    settings.PRODUCTION = True
    before = counts()

    with pytest.raises(CommandError, match="production"):
        run_seed()

    assert counts() == before


def test_second_run_changes_no_count_and_says_so(seeded):
    before = counts()

    output = run_seed()

    assert counts() == before
    assert "existaient déjà" in output


def test_demo_accounts_sign_in_with_the_demo_password(seeded, settings):
    request = RequestFactory().post("/connexion/")
    for username, (role, structure_name) in DEMO_ACCOUNTS.items():
        user = authenticate(request, username=username, password=settings.DEMO_PASSWORD)

        assert user is not None, username
        assert [(m.role, m.structure.name) for m in user.active_memberships] == [(role, structure_name)]
        assert not user.is_staff and not user.is_superuser
        assert user.get_full_name()


def test_demo_colleagues_exist_but_cannot_sign_in(seeded):
    colleagues = User.objects.filter(username__startswith="demo.referent.")

    assert colleagues.count() == 5
    assert not any(user.has_usable_password() for user in colleagues)
    assert all(user.is_referent for user in colleagues)


def test_each_run_resets_the_demo_passwords(seeded, settings):
    referent = User.objects.get(username="referente.nord")
    referent.set_password("changé-pendant-la-démo")
    referent.save()
    settings.DEMO_PASSWORD = "un-autre-mot-de-passe"

    run_seed()

    for username in DEMO_ACCOUNTS:
        assert User.objects.get(username=username).check_password("un-autre-mot-de-passe"), username


def test_seed_creates_three_departments_and_six_structures(seeded):
    assert dict(Department.objects.values_list("name", "kind")) == {
        "Direction de l'insertion": Department.Kind.INSERTION,
        "Direction de l'action sociale": Department.Kind.SOCIAL_ACTION,
        "Direction de l'habitat et du logement": Department.Kind.HOUSING,
    }
    structures = {structure.name: structure for structure in Structure.objects.select_related("department")}
    assert {name: (s.kind, s.department and s.department.name) for name, s in structures.items()} == {
        "MDS Nord": (Structure.Kind.TERRITORIAL_UNIT, "Direction de l'action sociale"),
        "MDS Sud": (Structure.Kind.TERRITORIAL_UNIT, "Direction de l'action sociale"),
        "France Travail Agence de Roubaix": (Structure.Kind.FRANCE_TRAVAIL, None),
        "CCAS de Tourcoing": (Structure.Kind.CCAS, None),
        "Association Trajectoires Insertion": (Structure.Kind.ASSOCIATION, None),
        "Service insertion": (Structure.Kind.DEPARTMENT_SERVICE, "Direction de l'insertion"),
    }


def test_seed_creates_at_least_300_plausible_beneficiaries(seeded):
    today = timezone.localdate()
    beneficiaries = list(Beneficiary.objects.all())

    assert len(beneficiaries) >= 300
    assert len({(b.organism, b.allocataire_number) for b in beneficiaries}) == len(beneficiaries)
    assert all(len(b.allocataire_number) == 7 for b in beneficiaries)
    msa_share = sum(b.organism == Beneficiary.Organism.MSA for b in beneficiaries) / len(beneficiaries)
    assert 0.03 < msa_share < 0.15
    assert all(18 <= (today - b.birth_date).days / 365.25 < 65 for b in beneficiaries)
    assert all(b.postcode.startswith("59") and b.insee_code.startswith("59") for b in beneficiaries)
    assert any(set(b.first_name + b.last_name) & set("éèêëïîôûüç") for b in beneficiaries)
    assert all(b.rsa_entry_date >= today - datetime.timedelta(days=4 * 366) for b in beneficiaries)
    with_household = Beneficiary.objects.filter(household_members__isnull=False).distinct().count()
    assert 0.3 < with_household / len(beneficiaries) < 0.5


def test_named_referents_have_their_own_caseloads(seeded):
    nord = set(Beneficiary.objects.filter(current_referent__username="referente.nord").values_list("pk", flat=True))
    sud = set(Beneficiary.objects.filter(current_referent__username="referent.sud").values_list("pk", flat=True))

    assert 40 <= len(nord) <= 60
    assert 40 <= len(sud) <= 60
    assert not nord & sud


def test_every_assigned_file_has_one_open_assignment_matching_its_current_referent(seeded):
    assigned = Beneficiary.objects.filter(current_referent__isnull=False).annotate(
        open_assignments=Count("assignments", filter=Q(assignments__ended_at__isnull=True)),
        matching=Count(
            "assignments",
            filter=Q(
                assignments__ended_at__isnull=True,
                assignments__referent=F("current_referent"),
                assignments__structure=F("current_structure"),
            ),
        ),
    )

    assert assigned.count() >= 280
    assert set(assigned.values_list("open_assignments", "matching")) == {(1, 1)}
    assert not ReferentAssignment.objects.filter(beneficiary__current_referent__isnull=True).exists()


def test_some_files_were_reassigned_and_keep_their_history(seeded):
    reassigned = Beneficiary.objects.annotate(n=Count("assignments")).filter(n=2)

    assert 15 <= reassigned.count() <= 30
    for beneficiary in reassigned:
        current, previous = beneficiary.assignments.order_by("-started_at")
        assert previous.ended_at == current.started_at
        assert previous.referent != current.referent
        assert (current.referent, current.structure) == (beneficiary.current_referent, beneficiary.current_structure)


def test_unassigned_files_are_new_entrants_awaiting_orientation(seeded):
    awaiting = Beneficiary.objects.filter(current_referent__isnull=True)

    assert 10 <= awaiting.count() <= 20
    assert not Orientation.objects.filter(beneficiary__in=awaiting).exists()
    assert all(b.rsa_entry_date > timezone.localdate() - datetime.timedelta(days=90) for b in awaiting)
    assert all(b.is_active and b.rsa_status == Beneficiary.RsaStatus.OPEN for b in awaiting)


def test_orientations_name_the_organisme_referent(seeded):
    decided = Orientation.objects.filter(status=Orientation.Status.DECIDED)

    assert decided.count() == Beneficiary.objects.filter(current_referent__isnull=False).count()
    assert Orientation.objects.filter(status=Orientation.Status.SUPERSEDED).count() >= 3
    assert not decided.filter(
        track=Orientation.Track.PROFESSIONAL, organisme_referent__kind=Structure.Kind.TERRITORIAL_UNIT
    ).exists()
    assert not decided.exclude(organisme_referent=F("beneficiary__current_structure")).exists()
    assert not Orientation.objects.filter(decided_by__isnull=True).exists()


def test_contracts_are_those_of_their_time(seeded):
    reform = datetime.date(2025, 1, 1)

    assert not Contract.objects.filter(kind=Contract.Kind.CONTRAT_ENGAGEMENT, start_date__lt=reform).exists()
    assert not Contract.objects.filter(
        kind__in=[Contract.Kind.CER, Contract.Kind.PPAE], start_date__gte=reform
    ).exists()
    assert Contract.objects.filter(kind=Contract.Kind.CER).exists()
    hours = set(Contract.objects.filter(kind=Contract.Kind.CONTRAT_ENGAGEMENT).values_list("weekly_hours", flat=True))
    assert 15 in hours and None not in hours
    assert set(Contract.objects.values_list("status", flat=True)) == set(Contract.Status.values)


def test_data_set_holds_what_a_supervisor_looks_for(seeded):
    today = timezone.localdate()
    now = timezone.now()
    signed = Contract.objects.filter(status=Contract.Status.SIGNED)
    followed = Beneficiary.objects.active().filter(current_referent__isnull=False)

    assert signed.filter(end_date__lt=today, renewed_by__isnull=True).exists(), "expired with no renewal"
    assert signed.filter(renews__isnull=False).exists(), "renewed"
    assert signed.filter(end_date__range=(today, today + datetime.timedelta(days=30))).exists(), "expiring soon"
    assert Contract.objects.filter(status=Contract.Status.DRAFT).exists()
    assert Appointment.objects.filter(
        status=Appointment.Status.MISSED, scheduled_at__range=(now - datetime.timedelta(days=60), now)
    ).exists()
    assert Appointment.objects.filter(status=Appointment.Status.PLANNED, scheduled_at__gt=now).exists()
    assert followed.filter(last_activity_at__lt=now - datetime.timedelta(days=183)).exists(), "6 months silent"
    assert followed.filter(
        last_activity_at__range=(now - datetime.timedelta(days=183), now - datetime.timedelta(days=90))
    ).exists(), "3 months silent"
    assert Beneficiary.objects.filter(rsa_status=Beneficiary.RsaStatus.SUSPENDED).exists()


def test_notes_use_every_visibility_and_keep_sensitive_ones_restricted(seeded):
    notes = Note.objects.all()

    assert set(notes.values_list("visibility", flat=True)) == set(Note.Visibility.values)
    assert notes.filter(is_sensitive=True).exists()
    assert not notes.filter(is_sensitive=True, visibility=Note.Visibility.FOLLOWERS).exists()
    shared = notes.filter(visibility=Note.Visibility.SHARED)
    assert shared.filter(shared_with_departments__isnull=False).exists()
    assert shared.filter(shared_with_structures__isnull=False).exists()
    assert not shared.filter(shared_with_departments__isnull=True, shared_with_structures__isnull=True).exists()
    assert (
        not notes.exclude(visibility=Note.Visibility.SHARED)
        .filter(Q(shared_with_departments__isnull=False) | Q(shared_with_structures__isnull=False))
        .exists()
    )
    assert notes.aggregate(latest=Max("created_at"))["latest"] <= timezone.now()
    assert notes.filter(created_at__lt=timezone.now() - datetime.timedelta(days=365)).exists()


def test_every_step_kind_and_status_appears(seeded):
    assert set(Step.objects.values_list("kind", flat=True)) == set(Step.Kind.values)
    assert set(Step.objects.values_list("status", flat=True)) == set(Step.Status.values)
    assert not Step.objects.filter(status=Step.Status.PLANNED, date__lt=timezone.localdate()).exists()
    assert not Step.objects.exclude(status=Step.Status.PLANNED).filter(date__gt=timezone.localdate()).exists()
    assert set(Action.objects.values_list("status", flat=True)) == set(Action.Status.values)
    assert set(Objective.objects.values_list("status", flat=True)) == set(Objective.Status.values)


def test_last_activity_is_the_latest_step_appointment_or_note(seeded):
    now = timezone.now()
    latest: dict[int, datetime.date] = {}

    def keep(pk, day):
        if day is not None and (pk not in latest or day > latest[pk]):
            latest[pk] = day

    for pk, day in Step.objects.exclude(status=Step.Status.PLANNED).values_list("beneficiary", "date"):
        keep(pk, day)
    for pk, when in Appointment.objects.filter(scheduled_at__lte=now).values_list("beneficiary", "scheduled_at"):
        keep(pk, timezone.localdate(when))
    for pk, when in Note.objects.values_list("beneficiary", "created_at"):
        keep(pk, timezone.localdate(when))

    files = dict(Beneficiary.objects.values_list("pk", "last_activity_at"))
    assert {pk: when and timezone.localdate(when) for pk, when in files.items()} == {
        pk: latest.get(pk) for pk in files
    }


def test_closed_files_have_ended_support_and_an_exit_step(seeded):
    closed = Beneficiary.objects.filter(rsa_status=Beneficiary.RsaStatus.CLOSED)

    assert closed.exists()
    for beneficiary in closed:
        assert not beneficiary.is_active
        assert beneficiary.support_ended_on <= timezone.localdate()
        assert beneficiary.steps.filter(kind=Step.Kind.EXIT, date=beneficiary.support_ended_on).exists()


def test_summary_lists_the_demo_accounts_with_their_password(seeded, settings):
    assert "bénéficiaires créés" in seeded
    for username, (role, structure_name) in DEMO_ACCOUNTS.items():
        line = next(line for line in seeded.splitlines() if line.strip().startswith(f"{username} "))
        assert f"{Role(role).label} – {structure_name}" in line
        assert line.endswith(f"mot de passe : {settings.DEMO_PASSWORD}")
