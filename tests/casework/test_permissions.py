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
from tests.accounts.factories import MembershipFactory, UserFactory, member
from tests.casework.factories import BeneficiaryFactory, NoteFactory
from www.file_page import file_page_data

pytestmark = pytest.mark.django_db


def sees(user, beneficiary) -> bool:
    return visible_beneficiaries(user).filter(pk=beneficiary.pk).exists()


def fresh(user):
    """The user as a new request loads it (its memberships of the day not read yet)."""
    return type(user).objects.get(pk=user.pk)


def test_referent_sees_the_files_they_follow_and_no_other(personas):
    assert list(visible_beneficiaries(personas.referent)) == [personas.file]
    assert list(visible_beneficiaries(personas.other)) == [personas.other_file]


def test_colleague_of_the_same_structure_does_not_see_the_file(personas):
    assert not sees(personas.colleague, personas.file)


def test_supervisor_sees_the_files_of_their_structure_only(personas):
    assert set(visible_beneficiaries(personas.supervisor)) == {personas.file}
    assert set(visible_beneficiaries(personas.other_supervisor)) == {personas.other_file}


@pytest.mark.parametrize("persona", ["admin", "auditor"])
def test_department_admin_and_auditor_see_no_file(personas, persona):
    assert not visible_beneficiaries(getattr(personas, persona)).exists()


def test_superuser_sees_no_file_by_being_superuser(personas):
    boss = UserFactory(is_superuser=True, is_staff=True)
    MembershipFactory(user=boss, role=Role.REFERENT, structure=personas.nord)
    assert not visible_beneficiaries(boss).exists()


def test_out_of_scope_file_is_a_404(personas):
    assert get_beneficiary_or_404(personas.referent, personas.file.public_id) == personas.file
    with pytest.raises(Http404):
        get_beneficiary_or_404(personas.referent, personas.other_file.public_id)
    with pytest.raises(Http404):
        get_beneficiary_or_404(personas.referent, "not-a-uuid")


def test_reassignment_moves_access_at_once_and_keeps_history(personas):
    beneficiary_assign_referent(
        actor=personas.supervisor,
        beneficiary=personas.file,
        referent=personas.colleague,
        structure=personas.nord,
        reason="Congé",
    )
    assert not sees(personas.referent, personas.file)
    assert sees(personas.colleague, personas.file)
    assert personas.file.assignments.count() == 2


def test_reassignment_to_another_structure_moves_the_supervisor_scope(personas):
    beneficiary_assign_referent(
        actor=personas.supervisor,
        beneficiary=personas.file,
        referent=personas.other,
        structure=personas.sud,
        reason="Déménagement",
    )
    assert not sees(personas.supervisor, personas.file)
    assert sees(personas.other_supervisor, personas.file)


def test_share_with_a_person_until_a_date(personas, travel):
    ends_at = timezone.now() + datetime.timedelta(days=10)
    share = beneficiary_share(
        actor=personas.referent,
        beneficiary=personas.file,
        user=personas.other,
        reason="Relais logement",
        ends_at=ends_at,
    )
    assert sees(personas.other, personas.file)
    assert not can_change(personas.other, personas.file)
    assert share.is_active()
    travel(ends_at + datetime.timedelta(seconds=1))
    assert not sees(fresh(personas.other), personas.file)


def test_share_with_a_structure_reaches_its_members_only(personas):
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    assert sees(personas.other, personas.file)
    assert sees(personas.other_supervisor, personas.file)
    assert not sees(personas.housing_worker, personas.file)
    assert BeneficiaryGroupObjectPermission.objects.filter(content_object=personas.file).count() == 1


def test_share_with_a_department_reaches_every_structure_of_it(personas):
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, department=personas.housing, reason="Expulsion"
    )
    assert sees(personas.housing_worker, personas.file)
    assert not sees(personas.other, personas.file)


