"""The permission layer's rules, through the scoping functions and the services."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.http import Http404
from django.utils import timezone

from accounts.models import Role
from casework.models import BeneficiaryGroupObjectPermission, BeneficiaryUserObjectPermission, Cover, Note
from casework.permissions import (
    can_change,
    get_beneficiary_or_404,
    sync_grants,
    visible_beneficiaries,
    visible_in_structures,
    visible_notes,
)
from casework.services import (
    NoMatchingFile,
    beneficiary_assign_referent,
    beneficiary_share,
    emergency_access_open,
    grants_purge_expired,
    share_end,
)
from tests.accounts.factories import DepartmentFactory, MembershipFactory, StructureFactory, UserFactory, member
from tests.casework.factories import BeneficiaryFactory, NoteFactory
from www.file_page import file_page_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Two structures of one department, a third in another; a file followed in the first."""
    social = DepartmentFactory(name="Action sociale")
    housing = DepartmentFactory(name="Habitat")
    nord = StructureFactory(name="MDS Nord", department=social)
    sud = StructureFactory(name="MDS Sud", department=social)
    habitat = StructureFactory(name="Service logement", department=housing)
    w = type("World", (), {})()
    w.nord, w.sud, w.habitat, w.social, w.housing = nord, sud, habitat, social, housing
    w.referent = member(Role.REFERENT, structure=nord, username="referente")
    w.colleague = member(Role.REFERENT, structure=nord, username="collegue")
    w.other = member(Role.REFERENT, structure=sud, username="autre")
    w.housing_worker = member(Role.REFERENT, structure=habitat, username="logement")
    w.supervisor = member(Role.SUPERVISOR, structure=nord, username="superviseur")
    w.other_supervisor = member(Role.SUPERVISOR, structure=sud, username="superviseur-sud")
    w.admin = member(Role.DEPARTMENT_ADMIN, structure=nord, username="admin")
    w.auditor = member(Role.AUDITOR, structure=nord, username="dpo")
    w.file = BeneficiaryFactory(referent=w.referent)
    w.other_file = BeneficiaryFactory(referent=w.other)
    return w


def sees(user, beneficiary) -> bool:
    return visible_beneficiaries(user).filter(pk=beneficiary.pk).exists()


def fresh(user):
    """The user as a new request loads it (its memberships of the day not read yet)."""
    return type(user).objects.get(pk=user.pk)


def test_referent_sees_the_files_they_follow_and_no_other(world):
    assert list(visible_beneficiaries(world.referent)) == [world.file]
    assert list(visible_beneficiaries(world.other)) == [world.other_file]


def test_colleague_of_the_same_structure_does_not_see_the_file(world):
    assert not sees(world.colleague, world.file)


def test_supervisor_sees_the_files_of_their_structure_only(world):
    assert set(visible_beneficiaries(world.supervisor)) == {world.file}
    assert set(visible_beneficiaries(world.other_supervisor)) == {world.other_file}


@pytest.mark.parametrize("persona", ["admin", "auditor"])
def test_department_admin_and_auditor_see_no_file(world, persona):
    assert not visible_beneficiaries(getattr(world, persona)).exists()


def test_superuser_sees_no_file_by_being_superuser(world):
    boss = UserFactory(is_superuser=True, is_staff=True)
    MembershipFactory(user=boss, role=Role.REFERENT, structure=world.nord)
    assert not visible_beneficiaries(boss).exists()


def test_out_of_scope_file_is_a_404(world):
    assert get_beneficiary_or_404(world.referent, world.file.public_id) == world.file
    with pytest.raises(Http404):
        get_beneficiary_or_404(world.referent, world.other_file.public_id)
    with pytest.raises(Http404):
        get_beneficiary_or_404(world.referent, "not-a-uuid")


