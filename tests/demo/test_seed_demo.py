"""`manage.py seed_demo`: the demo data set is complete, coherent, idempotent, and never seeded in production.

The seed runs once for the module (about a second on SQLite) inside a transaction rolled back at the
end, and each test runs in its own savepoint on top of it. The demo holds a case of each permission
rule (casework/demo.py, "Stories"); the tests below check each rule on it through the permission layer.
"""

import datetime
import io

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import Department, Membership, Role, Structure, User
from casework.models import (
    Action,
    Appointment,
    Barrier,
    Beneficiary,
    BeneficiaryGroupObjectPermission,
    BeneficiaryUserObjectPermission,
    Contract,
    Diagnostic,
    EmergencyAccess,
    HouseholdMember,
    Note,
    Objective,
    Orientation,
    ReferentAssignment,
    Share,
    Step,
)
from casework.permissions import can_change, can_see_emergency_accesses, visible_beneficiaries, visible_notes
from demo.data import NEWCOMER_REASON

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
    Note.shared_with_users.through,
    Share,
    EmergencyAccess,
    BeneficiaryUserObjectPermission,
    BeneficiaryGroupObjectPermission,
    Group,
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


def test_second_run_rebuilds_object_permissions_that_went_missing(seeded):
    before = counts()
    BeneficiaryUserObjectPermission.objects.filter(user__username="referente.nord").delete()
    BeneficiaryGroupObjectPermission.objects.all().delete()

    run_seed()

    assert counts() == before


def test_object_permissions_match_the_assignments_shares_and_emergency_accesses(seeded):
    output = io.StringIO()

    call_command("check_permissions", stdout=output)

    assert "Aucun écart" in output.getvalue()
    assert (
        BeneficiaryUserObjectPermission.objects.count()
        >= Beneficiary.objects.filter(current_referent__isnull=False).count()
    )
    assert BeneficiaryGroupObjectPermission.objects.exists()


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