def test_group_grants_are_read_through_the_group_ids_of_the_request_memberships(personas):
    """With every group of the user's structures and departments created, the scope names the group ids
    as constants (an index scan of the group grants) rather than a subquery of the groups."""
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    beneficiary_share(actor=personas.referent, beneficiary=personas.file, department=personas.social, reason="Relais")
    personas.sud.refresh_from_db()
    personas.social.refresh_from_db()
    sql = str(visible_beneficiaries(personas.other).query)
    assert "auth_group" not in sql
    groups = ", ".join(str(pk) for pk in sorted([personas.sud.group_id, personas.social.group_id]))
    assert f'"group_id" IN ({groups})' in sql
    assert sees(personas.other, personas.file)
    assert not sees(personas.housing_worker, personas.file)


def test_a_group_created_after_the_memberships_were_loaded_still_grants(personas):
    """The memberships are loaded once per request: a structure's group created later in that request (its
    first share) is read in SQL, so the share reaches its members at once."""
    personas.other.active_memberships  # noqa: B018 (loaded at the start of the request)
    assert personas.sud.group_id is None
    assert not sees(personas.other, personas.file)
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    assert "auth_group" in str(visible_beneficiaries(personas.other).query)
    assert sees(personas.other, personas.file)


def test_ended_share_stops_granting_at_once(personas):
    share = beneficiary_share(actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="Relais")
    share_end(actor=personas.referent, share=share)
    assert not sees(personas.other, personas.file)
    assert not BeneficiaryUserObjectPermission.objects.filter(
        user=personas.other, content_object=personas.file
    ).exists()


def test_only_who_may_act_on_the_file_may_share_it(personas):
    beneficiary_share(actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="Relais")
    with pytest.raises(PermissionDenied):
        beneficiary_share(
            actor=personas.other, beneficiary=personas.file, user=personas.housing_worker, reason="Encore"
        )
    beneficiary_share(
        actor=personas.supervisor, beneficiary=personas.file, user=personas.housing_worker, reason="Logement"
    )


def test_a_share_needs_a_reason(personas):
    with pytest.raises(ValidationError):
        beneficiary_share(actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="   ")


def test_a_file_is_not_shared_with_an_auditor(personas):
    with pytest.raises(ValidationError):
        beneficiary_share(actor=personas.referent, beneficiary=personas.file, user=personas.auditor, reason="Contrôle")


def test_ended_membership_ends_every_access(personas):
    personas.referent.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    personas.referent.__dict__.pop("active_memberships", None)
    assert not visible_beneficiaries(personas.referent).exists()


def test_ended_membership_ends_access_through_the_structure_group(personas):
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    personas.other.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    assert not sees(personas.other, personas.file)


def test_emergency_access_with_exact_identifiers_and_a_reason(personas, settings, travel):
    beneficiary, access = emergency_access_open(
        actor=personas.other,
        allocataire_number=personas.file.allocataire_number,
        birth_date=personas.file.birth_date,
        reason="La personne est à l'accueil, son référent est absent.",
    )
    assert beneficiary == personas.file
    assert access.expires_at - access.started_at == datetime.timedelta(hours=settings.EMERGENCY_ACCESS_HOURS)
    assert sees(personas.other, personas.file)
    travel(access.expires_at + datetime.timedelta(seconds=1))
    assert not sees(fresh(personas.other), personas.file)


@pytest.mark.parametrize(
    "identifiers",
    [
        {"allocataire_number": "0000001", "birth_date": datetime.date(1980, 1, 1)},
        {"birth_date": datetime.date(1900, 1, 1)},
    ],
)
def test_emergency_access_with_wrong_identifiers_opens_nothing(personas, identifiers):
    identifiers.setdefault("allocataire_number", personas.file.allocataire_number)
    with pytest.raises(NoMatchingFile):
        emergency_access_open(actor=personas.other, reason="Accueil de la personne sans rendez-vous", **identifiers)
    assert not sees(personas.other, personas.file)


def test_emergency_access_needs_a_reason_and_a_referent(personas):
    identifiers = {"allocataire_number": personas.file.allocataire_number, "birth_date": personas.file.birth_date}
    with pytest.raises(ValidationError) as blank:  # before any lookup: it tells nothing about the file
        emergency_access_open(actor=personas.other, reason=" ", **identifiers)
    assert "reason" in blank.value.message_dict
    with pytest.raises(NoMatchingFile):
        emergency_access_open(actor=personas.auditor, reason="Curiosité", **identifiers)