def test_reassignment_moves_access_at_once_and_keeps_history(world):
    beneficiary_assign_referent(
        actor=world.supervisor, beneficiary=world.file, referent=world.colleague, structure=world.nord, reason="Congé"
    )
    assert not sees(world.referent, world.file)
    assert sees(world.colleague, world.file)
    assert world.file.assignments.count() == 2


def test_reassignment_to_another_structure_moves_the_supervisor_scope(world):
    beneficiary_assign_referent(
        actor=world.supervisor,
        beneficiary=world.file,
        referent=world.other,
        structure=world.sud,
        reason="Déménagement",
    )
    assert not sees(world.supervisor, world.file)
    assert sees(world.other_supervisor, world.file)


def test_share_with_a_person_until_a_date(world, travel):
    ends_at = timezone.now() + datetime.timedelta(days=10)
    share = beneficiary_share(
        actor=world.referent, beneficiary=world.file, user=world.other, reason="Relais logement", ends_at=ends_at
    )
    assert sees(world.other, world.file)
    assert not can_change(world.other, world.file)
    assert share.is_active()
    travel(ends_at + datetime.timedelta(seconds=1))
    assert not sees(fresh(world.other), world.file)


def test_share_with_a_structure_reaches_its_members_only(world):
    beneficiary_share(actor=world.referent, beneficiary=world.file, structure=world.sud, reason="Suivi conjoint")
    assert sees(world.other, world.file)
    assert sees(world.other_supervisor, world.file)
    assert not sees(world.housing_worker, world.file)
    assert BeneficiaryGroupObjectPermission.objects.filter(content_object=world.file).count() == 1


def test_share_with_a_department_reaches_every_structure_of_it(world):
    beneficiary_share(actor=world.referent, beneficiary=world.file, department=world.housing, reason="Expulsion")
    assert sees(world.housing_worker, world.file)
    assert not sees(world.other, world.file)


def test_group_grants_are_read_through_the_group_ids_of_the_request_memberships(world):
    """With every group of the user's structures and departments created, the scope names the group ids
    as constants (an index scan of the group grants) rather than a subquery of the groups."""
    beneficiary_share(actor=world.referent, beneficiary=world.file, structure=world.sud, reason="Suivi conjoint")
    beneficiary_share(actor=world.referent, beneficiary=world.file, department=world.social, reason="Relais")
    world.sud.refresh_from_db()
    world.social.refresh_from_db()
    sql = str(visible_beneficiaries(world.other).query)
    assert "auth_group" not in sql
    groups = ", ".join(str(pk) for pk in sorted([world.sud.group_id, world.social.group_id]))
    assert f'"group_id" IN ({groups})' in sql
    assert sees(world.other, world.file)
    assert not sees(world.housing_worker, world.file)


def test_a_group_created_after_the_memberships_were_loaded_still_grants(world):
    """The memberships are loaded once per request: a structure's group created later in that request (its
    first share) is read in SQL, so the share reaches its members at once."""
    world.other.active_memberships  # noqa: B018 (loaded at the start of the request)
    assert world.sud.group_id is None
    assert not sees(world.other, world.file)
    beneficiary_share(actor=world.referent, beneficiary=world.file, structure=world.sud, reason="Suivi conjoint")
    assert "auth_group" in str(visible_beneficiaries(world.other).query)
    assert sees(world.other, world.file)


def test_ended_share_stops_granting_at_once(world):
    share = beneficiary_share(actor=world.referent, beneficiary=world.file, user=world.other, reason="Relais")
    share_end(actor=world.referent, share=share)
    assert not sees(world.other, world.file)
    assert not BeneficiaryUserObjectPermission.objects.filter(user=world.other, content_object=world.file).exists()


def test_only_who_may_act_on_the_file_may_share_it(world):
    beneficiary_share(actor=world.referent, beneficiary=world.file, user=world.other, reason="Relais")
    with pytest.raises(PermissionDenied):
        beneficiary_share(actor=world.other, beneficiary=world.file, user=world.housing_worker, reason="Encore")
    beneficiary_share(actor=world.supervisor, beneficiary=world.file, user=world.housing_worker, reason="Logement")