def test_the_association_is_a_sensitive_structure_whose_name_stays_inside(seeded):
    association = Structure.objects.get(is_sensitive=True)
    outsider = User.objects.get(username="referente.nord")
    insider = User.objects.get(username="demo.referent.5")

    assert association.name == "Association Trajectoires Insertion"
    assert association.label_for(outsider) == Structure.NEUTRAL_LABEL
    assert association.label_for(insider) == association.name
    assert Beneficiary.objects.filter(current_structure=association).count() >= 10


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
    assigned = Beneficiary.objects.filter(current_referent__isnull=False)
    # New entrants seen by a referent before the orientation decision (the supervisor's dashboard
    # shows them as awaiting orientation): the only followed files without one.
    newcomers = assigned.filter(assignments__reason=NEWCOMER_REASON).distinct()

    assert newcomers.exists()
    assert not newcomers.filter(orientations__status=Orientation.Status.DECIDED).exists()
    assert decided.count() == assigned.count() - newcomers.count()
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
    assert shared.filter(shared_with_users__isnull=False).exists()
    assert not shared.filter(
        shared_with_departments__isnull=True, shared_with_structures__isnull=True, shared_with_users__isnull=True
    ).exists()
    assert (
        not notes.exclude(visibility=Note.Visibility.SHARED)
        .filter(
            Q(shared_with_departments__isnull=False)
            | Q(shared_with_structures__isnull=False)
            | Q(shared_with_users__isnull=False)
        )
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


# --- The permission rules, on the demo's stories ---------------------------------------------------


def demo_user(username: str) -> User:
    return User.objects.get(username=username)


def sees(user: User, beneficiary: Beneficiary) -> bool:
    return visible_beneficiaries(user).filter(pk=beneficiary.pk).exists()


def shared_by_with(referent: User, recipient: User) -> set[int]:
    """The files `referent` follows with a share in force that reaches `recipient`: personally, through
    one of their structures, or through the department of one of them."""
    structures = [membership.structure for membership in recipient.active_memberships]
    reaches = (
        Q(shared_with_user=recipient)
        | Q(shared_with_structure__in=structures)
        | Q(shared_with_department__in=[s.department_id for s in structures if s.department_id])
    )
    shares = Share.objects.active().filter(reaches, beneficiary__current_referent=referent)
    return set(shares.values_list("beneficiary", flat=True))


def test_named_referents_see_the_same_files_only_when_shared_between_them(seeded):
    nord, sud = demo_user("referente.nord"), demo_user("referent.sud")
    seen_by_nord = set(visible_beneficiaries(nord).values_list("pk", flat=True))
    seen_by_sud = set(visible_beneficiaries(sud).values_list("pk", flat=True))
    shared_by_nord, shared_by_sud = shared_by_with(nord, sud), shared_by_with(sud, nord)

    assert seen_by_nord & seen_by_sud == shared_by_nord | shared_by_sud
    assert len(shared_by_nord) == 2  # with the MDS Sud, and with referent.sud until a date
    assert len(shared_by_sud) == 1


def test_signed_in_named_referents_get_two_disjoint_caseloads(seeded, client):
    caseloads = {}
    for username in ("referente.nord", "referent.sud"):
        user = demo_user(username)
        client.force_login(user)
        page, seen = 1, set()
        while True:
            response = client.get(reverse("casework:caseload"), {"page": page})
            assert response.status_code == 200
            page_obj = response.context["page_obj"]
            seen |= {beneficiary.public_id for beneficiary in page_obj}
            if not page_obj.has_next():
                break
            page += 1
        followed = set(Beneficiary.objects.followed_by(user).values_list("public_id", flat=True))
        assert seen == followed, username
        caseloads[username] = seen

    assert len(caseloads["referente.nord"]) >= 40 and len(caseloads["referent.sud"]) >= 40
    assert not caseloads["referente.nord"] & caseloads["referent.sud"]


def test_a_file_of_referente_nord_is_shared_with_the_mds_sud(seeded):
    share = Share.objects.active().get(shared_with_structure__code="mds-sud")
    file = share.beneficiary

    assert share.author == file.current_referent == demo_user("referente.nord")
    assert share.ends_at is None
    for username in ("referent.sud", "demo.referent.3"):
        assert sees(demo_user(username), file), username
        assert not can_change(demo_user(username), file), username
    assert not sees(demo_user("conseiller.ft"), file)


def test_a_file_of_referente_nord_is_shared_with_referent_sud_until_a_date_to_come(seeded, travel):
    sud = demo_user("referent.sud")
    share = Share.objects.active().get(shared_with_user=sud)
    file = share.beneficiary

    assert file.current_referent == demo_user("referente.nord")
    assert share.ends_at > timezone.now()
    assert sees(sud, file)
    assert not sees(demo_user("demo.referent.3"), file), "a share with a person does not reach their colleagues"
    travel(share.ends_at)
    assert not sees(demo_user("referent.sud"), file)


def test_files_are_shared_with_the_housing_and_the_insertion_departments(seeded):
    housing = Share.objects.active().get(shared_with_department__code="habitat-logement")
    insertion = Share.objects.active().get(shared_with_department__code="insertion")

    assert housing.beneficiary.current_referent == demo_user("referente.nord")
    assert insertion.author == demo_user("superviseur.nord"), "a supervisor shares the files of their structure"
    assert insertion.ends_at > timezone.now()
    # The department admin reads the file shared with their department, and nothing else; the DPO nothing.
    assert list(visible_beneficiaries(demo_user("admin.departement"))) == [insertion.beneficiary]
    assert not visible_beneficiaries(demo_user("dpo")).exists()


def test_an_ended_share_no_longer_lets_its_recipient_in(seeded):
    share = Share.objects.get(ended_at__isnull=False)
    nord, sud = demo_user("referente.nord"), demo_user("referent.sud")

    assert share.shared_with_user == sud
    assert share.starts_at < share.ended_at < timezone.now()
    assert share.ended_by == nord == share.beneficiary.current_referent
    assert not share.is_active()
    assert sees(nord, share.beneficiary)
    assert not sees(sud, share.beneficiary)
    assert not BeneficiaryUserObjectPermission.objects.filter(user=sud, content_object=share.beneficiary).exists()


@pytest.mark.parametrize(
    ("former", "current"), [("referente.nord", "referent.sud"), ("referent.sud", "referente.nord")]
)
def test_a_file_moved_between_the_named_referents_and_keeps_its_history(seeded, former, current):
    former_user, current_user = demo_user(former), demo_user(current)
    file = Beneficiary.objects.get(assignments__referent=former_user, current_referent=current_user)
    previous, latest = file.assignments.order_by("started_at")

    assert (previous.referent, latest.referent) == (former_user, current_user)
    assert previous.structure != latest.structure == file.current_structure
    assert previous.ended_at == latest.started_at
    assert "Déménagement" in latest.reason
    assert not sees(former_user, file)
    assert sees(current_user, file)
    assert file.orientations.get(status=Orientation.Status.DECIDED).organisme_referent == latest.structure
    assert file.orientations.get(status=Orientation.Status.SUPERSEDED).organisme_referent == previous.structure


def test_an_emergency_access_of_the_day_is_shown_to_the_files_supervisor(seeded, settings, travel):
    access = EmergencyAccess.objects.get()
    file = access.beneficiary
    now = timezone.now()
    conseiller, supervisor = demo_user("conseiller.ft"), demo_user("superviseur.nord")

    assert access.user == conseiller and access.user_structure.code == "ft-roubaix"
    assert access.reason
    assert now - datetime.timedelta(hours=8) < access.started_at < now
    assert access.expires_at - access.started_at == datetime.timedelta(hours=settings.EMERGENCY_ACCESS_HOURS)
    assert file.current_referent == demo_user("referente.nord")
    assert sees(conseiller, file)
    assert not can_change(conseiller, file)
    assert sees(supervisor, file) and can_see_emergency_accesses(supervisor, file)
    travel(access.expires_at)
    assert not sees(demo_user("conseiller.ft"), file)


def test_sensitive_notes_reach_only_the_people_and_structures_named_on_them(seeded):
    nord, sud, supervisor = demo_user("referente.nord"), demo_user("referent.sud"), demo_user("superviseur.nord")
    to_a_person = Note.objects.get(is_sensitive=True, shared_with_users=sud)
    to_a_structure = Note.objects.filter(is_sensitive=True, shared_with_structures__code="mds-sud").get(author=nord)
    share = Share.objects.active().get(shared_with_user=sud)
    private = Note.objects.get(
        visibility=Note.Visibility.PRIVATE, beneficiary=share.beneficiary, created_at__gte=share.starts_at
    )

    assert to_a_person.author == nord == to_a_person.beneficiary.current_referent
    for note in (to_a_person, to_a_structure):
        assert note in visible_notes(nord, note.beneficiary)
        assert note in visible_notes(sud, note.beneficiary)
        assert sees(sud, note.beneficiary)
        assert sees(supervisor, note.beneficiary)
        assert note not in visible_notes(supervisor, note.beneficiary), "supervisors are not named on it"
    sud_colleague = demo_user("demo.referent.3")
    assert to_a_structure in visible_notes(sud_colleague, to_a_structure.beneficiary), "the MDS Sud is named on it"
    assert not sees(sud_colleague, to_a_person.beneficiary)
    assert private in visible_notes(nord, private.beneficiary)
    assert private not in visible_notes(sud, private.beneficiary)
    assert private not in visible_notes(supervisor, private.beneficiary)


def test_a_department_shared_note_reaches_that_department_only(seeded):
    note = Note.objects.filter(shared_with_departments__code="insertion").get(author__username="superviseur.nord")
    admin, nord = demo_user("admin.departement"), demo_user("referente.nord")

    assert note in visible_notes(admin, note.beneficiary)
    assert note not in visible_notes(nord, note.beneficiary)
    assert Note.objects.filter(shared_with_departments__code="habitat-logement", author=nord).exists()