def test_emergency_access_to_a_file_one_already_sees_records_nothing(personas):
    beneficiary, access = emergency_access_open(
        actor=personas.referent,
        allocataire_number=personas.file.allocataire_number,
        birth_date=personas.file.birth_date,
        reason="Accueil de la personne sans rendez-vous",
    )
    assert beneficiary == personas.file and access is None


def test_purge_removes_expired_grants_and_is_idempotent(personas):
    share = beneficiary_share(
        actor=personas.referent,
        beneficiary=personas.file,
        user=personas.other,
        reason="Relais",
        ends_at=timezone.now() + datetime.timedelta(days=1),
    )
    share.starts_at = timezone.now() - datetime.timedelta(days=3)
    share.ends_at = timezone.now() - datetime.timedelta(days=1)
    share.save()
    grant = BeneficiaryUserObjectPermission.objects.filter(user=personas.other, content_object=personas.file)
    grant.update(expires_at=share.ends_at)
    assert grants_purge_expired() == 1
    assert not grant.exists()
    assert sees(personas.other, personas.other_file)
    assert grants_purge_expired() == 0


def test_check_permissions_reports_and_fixes_drift(personas):
    BeneficiaryUserObjectPermission.objects.filter(user=personas.referent).delete()
    stray = BeneficiaryUserObjectPermission.objects.get(user=personas.other, content_object=personas.other_file)
    BeneficiaryUserObjectPermission.objects.create(
        user=personas.housing_worker, permission=stray.permission, content_object=personas.file
    )
    with pytest.raises(CommandError, match="1 droit\\(s\\) manquant\\(s\\).*1 droit\\(s\\) en trop"):
        call_command("check_permissions")
    call_command("check_permissions", "--fix")
    call_command("check_permissions")
    assert sees(personas.referent, personas.file)
    assert not sees(personas.housing_worker, personas.file)


def test_sync_is_idempotent(personas):
    assert sync_grants([personas.file.pk, personas.other_file.pk]).total == 0


def test_visible_beneficiaries_is_one_query(personas, django_assert_num_queries):
    personas.supervisor.active_memberships  # noqa: B018 (loaded once per request, by the middleware)
    with django_assert_num_queries(1):
        list(visible_beneficiaries(personas.supervisor))


def test_the_supervised_structures_are_those_of_the_memberships_of_today(personas, travel):
    """The scope reads the supervised structures from the memberships of the day: on a day when no
    membership is active (30 years ago), the supervisor reads nothing."""
    assert personas.file.pk in set(visible_beneficiaries(personas.supervisor).values_list("pk", flat=True))
    travel(timezone.now() - datetime.timedelta(days=365 * 30))
    assert not visible_beneficiaries(fresh(personas.supervisor)).exists()


# --- Notes -------------------------------------------------------------------------------------


@pytest.fixture
def notes(personas):
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, department=personas.housing, reason="Logement"
    )
    n = type("Notes", (), {})()
    n.private = NoteFactory(beneficiary=personas.file, author=personas.referent, body="NOTE-PRIVEE")
    n.followers = NoteFactory(
        beneficiary=personas.file, author=personas.referent, visibility=Note.Visibility.FOLLOWERS, body="NOTE-TOUS"
    )
    n.to_housing = NoteFactory(
        beneficiary=personas.file, author=personas.referent, visibility=Note.Visibility.SHARED, body="NOTE-LOGEMENT"
    )
    n.to_housing.shared_with_departments.add(personas.housing)
    n.sensitive = NoteFactory(
        beneficiary=personas.file,
        author=personas.referent,
        visibility=Note.Visibility.SHARED,
        is_sensitive=True,
        body="NOTE-SANTE",
    )
    n.sensitive.shared_with_users.add(personas.other)
    return n


def readable(user, personas):
    return set(visible_notes(user, personas.file).values_list("body", flat=True))