def test_a_share_needs_a_reason(world):
    with pytest.raises(ValidationError):
        beneficiary_share(actor=world.referent, beneficiary=world.file, user=world.other, reason="   ")


def test_a_file_is_not_shared_with_an_auditor(world):
    with pytest.raises(ValidationError):
        beneficiary_share(actor=world.referent, beneficiary=world.file, user=world.auditor, reason="Contrôle")


def test_ended_membership_ends_every_access(world):
    world.referent.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    world.referent.__dict__.pop("active_memberships", None)
    assert not visible_beneficiaries(world.referent).exists()


def test_ended_membership_ends_access_through_the_structure_group(world):
    beneficiary_share(actor=world.referent, beneficiary=world.file, structure=world.sud, reason="Suivi conjoint")
    world.other.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    assert not sees(world.other, world.file)


def test_emergency_access_with_exact_identifiers_and_a_reason(world, settings, travel):
    beneficiary, access = emergency_access_open(
        actor=world.other,
        allocataire_number=world.file.allocataire_number,
        birth_date=world.file.birth_date,
        reason="La personne est à l'accueil, son référent est absent.",
    )
    assert beneficiary == world.file
    assert access.expires_at - access.started_at == datetime.timedelta(hours=settings.EMERGENCY_ACCESS_HOURS)
    assert sees(world.other, world.file)
    travel(access.expires_at + datetime.timedelta(seconds=1))
    assert not sees(fresh(world.other), world.file)


@pytest.mark.parametrize(
    "identifiers",
    [
        {"allocataire_number": "0000001", "birth_date": datetime.date(1980, 1, 1)},
        {"birth_date": datetime.date(1900, 1, 1)},
    ],
)
def test_emergency_access_with_wrong_identifiers_opens_nothing(world, identifiers):
    identifiers.setdefault("allocataire_number", world.file.allocataire_number)
    with pytest.raises(NoMatchingFile):
        emergency_access_open(actor=world.other, reason="Accueil", **identifiers)
    assert not sees(world.other, world.file)


def test_emergency_access_needs_a_reason_and_a_referent(world):
    identifiers = {"allocataire_number": world.file.allocataire_number, "birth_date": world.file.birth_date}
    with pytest.raises(NoMatchingFile):
        emergency_access_open(actor=world.other, reason=" ", **identifiers)
    with pytest.raises(NoMatchingFile):
        emergency_access_open(actor=world.auditor, reason="Curiosité", **identifiers)


def test_emergency_access_to_a_file_one_already_sees_records_nothing(world):
    beneficiary, access = emergency_access_open(
        actor=world.referent,
        allocataire_number=world.file.allocataire_number,
        birth_date=world.file.birth_date,
        reason="Accueil",
    )
    assert beneficiary == world.file and access is None


def test_purge_removes_expired_grants_and_is_idempotent(world):
    share = beneficiary_share(
        actor=world.referent,
        beneficiary=world.file,
        user=world.other,
        reason="Relais",
        ends_at=timezone.now() + datetime.timedelta(days=1),
    )
    share.starts_at = timezone.now() - datetime.timedelta(days=3)
    share.ends_at = timezone.now() - datetime.timedelta(days=1)
    share.save()
    grant = BeneficiaryUserObjectPermission.objects.filter(user=world.other, content_object=world.file)
    grant.update(expires_at=share.ends_at)
    assert grants_purge_expired() == 1
    assert not grant.exists()
    assert sees(world.other, world.other_file)
    assert grants_purge_expired() == 0


def test_check_permissions_reports_and_fixes_drift(world):
    BeneficiaryUserObjectPermission.objects.filter(user=world.referent).delete()
    stray = BeneficiaryUserObjectPermission.objects.get(user=world.other, content_object=world.other_file)
    BeneficiaryUserObjectPermission.objects.create(
        user=world.housing_worker, permission=stray.permission, content_object=world.file
    )
    with pytest.raises(CommandError, match="1 droit\\(s\\) manquant\\(s\\).*1 droit\\(s\\) en trop"):
        call_command("check_permissions")
    call_command("check_permissions", "--fix")
    call_command("check_permissions")
    assert sees(world.referent, world.file)
    assert not sees(world.housing_worker, world.file)


def test_sync_is_idempotent(world):
    assert sync_grants([world.file.pk, world.other_file.pk]).total == 0


def test_visible_beneficiaries_is_one_query(world, django_assert_num_queries):
    world.supervisor.active_memberships  # noqa: B018 (loaded once per request, by the middleware)
    with django_assert_num_queries(1):
        list(visible_beneficiaries(world.supervisor))


def test_the_supervised_structures_are_those_of_the_memberships_of_today(world, travel):
    """The scope reads the supervised structures from the memberships of the day: on a day when no
    membership is active (30 years ago), the supervisor reads nothing."""
    assert world.file.pk in set(visible_beneficiaries(world.supervisor).values_list("pk", flat=True))
    travel(timezone.now() - datetime.timedelta(days=365 * 30))
    assert not visible_beneficiaries(fresh(world.supervisor)).exists()


# --- Notes -------------------------------------------------------------------------------------


@pytest.fixture
def notes(world):
    beneficiary_share(actor=world.referent, beneficiary=world.file, structure=world.sud, reason="Suivi conjoint")
    beneficiary_share(actor=world.referent, beneficiary=world.file, department=world.housing, reason="Logement")
    n = type("Notes", (), {})()
    n.private = NoteFactory(beneficiary=world.file, author=world.referent, body="NOTE-PRIVEE")
    n.followers = NoteFactory(
        beneficiary=world.file, author=world.referent, visibility=Note.Visibility.FOLLOWERS, body="NOTE-TOUS"
    )
    n.to_housing = NoteFactory(
        beneficiary=world.file, author=world.referent, visibility=Note.Visibility.SHARED, body="NOTE-LOGEMENT"
    )
    n.to_housing.shared_with_departments.add(world.housing)
    n.sensitive = NoteFactory(
        beneficiary=world.file,
        author=world.referent,
        visibility=Note.Visibility.SHARED,
        is_sensitive=True,
        body="NOTE-SANTE",
    )
    n.sensitive.shared_with_users.add(world.other)
    return n


def readable(user, world):
    return set(visible_notes(user, world.file).values_list("body", flat=True))


def test_author_reads_all_their_notes(world, notes):
    assert readable(world.referent, world) == {"NOTE-PRIVEE", "NOTE-TOUS", "NOTE-LOGEMENT", "NOTE-SANTE"}


def test_supervisor_reads_neither_private_nor_sensitive_notes(world, notes):
    assert readable(world.supervisor, world) == {"NOTE-TOUS"}


def test_department_shared_note_reaches_that_department_only(world, notes):
    assert readable(world.housing_worker, world) == {"NOTE-TOUS", "NOTE-LOGEMENT"}


def test_sensitive_note_reaches_only_the_named_person(world, notes):
    assert readable(world.other, world) == {"NOTE-TOUS", "NOTE-SANTE"}
    assert readable(world.other_supervisor, world) == {"NOTE-TOUS"}


def test_structure_shared_note_reaches_the_members_of_that_structure_today_only(world, notes):
    to_sud = NoteFactory(
        beneficiary=world.file, author=world.referent, visibility=Note.Visibility.SHARED, body="NOTE-SUD"
    )
    to_sud.shared_with_structures.add(world.sud)
    assert "NOTE-SUD" in readable(world.other, world)
    # A former member of the MDS Sud (membership ended yesterday), and someone of it whose role reads no
    # file (an auditor), read neither the structure's nor its department's notes.
    former = UserFactory(username="ancienne")
    MembershipFactory(user=former, structure=world.sud, role=Role.REFERENT, ended=True)
    MembershipFactory(user=former, structure=world.habitat, role=Role.AUDITOR)
    assert readable(former, world) == {"NOTE-TOUS"}