def test_author_reads_all_their_notes(personas, notes):
    assert readable(personas.referent, personas) == {"NOTE-PRIVEE", "NOTE-TOUS", "NOTE-LOGEMENT", "NOTE-SANTE"}


def test_supervisor_reads_neither_private_nor_sensitive_notes(personas, notes):
    assert readable(personas.supervisor, personas) == {"NOTE-TOUS"}


def test_department_shared_note_reaches_that_department_only(personas, notes):
    assert readable(personas.housing_worker, personas) == {"NOTE-TOUS", "NOTE-LOGEMENT"}


def test_sensitive_note_reaches_only_the_named_person(personas, notes):
    assert readable(personas.other, personas) == {"NOTE-TOUS", "NOTE-SANTE"}
    assert readable(personas.other_supervisor, personas) == {"NOTE-TOUS"}


def test_structure_shared_note_reaches_the_members_of_that_structure_today_only(personas, notes):
    to_sud = NoteFactory(
        beneficiary=personas.file, author=personas.referent, visibility=Note.Visibility.SHARED, body="NOTE-SUD"
    )
    to_sud.shared_with_structures.add(personas.sud)
    assert "NOTE-SUD" in readable(personas.other, personas)
    # A former member of the MDS Sud (membership ended yesterday), and someone of it whose role reads no
    # file (an auditor), read neither the structure's nor its department's notes.
    former = UserFactory(username="ancienne")
    MembershipFactory(user=former, structure=personas.sud, role=Role.REFERENT, ended=True)
    MembershipFactory(user=former, structure=personas.habitat, role=Role.AUDITOR)
    assert readable(former, personas) == {"NOTE-TOUS"}


def test_notes_scope_names_todays_structures_and_departments_as_constants(personas, notes):
    """The structures and departments come from the memberships the request has loaded: the statement
    reads no membership (docs/performance.md)."""
    sql = str(visible_notes(personas.housing_worker, personas.file).query)
    assert "accounts_membership" not in sql
    assert f"IN ({personas.habitat.pk})" in sql and f"IN ({personas.housing.pk})" in sql


def test_a_file_is_not_shared_twice_with_the_same_recipient(personas):
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    with pytest.raises(ValidationError, match="déjà partagé"):
        beneficiary_share(
            actor=personas.supervisor, beneficiary=personas.file, structure=personas.sud, reason="Encore"
        )


def test_the_periodic_purge_task_runs_the_service(personas):
    from casework.tasks import purge_expired_grants

    assert purge_expired_grants.delay().get() == 0


# --- The file lookup and the file page's notes, through statements compiled once -------------------


def _users_and_files(personas):
    """Every persona of the personas, with a user in two structures (a supervisor of one, referent of the
    other), one covering a colleague, one named in a share; files followed, shared, covered and waiting
    in an intake queue."""
    two_hats = member(Role.SUPERVISOR, structure=personas.sud, username="deux-casquettes")
    MembershipFactory(user=two_hats, structure=personas.habitat, role=Role.REFERENT)
    covered = BeneficiaryFactory(referent=personas.colleague)
    Cover.objects.create(
        absent_referent=personas.colleague,
        covering_referent=personas.referent,
        structure=personas.nord,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + datetime.timedelta(days=3),
        reason="Congés",
        created_by=personas.supervisor,
    )
    waiting = BeneficiaryFactory(intake_structure=personas.habitat)
    shared = BeneficiaryFactory(referent=personas.other)
    beneficiary_share(actor=personas.other, beneficiary=shared, user=personas.housing_worker, reason="Relais")
    beneficiary_share(actor=personas.other, beneficiary=shared, department=personas.social, reason="Relais")
    users = [
        personas.referent,
        personas.colleague,
        personas.other,
        personas.housing_worker,
        personas.supervisor,
        personas.other_supervisor,
        personas.admin,
        personas.auditor,
        two_hats,
    ]
    return users, [personas.file, personas.other_file, covered, waiting, shared]


def test_the_file_lookup_finds_exactly_the_files_of_the_scope(personas):
    """get_beneficiary_or_404: for every user and file, it finds the file exactly when
    visible_beneficiaries holds it, with the file's referent, structure and end-of-support reason loaded."""
    users, files = _users_and_files(personas)
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
            get_beneficiary_or_404(personas.referent, wrong)