def test_notes_scope_names_todays_structures_and_departments_as_constants(world, notes):
    """The structures and departments come from the memberships the request has loaded: the statement
    reads no membership (docs/performance.md)."""
    sql = str(visible_notes(world.housing_worker, world.file).query)
    assert "accounts_membership" not in sql
    assert f"IN ({world.habitat.pk})" in sql and f"IN ({world.housing.pk})" in sql


def test_a_file_is_not_shared_twice_with_the_same_recipient(world):
    beneficiary_share(actor=world.referent, beneficiary=world.file, structure=world.sud, reason="Suivi conjoint")
    with pytest.raises(ValidationError, match="déjà partagé"):
        beneficiary_share(actor=world.supervisor, beneficiary=world.file, structure=world.sud, reason="Encore")


def test_the_periodic_purge_task_runs_the_service(world):
    from casework.tasks import purge_expired_grants

    assert purge_expired_grants.delay().get() == 0


# --- The file lookup and the file page's notes, through statements compiled once -------------------


def _users_and_files(world):
    """Every persona of the world, with a user in two structures (a supervisor of one, referent of the
    other), one covering a colleague, one named in a share; files followed, shared, covered and waiting
    in an intake queue."""
    two_hats = member(Role.SUPERVISOR, structure=world.sud, username="deux-casquettes")
    MembershipFactory(user=two_hats, structure=world.habitat, role=Role.REFERENT)
    covered = BeneficiaryFactory(referent=world.colleague)
    Cover.objects.create(
        absent_referent=world.colleague,
        covering_referent=world.referent,
        structure=world.nord,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + datetime.timedelta(days=3),
        reason="Congés",
        created_by=world.supervisor,
    )
    waiting = BeneficiaryFactory(intake_structure=world.habitat)
    shared = BeneficiaryFactory(referent=world.other)
    beneficiary_share(actor=world.other, beneficiary=shared, user=world.housing_worker, reason="Relais")
    beneficiary_share(actor=world.other, beneficiary=shared, department=world.social, reason="Relais")
    users = [
        world.referent,
        world.colleague,
        world.other,
        world.housing_worker,
        world.supervisor,
        world.other_supervisor,
        world.admin,
        world.auditor,
        two_hats,
    ]
    return users, [world.file, world.other_file, covered, waiting, shared]


def test_the_file_lookup_finds_exactly_the_files_of_the_scope(world):
    """get_beneficiary_or_404: for every user and file, it finds the file exactly when
    visible_beneficiaries holds it, with the file's referent, structure and end-of-support reason loaded."""
    users, files = _users_and_files(world)
    found = 0
    for user in users:
        for beneficiary in files:
            user = type(user).objects.get(pk=user.pk)  # a new request: memberships loaded afresh
            if sees(user, beneficiary):
                lookup = get_beneficiary_or_404(user, str(beneficiary.public_id))
                assert lookup == beneficiary
                assert {"current_referent", "current_structure", "support_end_reason"} <= set(
                    lookup._state.fields_cache
                )
                found += 1
            else:
                with pytest.raises(Http404):
                    get_beneficiary_or_404(user, beneficiary.public_id)
    assert found >= 12  # the matrix is not empty one way or the other
    for wrong in ("pas-un-identifiant", None, 12, "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(Http404):
            get_beneficiary_or_404(world.referent, wrong)


def test_the_file_lookup_reads_a_group_created_in_the_request(world):
    """When a group was created after the memberships were loaded (the groups are then read in SQL), the
    lookup follows visible_beneficiaries' own queryset: the share reaches its members at once."""
    world.other.active_memberships  # noqa: B018 (loaded at the start of the request)
    beneficiary_share(actor=world.referent, beneficiary=world.file, structure=world.sud, reason="Suivi conjoint")
    assert get_beneficiary_or_404(world.other, world.file.public_id) == world.file


def _in_structures(user, structures) -> set[int]:
    user = type(user).objects.get(pk=user.pk)  # a new request: memberships loaded afresh
    return set(visible_in_structures(user, structures).values_list("pk", flat=True))


def test_the_files_in_structures_are_exactly_the_scope_narrowed_to_them(world):
    """visible_in_structures (the supervisors' pages) writes the scope as the supervisor rule alone when
    the user supervises every structure asked: for every user and every set of structures, it holds
    exactly the files of visible_beneficiaries whose current structure is one of them."""
    users, files = _users_and_files(world)
    file_ids = {beneficiary.pk for beneficiary in files}
    sets = [[world.nord], [world.sud], [world.habitat], [world.nord, world.sud], [world.nord, world.habitat], []]
    checked = 0
    for user in users:
        for structures in sets:
            expected = set(
                visible_beneficiaries(user)
                .filter(current_structure__in=structures, pk__in=file_ids)
                .values_list("pk", flat=True)
            )
            assert _in_structures(user, structures) & file_ids == expected, (user.username, structures)
            checked += len(expected)
    assert checked >= 8  # the matrix is not empty


def test_the_files_in_structures_never_widen_the_scope(world):
    """Users who must not see a structure's files do not get them by asking for that structure: a referent
    of it (only the files they follow), a supervisor of another structure (only what is shared with them),
    a supervisor whose membership has ended, an auditor, an inactive user."""
    followed_elsewhere = BeneficiaryFactory(referent=world.colleague)
    assert _in_structures(world.referent, [world.nord]) == {world.file.pk}
    assert _in_structures(world.other_supervisor, [world.nord]) == set()
    beneficiary_share(actor=world.referent, beneficiary=world.file, structure=world.sud, reason="Suivi conjoint")
    assert _in_structures(world.other_supervisor, [world.nord, world.sud]) == {world.file.pk, world.other_file.pk}
    assert _in_structures(world.auditor, [world.nord]) == set()
    membership = world.supervisor.memberships.get()
    assert _in_structures(world.supervisor, [world.nord]) == {world.file.pk, followed_elsewhere.pk}
    membership.end_date = timezone.localdate() - datetime.timedelta(days=1)
    membership.save(update_fields=["end_date"])
    assert _in_structures(world.supervisor, [world.nord]) == set()
    world.other_supervisor.is_active = False
    world.other_supervisor.save(update_fields=["is_active"])
    assert _in_structures(world.other_supervisor, [world.sud]) == set()


def test_the_files_of_supervised_structures_are_read_without_the_named_grants(world):
    """For structures the user supervises, the statement names the structures and no grant table: the
    database neither evaluates the grants for nothing nor misjudges how many files it will read."""
    supervisor = type(world.supervisor).objects.get(pk=world.supervisor.pk)
    sql = str(visible_in_structures(supervisor, [world.nord]).query)
    assert "objectpermission" not in sql
    assert "current_structure_id" in sql
    mixed = str(visible_in_structures(supervisor, [world.nord, world.sud]).query)
    assert "objectpermission" in mixed  # a structure not supervised: the whole scope, narrowed


def test_the_file_page_reads_exactly_the_notes_of_visible_notes(world, notes):
    """For every user who may read the file, the file page reads the same notes as visible_notes."""
    users, _ = _users_and_files(world)
    to_sud = NoteFactory(beneficiary=world.file, author=world.referent, visibility="shared", body="NOTE-SUD")
    to_sud.shared_with_structures.add(world.sud)
    checked = 0
    for user in users:
        user = type(user).objects.get(pk=user.pk)
        if not sees(user, world.file):
            continue
        loaded = file_page_data(user, world.file.public_id)
        assert {note.body for note in loaded.readable_notes} == readable(user, world), user.username
        checked += 1
    assert checked >= 3