def test_the_file_lookup_reads_a_group_created_in_the_request(personas):
    """When a group was created after the memberships were loaded (the groups are then read in SQL), the
    lookup follows visible_beneficiaries' own queryset: the share reaches its members at once."""
    personas.other.active_memberships  # noqa: B018 (loaded at the start of the request)
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    assert get_beneficiary_or_404(personas.other, personas.file.public_id) == personas.file


def _in_structures(user, structures) -> set[int]:
    user = type(user).objects.get(pk=user.pk)  # a new request: memberships loaded afresh
    return set(visible_in_structures(user, structures).values_list("pk", flat=True))


def test_the_files_in_structures_are_exactly_the_scope_narrowed_to_them(personas):
    """visible_in_structures (the supervisors' pages) writes the scope as the supervisor rule alone when
    the user supervises every structure asked: for every user and every set of structures, it holds
    exactly the files of visible_beneficiaries whose current structure is one of them."""
    users, files = _users_and_files(personas)
    file_ids = {beneficiary.pk for beneficiary in files}
    sets = [
        [personas.nord],
        [personas.sud],
        [personas.habitat],
        [personas.nord, personas.sud],
        [personas.nord, personas.habitat],
        [],
    ]
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


def test_the_files_in_structures_never_widen_the_scope(personas):
    """Users who must not see a structure's files do not get them by asking for that structure: a referent
    of it (only the files they follow), a supervisor of another structure (only what is shared with them),
    a supervisor whose membership has ended, an auditor, an inactive user."""
    followed_elsewhere = BeneficiaryFactory(referent=personas.colleague)
    assert _in_structures(personas.referent, [personas.nord]) == {personas.file.pk}
    assert _in_structures(personas.other_supervisor, [personas.nord]) == set()
    beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, structure=personas.sud, reason="Suivi conjoint"
    )
    assert _in_structures(personas.other_supervisor, [personas.nord, personas.sud]) == {
        personas.file.pk,
        personas.other_file.pk,
    }
    assert _in_structures(personas.auditor, [personas.nord]) == set()
    membership = personas.supervisor.memberships.get()
    assert _in_structures(personas.supervisor, [personas.nord]) == {personas.file.pk, followed_elsewhere.pk}
    membership.end_date = timezone.localdate() - datetime.timedelta(days=1)
    membership.save(update_fields=["end_date"])
    assert _in_structures(personas.supervisor, [personas.nord]) == set()
    personas.other_supervisor.is_active = False
    personas.other_supervisor.save(update_fields=["is_active"])
    assert _in_structures(personas.other_supervisor, [personas.sud]) == set()


def test_the_files_of_supervised_structures_are_read_without_the_named_grants(personas):
    """For structures the user supervises, the statement names the structures and no grant table: the
    database neither evaluates the grants for nothing nor misjudges how many files it will read."""
    supervisor = type(personas.supervisor).objects.get(pk=personas.supervisor.pk)
    sql = str(visible_in_structures(supervisor, [personas.nord]).query)
    assert "objectpermission" not in sql
    assert "current_structure_id" in sql
    mixed = str(visible_in_structures(supervisor, [personas.nord, personas.sud]).query)
    assert "objectpermission" in mixed  # a structure not supervised: the whole scope, narrowed


def test_the_file_page_reads_exactly_the_notes_of_visible_notes(personas, notes):
    """For every user who may read the file, the file page reads the same notes as visible_notes."""
    users, _ = _users_and_files(personas)
    to_sud = NoteFactory(beneficiary=personas.file, author=personas.referent, visibility="shared", body="NOTE-SUD")
    to_sud.shared_with_structures.add(personas.sud)
    checked = 0
    for user in users:
        user = type(user).objects.get(pk=user.pk)
        if not sees(user, personas.file):
            continue
        loaded = file_page_data(user, personas.file.public_id)
        assert {note.body for note in loaded.readable_notes} == readable(user, personas), user.username
        checked += 1
    assert checked >= 3
